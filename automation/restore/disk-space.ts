// How much room a restore has and needs. A restore lays down the whole set and then fills
// pg_wal with the WAL it fetches and replays: the set's size alone (what the plan used to
// estimate) undercounts by the WAL, which on a small database is most of it.
import { existsSync, lstatSync, readdirSync, statfsSync } from "node:fs";
import { dirname, join } from "node:path";
import { WAL_SEGMENT_BYTES } from "../backups/archive";

/**
 * Most WAL a recovering cluster keeps in pg_wal at once: restartpoints recycle it beyond
 * max_wal_size (2GB) plus wal_keep_size (256MB), the lab's and the hosts' settings.
 */
const MAX_WAL_KEPT_BYTES = 2304 * 1024 * 1024;
/** Room left over for the server's own files (logs, statistics, the promotion's new segment). */
const MARGIN_BYTES = 64 * 1024 * 1024;

/** Bytes a restore of `setBytes` replaying `walSegments` segments needs on the destination's filesystem. */
export function bytesNeeded(setBytes: number, walSegments: number): number {
  return setBytes + Math.min(walSegments * WAL_SEGMENT_BYTES, MAX_WAL_KEPT_BYTES) + MARGIN_BYTES;
}

/** Free bytes (for us) on the filesystem that holds `path`, or would hold it once created. */
export function freeBytesAt(path: string): number {
  let p = path;
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  const s = statfsSync(p);
  return s.bavail * s.bsize;
}

/** Bytes the files under `path` use (what a restore over them may reuse). */
export function bytesUnder(path: string): number {
  if (!existsSync(path)) return 0;
  const st = lstatSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((n, e) => n + bytesUnder(join(path, e)), 0);
}
