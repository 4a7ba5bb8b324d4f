// What one repository holds and what it can restore: backup sets, the archived WAL, and the
// restorable window (from the end of the oldest backup to the newest archived WAL). Built
// from pgBackRest's own info and repo-ls, never from our memory of what we did.
import { DrError } from "../core/errors";
import type { Pgbackrest } from "../pgbackrest/client";
import { toBackupSet, type BackupSet, type StanzaInfo } from "../pgbackrest/info";
import { findGaps, listArchivedSegments, segmentNumber, type ArchivedSegment, type WalGap } from "./archive";

export interface RepoCatalog {
  repo: 1 | 2;
  status: { code: number; message: string };
  sets: BackupSet[];
  /** Archive id of the current database (e.g. "15-1"). */
  archiveId?: string;
  walMin?: string;
  walMax?: string;
  segments: ArchivedSegment[];
  window?: { oldest: Date; newest: Date };
  /** Newest archived segment's arrival time. */
  newestWalAt?: Date;
}

/** Reads one repository. Throws STORE_UNREACHABLE when it cannot be read at all. */
export async function readCatalog(pgb: Pgbackrest, repo: 1 | 2): Promise<RepoCatalog> {
  const info: StanzaInfo = await pgb.info({ repo });
  const repoStatus = info.repo.find((r) => r.key === repo)?.status ?? info.status;
  if (repoStatus.code !== 0 && info.backup.length === 0 && repoStatus.code !== 1 /* missing stanza path */) {
    throw new DrError("STORE_UNREACHABLE", `repo${repo} cannot be read: ${repoStatus.message}`, {
      hint: repo === 2 ? "check the offsite object store (`dr lab status`, or the bucket and credentials on AWS)" : "check the site's repository path",
      details: { repo, status: repoStatus },
    });
  }
  const sets = info.backup.map(toBackupSet).filter((s) => s.repo === repo).sort((a, b) => a.stoppedAt.getTime() - b.stoppedAt.getTime());
  const archive = info.archive.filter((a) => a.database["repo-key"] === repo).pop();
  const segments = archive ? await listArchivedSegments(pgb, repo, archive.id) : [];
  const good = sets.filter((s) => !s.error);
  const newestWalAt = segments.length ? new Date(Math.max(...segments.map((s) => s.archivedAt.getTime()))) : undefined;
  const window = good.length ? { oldest: good[0].stoppedAt, newest: newestWalAt && newestWalAt > good[good.length - 1].stoppedAt ? newestWalAt : good[good.length - 1].stoppedAt } : undefined;
  return {
    repo,
    status: repoStatus,
    sets,
    archiveId: archive?.id,
    walMin: archive?.min ?? undefined,
    walMax: archive?.max ?? undefined,
    segments,
    window,
    newestWalAt,
  };
}

/** Gaps in the WAL a set needs to reach the end of the archive (or a given segment). */
export function walGapsFor(cat: RepoCatalog, set: BackupSet, untilSegment?: number): WalGap[] {
  if (!set.walStart || cat.segments.length === 0) return [];
  const from = segmentNumber(set.walStart).number;
  const last = cat.segments[cat.segments.length - 1].number;
  return findGaps(cat.segments, from, Math.min(untilSegment ?? last, last));
}
