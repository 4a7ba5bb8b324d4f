// Ratios of the benchmark: each measurement against the runbook's method for the same kind of
// work (a backup against pg_dump | gzip, a restore against gunzip | psql) and against the raw
// copy of the data directory, the physical floor. Pure.
import type { BenchMeasurement, BenchRow, TuneRecommendation, TuneRestoreRow, TuneSetting } from "./types";

/** a ÷ b, or undefined when either is missing or b is not positive. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || !(b > 0)) return undefined;
  return a / b;
}

/** The runbook measurement a row is compared with: same kind (a copy compares with the restore). */
export function runbookBaseline(rows: readonly BenchMeasurement[], row: BenchMeasurement): BenchMeasurement | undefined {
  const kind = row.kind === "backup" ? "backup" : "restore";
  return rows.find((r) => r.method === "runbook" && r.kind === kind);
}

/** The floor: the raw copy of the data directory. */
export function floorOf(rows: readonly BenchMeasurement[]): BenchMeasurement | undefined {
  return rows.find((r) => r.kind === "copy");
}

export function withRatios(rows: readonly BenchMeasurement[]): BenchRow[] {
  const floor = floorOf(rows);
  return rows.map((row) => {
    const base = runbookBaseline(rows, row);
    return {
      ...row,
      timeVsRunbook: ratio(row.wallMs, base?.wallMs),
      timeVsFloor: ratio(row.wallMs, floor?.wallMs),
      bytesVsRunbook: row.kind === "copy" ? undefined : ratio(row.bytes, base?.bytes),
    };
  });
}

export function sameSetting(a: TuneSetting, b: TuneSetting): boolean {
  return a.compressType === b.compressType && a.processMax === b.processMax && a.bufferSize === b.bufferSize;
}

/** Below this relative gain a different setting is not worth a change (one run on a shared machine). */
export const NOISE_MARGIN = 0.1;

/**
 * The setting that restores fastest from `repo` (the offsite repository: the DR path), compared
 * with the configured one (by median). A candidate for new defaults only when it wins by more
 * than the noise margin and every one of its runs beat every run of the configured setting.
 */
export function recommend(rows: readonly TuneRestoreRow[], current: TuneSetting, repo: 1 | 2 = 2): TuneRecommendation | undefined {
  const onPath = rows.filter((r) => r.repo === repo);
  if (onPath.length === 0) return undefined;
  const best = onPath.reduce((a, b) => (b.wallMs < a.wallMs ? b : a));
  const mine = onPath.find((r) => sameSetting(r, current));
  const currentMs = mine?.wallMs;
  const setting = (r: TuneSetting): TuneSetting => ({ compressType: r.compressType, processMax: r.processMax, bufferSize: r.bufferSize });
  const gain = currentMs === undefined ? undefined : (currentMs - best.wallMs) / currentMs;
  const separated = mine !== undefined && Math.max(...best.runs) < Math.min(...mine.runs);
  const change = gain !== undefined && gain > NOISE_MARGIN && separated && !sameSetting(best, current);
  const reason =
    gain === undefined
      ? `the configured setting was not measured from repo${repo}`
      : change
        ? `restores from repo${repo} ${(gain * 100).toFixed(0)} % faster than the configured setting (median), every run faster`
        : sameSetting(best, current)
          ? `the configured setting is the fastest from repo${repo}`
          : gain > NOISE_MARGIN
            ? `${(gain * 100).toFixed(0)} % faster by median but the runs overlap: noise until shown again`
            : `within ${(NOISE_MARGIN * 100).toFixed(0)} % of the configured setting (${(gain * 100).toFixed(0)} %)`;
  return { best: setting(best), bestMs: best.wallMs, current: setting(current), currentMs, change, reason };
}
