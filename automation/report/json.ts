// The machine-readable report: the run record itself, redacted, pretty-printed. It is what
// `loadReport` reads back, so it carries everything the other renderings show.
import type { RunRecord } from "../core/run-record";
import { redactedRecord } from "./redacted";

export function renderJson(record: RunRecord): string {
  return JSON.stringify(redactedRecord(record), null, 2) + "\n";
}
