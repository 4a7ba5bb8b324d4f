// The newest commit the archived WAL holds, read from the WAL itself: each archived segment,
// newest first, is fetched with `pgbackrest archive-get` and read with pg_waldump until a commit
// record turns up. A segment's arrival time in the repository says when it was pushed, not what
// it holds: a segment pushed by a WAL switch a second before isolation may end with a commit
// from ten minutes earlier, and a recovery target later than that commit can never be reached
// (PostgreSQL stops at the end of the archive with "recovery ended before configured recovery
// target was reached"). So coverage is judged by commits, not by file times.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Pgbackrest } from "../pgbackrest/client";
import { makeServiceDir } from "../system/service-user";
import { pgBin, run } from "../system/exec";
import { lsnSegment, type ArchivedSegment } from "./archive";

export interface WalTransactionEnd {
  kind: "commit" | "abort";
  /** ISO 8601 (UTC). */
  at: string;
  lsn: string;
}

export interface ArchivedCommit {
  /** The newest commit record found (absent when none was found in the segments read). */
  commit?: WalTransactionEnd;
  /** The segment it is in. */
  segment?: string;
  /** The newest archived segment: its end is the end of the archived WAL. */
  newestSegment?: string;
  /** Segments read (newest first) to find it. */
  scanned: string[];
  /** Every segment up to the limit was read (no commit found means: none there). */
  complete: boolean;
}

/**
 * Transaction ends in pg_waldump's output (run with TZ=UTC), oldest first:
 * "… lsn: 0/03000060, prev 0/03000028, desc: COMMIT 2026-12-06 11:00:00.123456 UTC; …".
 * Prepared-transaction ends ("COMMIT_PREPARED 738: <time>") count too: recovery stops at them as at any other.
 */
export function parseTransactionEnds(waldump: string): WalTransactionEnd[] {
  const ends: WalTransactionEnd[] = [];
  for (const line of waldump.split("\n")) {
    const m = /\blsn: ([0-9A-F]+\/[0-9A-F]+),.*\bdesc: (COMMIT|ABORT)(?:_PREPARED[^:]*:)? (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) UTC/.exec(line);
    if (!m) continue;
    ends.push({ kind: m[2] === "COMMIT" ? "commit" : "abort", at: new Date(`${m[3].replace(" ", "T")}Z`).toISOString(), lsn: m[1] });
  }
  return ends;
}

/** Compares two LSNs ("16/B374D848"). */
export function compareLsn(a: string, b: string): number {
  const [ah, al] = a.split("/").map((x) => parseInt(x, 16));
  const [bh, bl] = b.split("/").map((x) => parseInt(x, 16));
  return ah - bh || al - bl;
}

/**
 * The newest commit in the archived WAL of `segments` (a repository's catalog), at or before
 * `upToLsn` when given (the point a restore replayed to). Reads at most `maxSegments` segments,
 * newest first (an idle database switches segments on archive_timeout, so the newest few are
 * often empty of commits). The newest timeline wins where a segment number was archived twice.
 */
export async function lastArchivedCommit(
  pgb: Pgbackrest,
  repo: 1 | 2,
  segments: ArchivedSegment[],
  opts: { upToLsn?: string; maxSegments?: number; pgPath?: string } = {},
): Promise<ArchivedCommit> {
  const newestFirst = [...segments].sort((a, b) => b.number - a.number || b.timeline - a.timeline).filter((s, i, all) => i === 0 || all[i - 1].number !== s.number);
  const limit = opts.upToLsn ? lsnSegment(opts.upToLsn) : Infinity;
  const reachable = newestFirst.filter((s) => s.number <= limit);
  const candidates = reachable.slice(0, opts.maxSegments ?? 32);
  const complete = candidates.length === reachable.length;
  const scanned: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), "fp-dr-wal-"));
  try {
    makeServiceDir(dir, pgb.opts.user);
    for (const s of candidates) {
      scanned.push(s.name);
      const file = join(dir, s.name);
      // archive-get reads pg_control under pg1-path to pick the archive of this database. One
      // segment at a time, synchronously: the asynchronous one would start a background process
      // prefetching into the spool of the site whose configuration this is.
      await pgb.exec([`--repo=${repo}`, ...(opts.pgPath ? [`--pg1-path=${opts.pgPath}`] : []), "--no-archive-async", "archive-get", s.name, file]);
      const ends = parseTransactionEnds(await waldump(file)).filter((e) => e.kind === "commit" && (!opts.upToLsn || compareLsn(e.lsn, opts.upToLsn) <= 0));
      rmSync(file, { force: true });
      const commit = ends[ends.length - 1];
      if (commit) return { commit, segment: s.name, newestSegment: newestFirst[0]?.name, scanned, complete };
    }
    return { newestSegment: newestFirst[0]?.name, scanned, complete };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * pg_waldump over one segment file (start and end the same file: it reads no further). A record
 * that continues into the next segment ends the read with an error; what came before stands.
 */
async function waldump(file: string): Promise<string> {
  const r = await run(pgBin("pg_waldump"), ["--rmgr=Transaction", file, file], { env: { TZ: "UTC" }, okCodes: [1], timeoutMs: 60_000, hint: "pg_waldump (PostgreSQL 15) reads the archived WAL: `npm run setup` installs it" });
  return r.stdout;
}
