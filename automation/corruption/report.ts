// What a corruption check finds, as data: every damaged relation by name with what is wrong
// (a data page that fails its checksum, a heap or btree structure amcheck rejects), how bad it
// is, and the one decision the runbook needs: index-only (REINDEX rebuilds it from the table,
// nothing is lost) or table corruption (damaged pages: restore a clean copy elsewhere).
// Pure: no I/O, so the classification is testable without a cluster.
import { verdictExit } from "../core/exit-status";

/** What a finding is about. TOAST tables and materialized views hold table data. */
export type RelationKind = "table" | "toast" | "matview" | "index" | "sequence" | "unknown";

/**
 * page-checksum: a data page fails its checksum (or its header is invalid);
 * page-unreadable: a block or file that should exist cannot be read (truncated, missing);
 * heap-structure / index-structure: amcheck rejects tuples or btree invariants.
 */
export type Problem = "page-checksum" | "page-unreadable" | "heap-structure" | "index-structure";

/** critical: table data is damaged (restore); high: an index is damaged (REINDEX repairs it). */
export type Severity = "critical" | "high";

export interface CorruptionFinding {
  /** Database the relation lives in (absent for shared catalogs found offline). */
  database?: string;
  /** schema.name, or the file (base/16384/16391) when nothing could name it. */
  relation: string;
  kind: RelationKind;
  /** The table an index or TOAST table belongs to. */
  table?: string;
  /** A system catalog (pg_catalog) relation. */
  catalog: boolean;
  problem: Problem;
  /** Damaged blocks, relation-relative (at most a few per relation are listed). */
  blocks: number[];
  /** The data file, relative to the data directory. */
  file?: string;
  /** What the server or pg_checksums said (first message). */
  detail: string;
  severity: Severity;
  /** What found it. */
  /** file-length: the file is shorter than the pages shared buffers or the catalog hold for it. */
  by: "verify_heapam" | "bt_index_check" | "bt_index_parent_check" | "read" | "pg_checksums" | "file-length";
}

export type Classification = "clean" | "index-only" | "table";

export interface NotChecked {
  database?: string;
  relation: string;
  reason: string;
}

export interface CorruptionReport {
  site: string;
  /** online: amcheck through a connection; offline: pg_checksums over the stopped data directory. */
  mode: "online" | "offline";
  checkedAt: string;
  durationMs: number;
  classification: Classification;
  findings: CorruptionFinding[];
  /** What was read. */
  scope: {
    databases: string[];
    tables: number;
    indexes: number;
    sequences: number;
    /** Offline: files and blocks pg_checksums read. */
    files?: number;
    blocks?: number;
    dataChecksums?: boolean;
  };
  /** Relations that could not be read, with why: a clean verdict does not cover them. */
  notChecked: NotChecked[];
  /** pg_stat_database.checksum_failures (online): failures the server met since its stats reset. */
  checksumFailures: { database: string; count: number; lastAt?: string }[];
  warnings: string[];
  /** What is worth knowing but needs nothing done (counters from damage already repaired). */
  info?: string[];
  /** Every relation with storage was read. */
  complete: boolean;
  /** What to do next, in one line. */
  advice: string;
}

const tableKinds: RelationKind[] = ["table", "toast", "matview", "sequence", "unknown"];

/**
 * Index-only when every finding is on an index (the table behind it is intact, so a REINDEX
 * rebuilds it without losing anything); table as soon as one table, TOAST, sequence or
 * unnamed file is damaged (unnamed: it may hold table data, so assume the worst).
 */
export function classify(findings: CorruptionFinding[]): Classification {
  if (findings.length === 0) return "clean";
  return findings.some((f) => tableKinds.includes(f.kind)) ? "table" : "index-only";
}

/** A damaged index loses nothing a REINDEX cannot rebuild; damaged table data is lost data. */
export function severityOf(kind: RelationKind): Severity {
  return kind === "index" ? "high" : "critical";
}

/** The one line an operator acts on. */
export function adviceFor(r: Pick<CorruptionReport, "classification" | "complete" | "warnings" | "findings" | "mode">): string {
  if (r.classification === "table") {
    const names = [...new Set(r.findings.filter((f) => f.kind !== "index").map((f) => (f.kind === "toast" && f.table ? `${f.relation} (TOAST of ${f.table})` : f.relation)))];
    return `table data is damaged (${names.join(", ")}): restore a clean copy on another site with \`dr recover corruption\` (never pg_resetwal: it throws committed data away)`;
  }
  if (r.classification === "index-only") {
    const names = [...new Set(r.findings.map((f) => f.relation))];
    return `only indexes are damaged (${names.join(", ")}): \`dr recover corruption --reindex\` rebuilds them from their tables, no restore needed`;
  }
  if (!r.complete) return "nothing damaged in what was read, but not everything could be read (see not checked)";
  if (r.warnings.length) return "nothing damaged found now; see the warnings";
  return `no corruption found (${r.mode})`;
}

/**
 * Exit status, on the health command's scale: 0 clean and everything read; 1 index-only
 * corruption, or nothing found but not everything read / the server counted failures we could
 * not locate; 2 table (heap) corruption.
 */
export function corruptionExitCode(r: Pick<CorruptionReport, "classification" | "complete" | "warnings">): number {
  if (r.classification === "table") return verdictExit("critical");
  if (r.classification === "index-only") return verdictExit("warning");
  return verdictExit(r.complete && r.warnings.length === 0 ? "ok" : "warning");
}

/** Merges findings on the same relation and problem (several damaged blocks, one line). */
export function mergeFindings(findings: CorruptionFinding[], maxBlocks = 20): CorruptionFinding[] {
  const byKey = new Map<string, CorruptionFinding>();
  for (const f of findings) {
    const key = `${f.database ?? ""}\u0000${f.relation}\u0000${f.problem}`;
    const seen = byKey.get(key);
    if (!seen) byKey.set(key, { ...f, blocks: [...f.blocks] });
    else for (const b of f.blocks) if (!seen.blocks.includes(b) && seen.blocks.length < maxBlocks) seen.blocks.push(b);
  }
  return [...byKey.values()].map((f) => ({ ...f, blocks: f.blocks.sort((a, b) => a - b) }));
}
