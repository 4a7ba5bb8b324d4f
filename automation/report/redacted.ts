// Secrets never reach a report: every renderer starts from the record passed through here.
// `redactValue` masks the record as JSON; then every string (keys included) is masked on its
// own, which also catches a secret whose JSON spelling differs from its text (quotes, slashes).
import { redact, redactValue } from "../core/redact";
import type { RunRecord } from "../core/run-record";

export function redactedRecord(record: RunRecord): RunRecord {
  return deepRedact(redactValue(record)) as RunRecord;
}

function deepRedact(v: unknown): unknown {
  if (typeof v === "string") return redact(v);
  if (Array.isArray(v)) return v.map(deepRedact);
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [redact(k), deepRedact(x)]));
  }
  return v;
}
