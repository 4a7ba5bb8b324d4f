// The benchmark's tables of whole runs (drill, switchovers, failovers) and of a `--scales`
// sweep: cells as strings for core/output's table(). Pure.
import { formatBytes, formatMs } from "../core/output";
import { ratio } from "./ratios";
import { formatRatio } from "./table";
import type { BenchResult, BenchRun, BenchStep } from "./types";

const GB = 1024 ** 3;

function seconds(s: number | undefined): string {
  return s === undefined ? "" : `${s.toFixed(2)}s`;
}

export const RUNS_HEAD = ["run", "path", "RTO", "RPO", "outage → declared", "commits lost", "write downtime", "run id"];

export function runSummaryRows(runs: readonly BenchRun[]): string[][] {
  return runs.map((r) => [
    r.label,
    r.path ?? "",
    seconds(r.rtoSeconds),
    seconds(r.rpoSeconds),
    r.detectionMs === undefined ? "" : formatMs(r.detectionMs),
    r.commits ? `${r.commits.lost} of ${r.commits.acknowledged}` : "",
    r.writeDowntimeMs === undefined ? "" : formatMs(r.writeDowntimeMs),
    r.runId,
  ]);
}

export const STEPS_HEAD = ["step", "took", "in RTO", "parts", "detail"];

/** One part a line: a gate has a dozen named checks. */
function parts(s: BenchStep): string {
  return (s.sub ?? []).map((p) => `${formatMs(p.ms)} ${p.name}`).join("\n");
}

/** One run's steps: what the RTO is made of, with the parts each step recorded. */
export function runStepRows(run: BenchRun): string[][] {
  return run.steps.map((s) => [s.name, s.durationMs === undefined ? s.status : formatMs(s.durationMs), s.inRto ? "yes" : "", parts(s), s.detail ?? ""]);
}

/** Step ids of two plans in one order: each one's own steps where they fall between the shared ones. */
export function mergeOrder(a: readonly string[], b: readonly string[]): string[] {
  const out: string[] = [];
  let j = 0;
  for (const id of a) {
    const k = b.indexOf(id, j);
    if (k >= 0) {
      out.push(...b.slice(j, k));
      j = k + 1;
    }
    out.push(id);
  }
  return [...out, ...b.slice(j)];
}

export const SIDE_BY_SIDE_HEAD = ["step", "by promotion", "by restore"];

/** Failover by promotion beside failover by restore, step by step, then their RTO. */
export function sideBySideRows(promote: BenchRun, restore: BenchRun): string[][] {
  const cell = (run: BenchRun, id: string) => {
    const s = run.steps.find((x) => x.id === id);
    if (!s) return "—";
    return `${s.durationMs === undefined ? s.status : formatMs(s.durationMs)}${s.inRto ? "" : " (after RTO)"}`;
  };
  const name = (id: string) => (promote.steps.find((s) => s.id === id) ?? restore.steps.find((s) => s.id === id))!.name;
  return [
    ["outage → declared", ...[promote, restore].map((r) => (r.detectionMs === undefined ? "" : formatMs(r.detectionMs)))],
    ...mergeOrder(promote.steps.map((s) => s.id), restore.steps.map((s) => s.id)).map((id) => [name(id), cell(promote, id), cell(restore, id)]),
    ["RTO: outage → first write through the service name", seconds(promote.rtoSeconds), seconds(restore.rtoSeconds)],
    ["RPO", seconds(promote.rpoSeconds), seconds(restore.rpoSeconds)],
  ];
}

/** A run of `id` in a result, if it ran. */
export function runOf(r: BenchResult, id: string): BenchRun | undefined {
  return r.runs.find((x) => x.id === id);
}

export const SWEEP_RTO_HEAD = ["scale", "database", "promotion RTO", "restore RTO", "restore ÷ promotion", "drill RTO", "raw copy", "restore ÷ raw copy", "switchover downtime (max)", "standby replay_lag (median)"];

/** RTO against database size, one line per scale: promotion should stay flat, restore grow. */
export function sweepRtoRows(results: readonly BenchResult[]): string[][] {
  return results.map((r) => {
    const promote = runOf(r, "failover-promote")?.rtoSeconds;
    const restore = runOf(r, "failover-restore")?.rtoSeconds;
    const copyMs = r.rows.find((x) => x.kind === "copy")?.wallMs;
    const downtimes = r.runs.map((x) => x.writeDowntimeMs).filter((x): x is number => x !== undefined);
    return [
      String(r.scale),
      formatBytes(r.databaseBytes),
      seconds(promote),
      seconds(restore),
      formatRatio(ratio(restore, promote)),
      seconds(runOf(r, "drill")?.rtoSeconds),
      copyMs === undefined ? "" : formatMs(copyMs),
      formatRatio(ratio(restore === undefined ? undefined : restore * 1000, copyMs)),
      downtimes.length ? formatMs(Math.max(...downtimes)) : "",
      r.replayLag ? formatMs(r.replayLag.medianReplayMs) : "",
    ];
  });
}

