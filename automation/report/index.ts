// Run record → reports: JSON, Markdown and one self-contained HTML page with a timeline, and
// where they are kept (`<dir>/<runId>/report.{json,md,html}`).
export { renderJson } from "./json";
export { renderMarkdown } from "./markdown";
export { renderHtml } from "./html";
export { listReports, loadReport, reportPaths, writeReports, type ReportPaths, type ReportSummary } from "./store";
export { verdictOf, type Verdict, type VerdictKind } from "./verdict";
