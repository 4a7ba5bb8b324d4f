// The one-word answer a report opens with, and the reasons behind it. A run passes only if it
// succeeded, its verification passed without --force, and both objectives were measured and met.
import { isPreview, type RunRecord } from "../core/run-record";
import { forcedSteps, measurementPass } from "./format";

export type VerdictKind = "passed" | "warning" | "failed" | "running";

export interface Verdict {
  kind: VerdictKind;
  /** Upper case, for banners and titles ("PASSED", "FAILED", "RECOVERED, OBJECTIVES MISSED"). */
  headline: string;
  /** Why it is not a plain pass, one short line each (empty for a clean pass). */
  reasons: string[];
}

export function verdictOf(record: RunRecord): Verdict {
  const reasons: string[] = [];
  const forced = record.forced || forcedSteps(record).length > 0;
  if (forced) reasons.push("forced past a failed gate (--force)");
  if (record.verification && !record.verification.ok) {
    const failed = record.verification.checks.filter((c) => !c.ok).length;
    reasons.push(`verification failed (${failed} of ${record.verification.checks.length} checks)`);
  }
  for (const [name, m] of [["RTO", record.measurements.rto], ["RPO", record.measurements.rpo]] as const) {
    const pass = measurementPass(m);
    if (pass === false) reasons.push(`${name} objective missed`);
    else if (pass === undefined && !record.dryRun && !isPreview(record) && record.status === "succeeded") reasons.push(`${name} not measured`);
  }
  const prefix = record.dryRun ? "DRY RUN " : "";

  switch (record.status) {
    case "running":
      return { kind: "running", headline: `${prefix}IN PROGRESS`, reasons };
    case "aborted":
      return { kind: "failed", headline: `${prefix}ABORTED`, reasons: withError(record, reasons) };
    case "cancelled":
      return { kind: "warning", headline: "CANCELLED", reasons: withError(record, reasons) };
    case "interrupted":
      return { kind: "failed", headline: "INTERRUPTED", reasons: withError(record, reasons) };
    case "failed":
      return { kind: "failed", headline: `${prefix}FAILED`, reasons: withError(record, reasons) };
    case "succeeded": {
      if (isPreview(record)) return { kind: "passed", headline: "PREVIEW", reasons: ["a preview: nothing was written back (rerun with --apply); no RTO/RPO verdict"] };
      if (reasons.length === 0) return { kind: "passed", headline: `${prefix}PASSED`, reasons };
      const unverified = forced || (record.verification !== undefined && !record.verification.ok);
      const missed = reasons.some((r) => r.endsWith("objective missed"));
      const headline = unverified ? "RECOVERED UNVERIFIED" : missed ? "RECOVERED, OBJECTIVE MISSED" : "RECOVERED, NOT MEASURED";
      return { kind: "warning", headline: prefix + headline, reasons };
    }
  }
}

function withError(record: RunRecord, reasons: string[]): string[] {
  return record.error ? [`${record.error.code}: ${record.error.message}`, ...reasons] : reasons;
}