/** "12.0s (3.1 s/GB)": a time and its cost per GB of database. */
function perGb(ms: number | undefined, bytes: number): string {
  if (ms === undefined) return "";
  return bytes > 0 ? `${formatMs(ms)} (${((ms / 1000) / (bytes / GB)).toFixed(1)} s/GB)` : formatMs(ms);
}

export function sweepStepHead(results: readonly BenchResult[]): string[] {
  return ["run", "step", ...results.map((r) => `scale ${r.scale} (${formatBytes(r.databaseBytes)})`)];
}

/**
 * Seconds per GB of every step of every run, and of every measurement, across the scales: a
 * step whose s/GB stays put grows with the database, one whose time stays put does not.
 */
export function sweepStepRows(results: readonly BenchResult[]): string[][] {
  const rows: string[][] = [];
  const measurements = [...new Map(results.flatMap((r) => r.rows.map((x) => [x.id, x.label] as const))).entries()];
  for (const [id, label] of measurements) {
    rows.push(["measurement", label, ...results.map((r) => perGb(r.rows.find((x) => x.id === id)?.wallMs, r.databaseBytes))]);
  }
  const runIds = [...new Set(results.flatMap((r) => r.runs.map((x) => x.id)))];
  for (const id of runIds) {
    const stepIds = [...new Map(results.flatMap((r) => (runOf(r, id)?.steps ?? []).map((s) => [s.id, s.name] as const))).entries()];
    for (const [stepId, name] of stepIds) {
      rows.push([id, name, ...results.map((r) => perGb(runOf(r, id)?.steps.find((s) => s.id === stepId)?.durationMs, r.databaseBytes))]);
    }
  }
  return rows;
}

/**
 * How RTO moved from the smallest to the largest database of the sweep, per path: the issue's
 * goal is promotion within 1.2× across sizes, while the restore grows with the data.
 */
export function sweepGrowth(results: readonly BenchResult[]): string[] {
  if (results.length < 2) return [];
  const bySize = [...results].sort((a, b) => a.databaseBytes - b.databaseBytes);
  const small = bySize[0];
  const large = bySize[bySize.length - 1];
  const sizes = `${formatBytes(large.databaseBytes)} ÷ ${formatBytes(small.databaseBytes)} = ${formatRatio(ratio(large.databaseBytes, small.databaseBytes))} the data`;
  return (
    [
      ["failover-promote", "promotion"],
      ["failover-restore", "restore"],
      ["drill", "drill"],
    ] as const
  ).map(([id, name]) => {
    const a = runOf(small, id)?.rtoSeconds;
    const b = runOf(large, id)?.rtoSeconds;
    return `${name} RTO at scale ${large.scale} ÷ at scale ${small.scale}: ${formatRatio(ratio(b, a)) || "not measured"} (${sizes})`;
  });
}

/**
 * Issue #15's yardstick, per run of the restore path: its RTO against the physical floor, a raw
 * copy of the data directory (measured in the same run) plus the WAL replay that run's restore
 * needed (a copy of files replays the same WAL). Goals: a failover by restore within 2 times, a
 * drill within 2.5 times.
 */
export function floorRatios(r: BenchResult): string[] {
  const copy = r.rows.find((x) => x.kind === "copy")?.wallMs;
  if (copy === undefined) return [];
  const out: string[] = [];
  for (const [id, name, goal] of [["failover-restore", "failover by restore", 2], ["drill", "drill", 2.5]] as const) {
    const run = runOf(r, id);
    const replay = run?.steps.find((s) => s.id === "restore")?.sub?.find((p) => p.name === "replay")?.ms;
    if (!run || run.rtoSeconds === undefined || replay === undefined) continue;
    const floorMs = copy + replay;
    const times = (run.rtoSeconds * 1000) / floorMs;
    out.push(`${name}: RTO ${formatMs(run.rtoSeconds * 1000)} against raw copy ${formatMs(copy)} + its WAL replay ${formatMs(replay)} = ${formatMs(floorMs)}: ${formatRatio(times)} (goal ≤ ${goal}×: ${times <= goal ? "met" : "not met"})`);
  }
  return out;
}
