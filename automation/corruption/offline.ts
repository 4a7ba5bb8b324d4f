// The offline check: pg_checksums --check reads every block of every relation file of a
// cleanly stopped data directory (indexes of every kind included) and names the files whose
// pages fail their checksums; the copy's own catalog (read from its files) names the relations.
import { pgBin, run } from "../system/exec";
import type { ServiceUser } from "../system/service-user";
import { readOfflineCatalog } from "./catalog-files";
import { parsePgChecksums, parseRelationFile, type ChecksumFailure } from "./messages";
import { severityOf, type CorruptionFinding } from "./report";

export interface OfflineResult {
  findings: CorruptionFinding[];
  /** Databases the copy's catalog names (pg_checksums reads every file, whatever the database). */
  databases: string[];
  /** Relations the copy's catalog names (what the files read belong to). */
  relations: { tables: number; indexes: number; sequences: number };
  files?: number;
  blocks?: number;
  /** Why pg_checksums did not read the directory (not cleanly shut down, checksums off …). */
  refusal?: string;
}

export async function checkOffline(dataDir: string, user: ServiceUser): Promise<OfflineResult> {
  const r = await run(pgBin("pg_checksums"), ["--check", "-D", dataDir], { as: user, okCodes: [1], errorCode: "CORRUPTION_CHECK_FAILED", hint: "pg_checksums is part of PostgreSQL 15's server binaries" });
  const parsed = parsePgChecksums(`${r.stdout}\n${r.stderr}`, dataDir);
  if (r.code !== 0 && parsed.failures.length === 0 && parsed.unreadable.length === 0) {
    const last = `${r.stderr}`.trim().split("\n").pop() ?? `exit ${r.code}`;
    return { findings: [], databases: [], relations: { tables: 0, indexes: 0, sequences: 0 }, refusal: parsed.refusal ?? last.replace(/^pg_checksums: error: /, "") };
  }
  const catalog = readOfflineCatalog(dataDir);
  const toFinding = (f: ChecksumFailure, problem: CorruptionFinding["problem"]): CorruptionFinding => {
    const file = parseRelationFile(f.file);
    const rel = file ? catalog.lookup(file) : undefined;
    const kind = rel?.kind ?? "unknown";
    const fork = file && file.fork !== "main" ? ` (${file.fork} fork)` : "";
    return {
      database: rel?.database,
      relation: rel ? rel.name : (file?.base ?? f.file),
      kind,
      table: rel?.table,
      catalog: rel?.catalog ?? false,
      problem,
      blocks: [f.block],
      file: f.file,
      detail: `${f.file}${fork} ${f.detail}`,
      severity: severityOf(kind),
      by: "pg_checksums",
    };
  };
  return {
    findings: [...parsed.failures.map((f) => toFinding(f, "page-checksum")), ...parsed.unreadable.map((f) => toFinding(f, "page-unreadable"))],
    databases: catalog.databases(),
    relations: catalog.counts(),
    files: parsed.filesScanned,
    blocks: parsed.blocksScanned,
  };
}
