// Where a restore to a point in time can actually stop. PostgreSQL ends a time-targeted recovery
// at the first commit after the target; when the archive holds no commit after it (the segment
// with the attacker's first commit never left the compromised host, or the database was idle),
// replay runs off the end of the archive and PostgreSQL 13+ refuses to open. Then the end of the
// archive is the same state as the target: everything archived was committed before it. Used by
// the recovery runs (incident-steps.ts) and by every restore plan with a time target (plan.ts).
import { compareLsn, type ArchivedCommit } from "../backups/archived-commits";
import type { RestoreTarget } from "../pgbackrest/options";

export interface RecoveryPoint {
  /** time: stop at the target time; end-of-archive: replay every archived segment. */
  kind: "time" | "end-of-archive";
  /** The newest commit in the archived WAL, when one was found. */
  lastArchivedCommitAt?: string;
  /** One line on why, for the run and the chain of custody. */
  why: string;
}

export function chooseRecoveryPoint(targetTime: string, archived: ArchivedCommit): RecoveryPoint {
  const last = archived.commit?.at;
  if (last && Date.parse(last) > Date.parse(targetTime)) {
    return { kind: "time", lastArchivedCommitAt: last, why: `a commit after the recovery point is archived (${last}): replay stops at ${targetTime}` };
  }
  if (last) {
    return {
      kind: "end-of-archive",
      lastArchivedCommitAt: last,
      why: `the archived WAL holds no commit after the recovery point ${targetTime} (its last commit is ${last}, in ${archived.segment}): nothing was committed between the two, so the end of the archived WAL (${archived.newestSegment}) is the same state; replay to the time itself would run off the end of the archive and fail`,
    };
  }
  if (archived.complete) {
    return { kind: "end-of-archive", why: `the archived WAL holds no commit at all after the backups (${archived.scanned.length} segments read): its end (${archived.newestSegment ?? "none"}) is the same state as ${targetTime}` };
  }
  return { kind: "time", why: `no commit found in the newest ${archived.scanned.length} archived segments: replay to ${targetTime}, which fails if the archive holds no commit after it` };
}

/**
 * The recovery target a restore plan carries out for an end-of-archive point: it stops right
 * after the newest archived commit (an LSN target), not at "latest". A copy restored as a
 * standby would go on replaying whatever is archived after the plan (the source may be live:
 * its next commits are after the target time), and a paused copy stays where the plan said.
 * The records after that commit change no committed data. A commit inside the backup (before
 * its end, where PostgreSQL refuses to stop) or none at all: the end of the backup is the state.
 */
export function endOfArchiveTarget(archived: ArchivedCommit, set: { label: string; lsnStop?: string }): { target: RestoreTarget; description: string } {
  const c = archived.commit;
  if (c && (!set.lsnStop || compareLsn(c.lsn, set.lsnStop) >= 0)) {
    return { target: { kind: "lsn", lsn: c.lsn }, description: `the end of the archived WAL: its newest commit (${c.at}, LSN ${c.lsn})` };
  }
  return { target: { kind: "immediate" }, description: `the end of backup ${set.label} (no commit archived after it${c ? `; the newest, ${c.at}, is inside it` : ""})` };
}
