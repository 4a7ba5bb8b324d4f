// `dr bench --tune`: the restore under a small matrix of pgBackRest settings. Compression is
// chosen when the backup is taken, so each compression type gets its own full backup (to both
// repositories); process-max and buffer-size are restore-time options, tried on those sets.
// Every setting runs several rounds, interleaved (odd rounds in reverse order), so that load
// from elsewhere on a shared machine falls on all settings alike; the median counts. Settings
// reach pgBackRest the way the product's own do: through pgbackrest.conf written from config.
import type { Deps } from "../commands/deps";
import type { PgbackrestTuning } from "../config/common";
import type { DrConfig } from "../config/schema";
import type { Lab } from "../engines/local/lab";
import { writeSitePgbackrestConf } from "../engines/local/site";
import { withTuning } from "./bench-lab";
import { measuredBackup, measuredRestore } from "./ours";
import { ratio, recommend, sameSetting } from "./ratios";
import { formatBufferSize } from "./table";
import type { TuneBackupRow, TuneRestoreRow, TuneResult, TuneRun, TuneSetting } from "./types";

export const TUNE_COMPRESS_TYPES: PgbackrestTuning["compressType"][] = ["lz4", "zst", "none"];
export const TUNE_PROCESS_MAX = [1, 2, 4];
/** Buffer sizes tried besides the default 1MiB, at process-max 2 with the compressing types. */
export const TUNE_BUFFER_SIZES = [256 * 1024, 4 * 1024 * 1024];
export const TUNE_ROUNDS = 3;
/** Offsite first: it is the disaster-recovery path. */
const REPOS: (1 | 2)[] = [2, 1];

export interface TuneBaseline {
  floorMs?: number;
  runbookRestoreMs?: number;
}

export function describeSetting(s: TuneSetting): string {
  return `compress-type=${s.compressType} process-max=${s.processMax} buffer-size=${formatBufferSize(s.bufferSize)}`;
}

/** The matrix: compress-type × process-max at the configured buffer size, then other buffer sizes. */
export function tuneSettings(current: TuneSetting): TuneSetting[] {
  const all: TuneSetting[] = [];
  for (const compressType of TUNE_COMPRESS_TYPES) {
    for (const processMax of TUNE_PROCESS_MAX) all.push({ compressType, processMax, bufferSize: current.bufferSize });
  }
  for (const compressType of TUNE_COMPRESS_TYPES.filter((c) => c !== "none")) {
    for (const bufferSize of TUNE_BUFFER_SIZES) all.push({ compressType, processMax: 2, bufferSize });
  }
  return all.filter((s, i) => all.findIndex((o) => sameSetting(o, s)) === i);
}

export function median(values: readonly number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : Math.round((v[mid - 1] + v[mid]) / 2);
}

/** Runs of the same setting and repository → one row (medians, highest peak), in first-seen order. */
export function aggregateRuns(runs: readonly TuneRun[], baseline: TuneBaseline = {}): TuneRestoreRow[] {
  const groups = new Map<string, TuneRun[]>();
  for (const r of runs) {
    const key = `${r.compressType}/${r.processMax}/${r.bufferSize}/${r.repo}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((g) => {
    const wallMs = median(g.map((r) => r.wallMs));
    const peaks = g.map((r) => r.peakRssBytes).filter((p): p is number => p !== undefined);
    return {
      compressType: g[0].compressType,
      processMax: g[0].processMax,
      bufferSize: g[0].bufferSize,
      repo: g[0].repo,
      set: g[0].set,
      wallMs,
      filesMs: median(g.map((r) => r.filesMs)),
      recoveryMs: median(g.map((r) => r.recoveryMs)),
      firstQueryMs: median(g.map((r) => r.firstQueryMs)),
      peakRssBytes: peaks.length ? Math.max(...peaks) : undefined,
      runs: g.map((r) => r.wallMs),
      timeVsFloor: ratio(wallMs, baseline.floorMs),
      timeVsRunbook: ratio(wallMs, baseline.runbookRestoreMs),
    };
  });
}

export async function runTune(deps: Deps, lab: Lab, config: DrConfig, baseline: TuneBaseline, rounds = TUNE_ROUNDS): Promise<TuneResult> {
  const backups: TuneBackupRow[] = [];
  const runs: TuneRun[] = [];
  const current: TuneSetting = { compressType: config.pgbackrest.compressType, processMax: config.pgbackrest.processMax, bufferSize: config.pgbackrest.bufferSize };
  const sets = new Map<string, string>();
  try {
    // 1. A full backup per compression type in each repository (the primary's conf says how).
    for (const compressType of TUNE_COMPRESS_TYPES) {
      const tuned = withTuning(config, { compressType });
      writeSitePgbackrestConf({ ...lab.ctx, config: tuned }, "primary");
      for (const repo of [1, 2] as const) {
        const m = await measuredBackup({ config: tuned, out: deps.out }, lab, "full", repo, `bench --tune ${compressType}`);
        sets.set(`${compressType}/${repo}`, m.value.label);
        backups.push({ compressType, processMax: tuned.pgbackrest.processMax, repo, label: m.value.label, wallMs: m.wallMs, bytes: m.value.repoSize, peakRssBytes: m.peakRssBytes });
      }
    }
  } finally {
    // The primary goes back to the configured settings.
    writeSitePgbackrestConf(lab.ctx, "primary");
  }

  // 2. Each setting restores the set of its compression type, round after round.
  const settings = tuneSettings(current);
  for (let round = 1; round <= rounds; round++) {
    for (const setting of round % 2 === 0 ? [...settings].reverse() : settings) {
      for (const repo of REPOS) {
        const set = sets.get(`${setting.compressType}/${repo}`)!;
        deps.out.info(`tune round ${round}/${rounds}: restore ${set} from repo${repo} with ${describeSetting(setting)}`);
        const tuned = withTuning(config, setting);
        const m = await measuredRestore({ config: tuned, out: deps.out }, lab, repo, set);
        const t = m.value.restore.result!.timings;
        runs.push({ ...setting, repo, set, wallMs: m.wallMs, filesMs: t.restoreFilesMs, recoveryMs: t.recoveryMs, firstQueryMs: m.value.firstQueryMs, peakRssBytes: m.peakRssBytes });
      }
    }
  }
  const restores = aggregateRuns(runs, baseline);
  return { backups, restores, recommendation: recommend(restores, current) };
}
