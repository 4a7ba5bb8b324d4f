// How fast a restore copies files here: from this environment's own history (the journal holds
// the bytes and file-copy time of every restore a run made), not from a figure measured on
// another machine. With no history, a conservative rate, and the estimate says which it used.
import { formatDuration } from "../config/common";
import { formatBytes } from "../core/output";
import type { RunRecord } from "../core/run-record";

export interface RestoreRate {
  bytesPerSecond: number;
  /** Where the rate comes from, for the estimate's text. */
  source: string;
}

/** Slower than any disk or S3 path we run on: an estimate without history errs long, never short. */
export const CONSERVATIVE_RESTORE_BYTES_PER_SECOND = 50 * 1024 * 1024;

/** The newest restores count; older ones were other sizes, other machines' loads. */
const HISTORY = 10;

interface MeasuredRestore {
  bytes?: number;
  filesMs?: number;
}

/** The median rate of the newest measured restores in `records` (any order), else the conservative rate. */
export function restoreRate(records: RunRecord[]): RestoreRate {
  const rates = records
    .filter((r) => !r.dryRun)
    .sort((a, b) => b.declaredAt.localeCompare(a.declaredAt))
    .map((r) => (r.facts as { restore?: MeasuredRestore }).restore)
    .filter((m): m is Required<MeasuredRestore> => !!m && typeof m.bytes === "number" && m.bytes > 0 && typeof m.filesMs === "number" && m.filesMs > 0)
    .slice(0, HISTORY)
    .map((m) => (m.bytes * 1000) / m.filesMs)
    .sort((a, b) => a - b);
  if (rates.length === 0) return { bytesPerSecond: CONSERVATIVE_RESTORE_BYTES_PER_SECOND, source: "assumed: no restore measured in this environment yet" };
  const mid = Math.floor(rates.length / 2);
  const median = rates.length % 2 ? rates[mid] : (rates[mid - 1] + rates[mid]) / 2;
  return { bytesPerSecond: median, source: `median of the last ${rates.length} restore${rates.length === 1 ? "" : "s"} measured in this environment` };
}

/** Seconds to copy `bytes` at `rate`, and the estimate's text: size, rate, where the rate comes from. */
export function restoreEstimate(bytes: number, rate: RestoreRate): { seconds: number; basis: string } {
  const seconds = bytes / rate.bytesPerSecond;
  return { seconds, basis: `${formatBytes(bytes)} at ${formatBytes(rate.bytesPerSecond)}/s (${rate.source}), ≈ ${formatDuration(seconds)} plus WAL replay` };
}
