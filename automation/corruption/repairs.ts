// Damage already repaired: the REINDEX a corruption run completed on a site, read from its run
// record. The server's checksum-failure counter (pg_stat_database) keeps counting the damaged
// index pages read before that REINDEX; a check afterwards that finds nothing must not turn
// those old counts into a warning and a non-zero exit, while the recovery's own re-check on the
// same state passed. Failures counted after the repair stay a warning.
import type { RunRecord } from "../core/run-record";
import { listReports, loadReport } from "../report/store";
import type { RebuiltIndex } from "./reindex";

export interface Repair {
  /** When the REINDEX step finished. */
  at: string;
  runId: string;
  /** The indexes rebuilt, in words. */
  what: string;
}

/** The REINDEX a (running or finished) corruption run completed, if it did. */
export function repairOf(record: RunRecord): Repair | undefined {
  const f = record.facts as { path?: string; rebuilt?: RebuiltIndex[] };
  const step = record.steps.find((s) => s.id === "reindex" && s.status === "done");
  if (f.path !== "reindex" || !step?.finishedAt) return undefined;
  return { at: step.finishedAt, runId: record.runId, what: `the REINDEX of ${(f.rebuilt ?? []).map((r) => r.index).join(", ") || "the damaged indexes"} (run ${record.runId})` };
}

/** The newest repair a succeeded corruption run made on `site`, from the reports. */
export function lastRepair(reportsDir: string, site: string): Repair | undefined {
  for (const s of listReports(reportsDir)) {
    if (s.scenario !== "corruption" || s.status !== "succeeded" || s.dryRun) continue;
    const record = loadReport(reportsDir, s.runId);
    if ((record.facts as { sourceSite?: string }).sourceSite !== site) continue;
    const repair = repairOf(record);
    if (repair) return repair;
  }
  return undefined;
}

/** True when every counted failure has a time and it is not after the repair. */
export function countedBeforeRepair(failures: { lastAt?: string }[], repair: Repair | undefined): boolean {
  return !!repair && failures.length > 0 && failures.every((x) => x.lastAt !== undefined && Date.parse(x.lastAt) <= Date.parse(repair.at));
}
