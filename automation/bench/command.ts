// `dr bench` (`npm run bench`): the runbook's pg_dump/psql, pgBackRest and a raw copy of the
// data directory, side by side on one generated database, in a lab of the benchmark's own.
// Not a test: it measures. The recipe is automation/bench/run.ts.
import type { Deps } from "../commands/deps";
import { formatBytes, formatMs, table } from "../core/output";
import { runBench, type BenchOptions } from "./run";
import { floorRatios, RUNS_HEAD, runOf, SIDE_BY_SIDE_HEAD, sideBySideRows, runStepRows, runSummaryRows, STEPS_HEAD, SWEEP_RTO_HEAD, sweepGrowth, sweepRtoRows, sweepStepHead, sweepStepRows } from "./run-table";
import { runSweep } from "./sweep";
import { BENCH_HEAD, benchTableRows, formatBufferSize, TUNE_BACKUP_HEAD, TUNE_RESTORE_HEAD, tuneBackupRows, tuneRestoreRows } from "./table";
import { describeSetting } from "./tune";
import type { BenchResult, BenchSweep } from "./types";

export async function benchCommand(deps: Deps, opts: BenchOptions = {}): Promise<BenchResult | BenchSweep> {
  return opts.scales?.length ? runSweep(deps, opts.scales, { keep: opts.keep, tune: opts.tune }) : runBench(deps, opts);
}

export function renderBench(r: BenchResult | BenchSweep): string {
  return "scales" in r ? renderSweep(r) : renderOne(r);
}

/** Every scale's own report, then RTO against size and seconds per GB per step. */
export function renderSweep(s: BenchSweep): string {
  return [
    ...s.scales.map((r) => `=== scale ${r.scale} ===\n${renderOne(r)}\n`),
    "=== sweep: RTO against database size (promotion should stay flat, restore grow) ===",
    table(SWEEP_RTO_HEAD, sweepRtoRows(s.scales)),
    ...sweepGrowth(s.scales),
    "",
    "=== sweep: every step, time and seconds per GB of database ===",
    table(sweepStepHead(s.scales), sweepStepRows(s.scales)),
  ].join("\n");
}

/** The runs end to end: a summary, the replay lag, then each run's steps and their parts. */
function renderRuns(r: BenchResult): string[] {
  if (r.runs.length === 0) return [];
  const lines = ["", "end to end, under the write load (RTO per step; parts: the restore's files and replay, the gate's checks)", table(RUNS_HEAD, runSummaryRows(r.runs))];
  const l = r.replayLag;
  if (l) lines.push(`standby replay lag under the load (${l.source ?? "?"}; ${l.samples} samples over ${formatMs(l.windowMs)}): replay_lag median ${formatMs(l.medianReplayMs)}, max ${formatMs(l.maxReplayMs)}; WAL behind median ${formatBytes(l.medianBytes)}, max ${formatBytes(l.maxBytes)}; dr status lag max ${l.maxSeconds.toFixed(2)}s`);
  const promote = runOf(r, "failover-promote");
  const restore = runOf(r, "failover-restore");
  if (promote && restore) lines.push("", "datacenter failover, the same database: by promotion beside by restore (RTO per step)", table(SIDE_BY_SIDE_HEAD, sideBySideRows(promote, restore)));
  const floor = floorRatios(r);
  if (floor.length) lines.push("", "the restore path against the physical floor (a raw copy of the data directory plus the WAL the run replayed)", ...floor.map((x) => `  ${x}`));
  for (const run of r.runs) lines.push("", `${run.label} (run ${run.runId}${run.pathReason ? `; ${run.pathReason}` : ""})`, table(STEPS_HEAD, runStepRows(run)));
  return lines;
}

function renderOne(r: BenchResult): string {
  const p = r.pgbackrest;
  const lines = [
    `benchmark: scale ${r.scale}, database ${r.database} ${formatBytes(r.databaseBytes)}; ${r.machine.cpus} CPUs (${r.machine.cpuModel}), ${formatBytes(r.machine.memoryBytes)} RAM; load average ${r.loadAverage.atStart.toFixed(1)} at start, ${r.loadAverage.atEnd.toFixed(1)} at end`,
    `pgBackRest: compress-type=${p.compressType}${p.compressLevel !== undefined ? ` compress-level=${p.compressLevel}` : ""} process-max=${p.processMax} buffer-size=${formatBufferSize(p.bufferSize)}`,
    table(BENCH_HEAD, benchTableRows(r.rows)),
    ...renderRuns(r),
  ];
  if (r.tune) {
    lines.push("", "tuning: full backup per compression type", table(TUNE_BACKUP_HEAD, tuneBackupRows(r.tune.backups)));
    lines.push("", "tuning: restore of that full backup until usable (median of the runs; files = pgBackRest's part)", table(TUNE_RESTORE_HEAD, tuneRestoreRows(r.tune.restores)));
    const rec = r.tune.recommendation;
    if (rec) {
      lines.push(
        rec.change
          ? `candidate defaults: ${describeSetting(rec.best)} (${formatMs(rec.bestMs)} from repo2 vs ${rec.currentMs === undefined ? "?" : formatMs(rec.currentMs)} now): ${rec.reason}; confirm with another run before changing them`
          : `keep ${describeSetting(rec.current)}: fastest from repo2 was ${describeSetting(rec.best)} at ${formatMs(rec.bestMs)}, ${rec.reason}`,
      );
    }
  }
  lines.push("", "notes:", ...r.notes.map((n) => `  - ${n}`));
  lines.push(r.kept ? `benchmark lab kept in ${r.labDir} (see it: FP_DR_LAB_DIR=${r.labDir} dr lab status; remove it: FP_DR_LAB_DIR=${r.labDir} dr lab down --purge)` : `benchmark lab removed; total ${formatMs(r.totalMs)}`);
  return lines.join("\n");
}
