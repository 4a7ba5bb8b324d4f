// `dr report list` and `dr report show <run-id>`: the reports every recovery run writes.
// They live in `reports.dir` from the config, else in the state directory (core/state-dirs.ts).
import { existsSync } from "node:fs";
import type { Deps } from "./deps";
import { table } from "../core/output";
import type { RunRecord } from "../core/run-record";
import { reportsDir } from "../core/state-dirs";
import { formatSeconds, formatTime, passWord } from "../report/format";
import { renderHtml } from "../report/html";
import { renderJson } from "../report/json";
import { redactedRecord } from "../report/redacted";
import { renderMarkdown } from "../report/markdown";
import { listReports, loadReport, reportPaths, safeRunId, type ReportSummary } from "../report/store";
import { pullSharedReports } from "../report/shared";
import { sharedStoreFor } from "./shared-store";

export type ReportFormat = "md" | "json" | "html";

export interface ReportListResult {
  dir: string;
  reports: ReportSummary[];
  /** Report directories whose JSON could not be read (left out of `reports`). */
  damaged: { runId: string; code: string; message: string }[];
}

/** Runs finished on other machines are in the shared store: fetched first, then read alike. */
async function pullShared(deps: Deps, dir: string): Promise<void> {
  await sharedStoreFor(deps.config)
    .then((store) => pullSharedReports(store, deps.config.environment, dir))
    .catch((e: unknown) => deps.out.warn(`runs in the shared store not read: ${(e as Error).message}`));
}

export async function reportList(deps: Deps, _opts: Record<string, never> = {}): Promise<ReportListResult> {
  const dir = reportsDir(deps.config);
  await pullShared(deps, dir);
  const damaged: ReportListResult["damaged"] = [];
  const reports = listReports(dir, {
    onDamaged: (runId, err) => {
      damaged.push({ runId, code: err.code, message: err.message });
      deps.out.warn(`${err.message}`);
    },
  });
  return { dir, reports, damaged };
}

export interface ReportShowResult {
  runId: string;
  format: ReportFormat;
  /** The stored file of that format, if it exists. */
  path?: string;
  /** The report rendered in that format from the stored (validated) record. */
  content: string;
  record: RunRecord;
}

export async function reportShow(deps: Deps, runId: string, opts: { format?: ReportFormat } = {}): Promise<ReportShowResult> {
  const dir = reportsDir(deps.config);
  const format = opts.format ?? "md";
  if (safeRunId(runId) && !existsSync(reportPaths(dir, runId).json)) await pullShared(deps, dir);
  const record = loadReport(dir, runId);
  const paths = reportPaths(dir, runId);
  const path = { md: paths.markdown, json: paths.json, html: paths.html }[format];
  const content = format === "json" ? renderJson(record) : format === "html" ? renderHtml(record) : renderMarkdown(record);
  if (format !== "json" && existsSync(paths.html)) deps.out.info(`the page with the timeline: ${paths.html}`);
  return { runId, format, path: existsSync(path) ? path : undefined, content, record };
}

/** What `dr report show --json` prints: the report's own JSON document (the redacted run record), not a rendering wrapped in one. */
export function reportDocument(r: ReportShowResult): RunRecord {
  return redactedRecord(r.record);
}

function measured(m: ReportSummary["rto"]): string {
  return m.achieved === undefined ? `— / ${formatSeconds(m.objective)}` : `${formatSeconds(m.achieved)} / ${formatSeconds(m.objective)} ${passWord(m.pass)}`;
}

export function renderReportList(r: ReportListResult): string {
  if (r.reports.length === 0) return `no reports in ${r.dir}${r.damaged.length ? ` (${r.damaged.length} damaged)` : ""}`;
  const rows = r.reports.map((s) => [
    s.runId,
    s.scenario,
    formatTime(s.declaredAt),
    [s.verdict, s.forced ? "FORCED" : ""].filter(Boolean).join(" "),
    measured(s.rto),
    measured(s.rpo),
  ]);
  const lines = [table(["run", "scenario", "declared", "verdict", "RTO achieved / objective", "RPO achieved / objective"], rows), `${r.reports.length} report${r.reports.length === 1 ? "" : "s"} in ${r.dir}`];
  if (r.damaged.length) lines.push(`damaged: ${r.damaged.map((d) => d.runId).join(", ")}`);
  return lines.join("\n");
}

export function renderReportShow(r: ReportShowResult): string {
  return r.content.replace(/\n$/, "");
}
