// Where a restore to "a time before the incident" can actually stop. PostgreSQL ends a
// time-targeted recovery at the first commit after the target; when the archive holds no commit
// after it (the segment with the attacker's first commit never left the compromised host),
// replay runs off the end of the archive and fails. Then the newest point the archive reaches
// before the incident is its end: everything archived was committed before the target anyway.
import type { ArchivedCommit } from "../backups/archived-commits";

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
    return { kind: "end-of-archive", lastArchivedCommitAt: last, why: `the archived WAL holds no commit after the recovery point ${targetTime} (its last commit is ${last}, in ${archived.segment}): restoring to the end of the archived WAL (${archived.newestSegment}), the newest point before the incident the archive reaches` };
  }
  if (archived.complete) {
    return { kind: "end-of-archive", why: `the archived WAL holds no commit at all after the backups: restoring to its end (${archived.newestSegment ?? "none"})` };
  }
  return { kind: "time", why: `no commit found in the newest ${archived.scanned.length} archived segments: replay to ${targetTime}, which fails if the archive holds no commit after it` };
}
