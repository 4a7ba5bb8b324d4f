// Reading what PostgreSQL and pg_checksums say about damaged data: relation file paths
// (base/<db>/<filenode>[_fork][.segment], global/…, pg_tblspc/…), the server's errors while
// amcheck reads a relation, and pg_checksums' report. Pure, tested with captured output.

/** A relation data file, as PostgreSQL names it relative to the data directory. */
export interface RelationFile {
  /** Path without fork suffix and segment number: the key a relation is looked up by. */
  base: string;
  /** Tablespace oid: 1663 (pg_default), 1664 (pg_global) or a pg_tblspc link. */
  tablespace: number;
  /** Database oid (0 for shared catalogs). */
  database: number;
  filenode: number;
  fork: "main" | "fsm" | "vm" | "init";
  segment: number;
}

/** Blocks per 1 GB segment (8 kB pages). */
export const BLOCKS_PER_SEGMENT = 131072;

/** Parses "base/16384/16391_vm.2" (an absolute path under the data directory also works). */
export function parseRelationFile(path: string): RelationFile | undefined {
  const m = /(?:^|\/)(global|base\/(\d+)|pg_tblspc\/(\d+)\/[^/]+\/(\d+))\/(\d+)(?:_(fsm|vm|init))?(?:\.(\d+))?$/.exec(path);
  if (!m) return undefined;
  const [, where, baseDb, spc, spcDb, filenode, fork, segment] = m;
  const database = where === "global" ? 0 : Number(baseDb ?? spcDb);
  const tablespace = where === "global" ? 1664 : spc ? Number(spc) : 1663;
  const dir = where === "global" ? "global" : where;
  return { base: `${dir}/${filenode}`, tablespace, database, filenode: Number(filenode), fork: (fork as RelationFile["fork"]) ?? "main", segment: segment ? Number(segment) : 0 };
}

/** What an error raised while amcheck read a relation means. */
export interface ServerErrorMeaning {
  /** True when the error is about damaged data rather than the check itself (locks, drops). */
  corruption: boolean;
  problem?: "page-checksum" | "page-unreadable" | "structure";
  /** The data file the server named, when it named one (decides which relation is damaged). */
  file?: string;
  block?: number;
}

/**
 * Classifies a server error from verify_heapam / bt_index_check / a read:
 *   "invalid page in block 2 of relation base/5/16391" (XX001): the page failed verification
 *     (checksum or header) as it was read from disk;
 *   "could not read block …" / "could not open file …" (XX001, 58P01, 58030): missing data;
 *   XX002 (index_corrupted), XX001 (data_corrupted): amcheck's structural verdicts;
 *   XX000 from a damaged tuple (e.g. a transaction id past the horizon) is corruption, but not
 *     "could not open relation with OID" or "cache lookup failed": a relation dropped meanwhile.
 * Anything else (lock timeout, cancel, permissions) means "not checked", not "damaged".
 */
export function interpretServerError(code: string | undefined, message: string): ServerErrorMeaning {
  const page = /invalid page in block (\d+) of relation (\S+)/.exec(message);
  if (page) return { corruption: true, problem: "page-checksum", block: Number(page[1]), file: page[2] };
  const read = /could not read block (\d+) (?:in file|of relation) "?([^":]+)"?/.exec(message);
  if (read) return { corruption: true, problem: "page-unreadable", block: Number(read[1]), file: read[2] };
  const open = /could not open file "([^"]+)"/.exec(message);
  if (open && (code === "58P01" || code === "58030" || code === undefined)) return { corruption: true, problem: "page-unreadable", file: open[1] };
  if (code === "XX001" || code === "XX002") return { corruption: true, problem: "structure" };
  if (code === "XX000" && !/could not open relation with OID|cache lookup failed/.test(message)) return { corruption: true, problem: "structure" };
  return { corruption: false };
}

/** One block pg_checksums refused. */
export interface ChecksumFailure {
  /** Path relative to the data directory. */
  file: string;
  /** Block within the relation (segment-relative block + segment × 131072). */
  block: number;
  detail: string;
}

export interface PgChecksumsOutput {
  failures: ChecksumFailure[];
  /** Blocks or files pg_checksums could not read (truncated files). */
  unreadable: ChecksumFailure[];
  filesScanned?: number;
  blocksScanned?: number;
  badChecksums?: number;
  /** pg_checksums refused to run (cluster not cleanly shut down, checksums off …). */
  refusal?: string;
}

/** Parses `pg_checksums --check` (PostgreSQL 15) stdout + stderr. */
export function parsePgChecksums(text: string, dataDir: string): PgChecksumsOutput {
  const rel = (p: string) => (p.startsWith(dataDir) ? p.slice(dataDir.length).replace(/^\/+/, "") : p);
  const absolute = (file: string, block: number) => block + (parseRelationFile(file)?.segment ?? 0) * BLOCKS_PER_SEGMENT;
  const out: PgChecksumsOutput = { failures: [], unreadable: [] };
  for (const line of text.split("\n")) {
    const bad = /checksum verification failed in file "([^"]+)", block (\d+): (.*)$/.exec(line);
    if (bad) {
      const file = rel(bad[1]);
      out.failures.push({ file, block: absolute(file, Number(bad[2])), detail: `block ${bad[2]}: ${bad[3].trim()}` });
      continue;
    }
    const short = /could not read block (\d+) in file "([^"]+)": (.*)$/.exec(line);
    if (short) {
      const file = rel(short[2]);
      out.unreadable.push({ file, block: absolute(file, Number(short[1])), detail: `block ${short[1]}: ${short[3].trim()}` });
      continue;
    }
    const count = /^(Files scanned|Blocks scanned|Bad checksums):\s+(\d+)/.exec(line.trim());
    if (count) {
      const n = Number(count[2]);
      if (count[1] === "Files scanned") out.filesScanned = n;
      else if (count[1] === "Blocks scanned") out.blocksScanned = n;
      else out.badChecksums = n;
      continue;
    }
    const refused = /pg_checksums: error: (cluster must be shut down|data checksums are not enabled in cluster|.*pg_control.*|could not open directory.*)$/.exec(line);
    if (refused && !out.refusal) out.refusal = refused[1];
  }
  return out;
}
