// Where reports live: `<dir>/<runId>/report.{json,md,html}`, each written atomically (temp file
// + rename), so a reader never sees half a report even if the run is killed while writing it.
// The JSON is the source of truth: listing and showing read it back, validated.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { DrError } from "../core/errors";
import type { RunRecord, RunScenario, RunStatus } from "../core/run-record";
import { measurementPass } from "./format";
import { renderHtml } from "./html";
import { renderJson } from "./json";
import { renderMarkdown } from "./markdown";
import { parseRunRecord } from "./schema";
import { verdictOf, type VerdictKind } from "./verdict";

export interface ReportPaths {
  json: string;
  markdown: string;
  html: string;
}

export interface ReportSummary {
  runId: string;
  scenario: RunScenario;
  status: RunStatus;
  declaredAt: string;
  finishedAt?: string;
  dryRun: boolean;
  forced: boolean;
  /** The report's headline ("PASSED", "FAILED", …) and its colour class. */
  verdict: string;
  verdictKind: VerdictKind;
  rto: { achieved?: number; objective: number; pass?: boolean };
  rpo: { achieved?: number; objective: number; pass?: boolean };
}

/** A run id is one path segment we created ourselves; anything else is not a report. */
const runIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;

export function safeRunId(runId: string): boolean {
  return runIdPattern.test(runId) && !runId.includes("..");
}

/** The three files of one run's report (whether or not they exist yet). */
export function reportPaths(dir: string, runId: string): ReportPaths {
  const base = join(resolve(dir), runId);
  return { json: join(base, "report.json"), markdown: join(base, "report.md"), html: join(base, "report.html") };
}

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o640 });
  renameSync(tmp, path);
}

/**
 * Renders the record three ways and writes them under `<dir>/<runId>/`. Called again for the
 * same run (after every step, or on resume) it replaces the files. The JSON goes last, so a
 * report that `listReports` sees always has its Markdown and HTML beside it.
 */
export function writeReports(record: RunRecord, dir: string): ReportPaths {
  if (!safeRunId(record.runId)) {
    throw new DrError("INTERNAL", `run id ${JSON.stringify(record.runId)} cannot name a report directory`, {
      hint: "run ids are letters, digits, dots, colons and dashes; this is a bug in whatever made the id",
    });
  }
  const paths = reportPaths(dir, record.runId);
  mkdirSync(join(resolve(dir), record.runId), { recursive: true });
  writeAtomic(paths.markdown, renderMarkdown(record));
  writeAtomic(paths.html, renderHtml(record));
  writeAtomic(paths.json, renderJson(record));
  return paths;
}

function summaryOf(r: RunRecord): ReportSummary {
  const v = verdictOf(r);
  const m = (x: RunRecord["measurements"]["rto"]) => ({ achieved: x.achieved, objective: x.objective, pass: measurementPass(x) });
  return {
    runId: r.runId,
    scenario: r.scenario,
    status: r.status,
    declaredAt: r.declaredAt,
    finishedAt: r.finishedAt,
    dryRun: r.dryRun,
    forced: r.forced || r.steps.some((s) => s.forced),
    verdict: v.headline,
    verdictKind: v.kind,
    rto: m(r.measurements.rto),
    rpo: m(r.measurements.rpo),
  };
}

function readReport(path: string, runId: string): RunRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new DrError("REPORT_INVALID", `report of run ${runId} is not readable JSON: ${(e as Error).message}`, {
      hint: `the file is ${path}; the Markdown and HTML beside it may still be readable`,
      cause: e,
    });
  }
  const parsed = parseRunRecord(raw);
  if (!parsed.ok) {
    throw new DrError("REPORT_INVALID", `report of run ${runId} is damaged: ${parsed.problems.join("; ")}`, {
      hint: `the file is ${path}; the Markdown and HTML beside it may still be readable`,
      details: { problems: parsed.problems },
    });
  }
  return parsed.record;
}

/**
 * Every report under `dir`, newest declaration first. A directory without reports (or none at
 * all) is an empty list; a damaged report is left out and handed to `onDamaged`.
 */
export function listReports(dir: string, opts: { onDamaged?: (runId: string, err: DrError) => void } = {}): ReportSummary[] {
  if (!existsSync(dir)) return [];
  const summaries: ReportSummary[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || !safeRunId(entry.name)) continue;
    const path = reportPaths(dir, entry.name).json;
    if (!existsSync(path)) continue;
    try {
      summaries.push(summaryOf(readReport(path, entry.name)));
    } catch (e) {
      if (!(e instanceof DrError)) throw e;
      opts.onDamaged?.(entry.name, e);
    }
  }
  return summaries.sort((a, b) => Date.parse(b.declaredAt) - Date.parse(a.declaredAt) || b.runId.localeCompare(a.runId));
}

/** The validated record of one run's report (REPORT_UNKNOWN if there is none). */
export function loadReport(dir: string, runId: string): RunRecord {
  const path = safeRunId(runId) ? reportPaths(dir, runId).json : undefined;
  if (!path || !existsSync(path)) {
    throw new DrError("REPORT_UNKNOWN", `no report for run ${JSON.stringify(runId)} in ${resolve(dir)}`, {
      hint: "`dr report list` shows the runs that have reports",
    });
  }
  const record = readReport(path, runId);
  if (record.runId !== runId) {
    throw new DrError("REPORT_INVALID", `report in ${path} is of run ${record.runId}, not ${runId}`, {
      hint: "the reports directory was edited by hand; move the directory back to its run id",
    });
  }
  return record;
}
