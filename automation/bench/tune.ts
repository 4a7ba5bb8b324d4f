// `dr bench --tune`: the restore under a small matrix of pgBackRest settings. Compression is
// chosen when the backup is taken, so each compression type gets its own full backup (to both
// repositories); process-max and buffer-size are restore-time options, tried on each of those
// sets. Buffer sizes are then tried on the fastest combination only. Each setting reaches
// pgBackRest the way the product's own does: through pgbackrest.conf written from config.
import type { Deps } from "../cli/context";
import type { PgbackrestTuning } from "../config/common";
import type { DrConfig } from "../config/schema";
import type { Lab } from "../engines/local/lab";
import { writeSitePgbackrestConf } from "../engines/local/site";
import { withTuning } from "./bench-lab";
import { measuredBackup, measuredRestore } from "./ours";
import { ratio, recommend } from "./ratios";
import { formatBufferSize } from "./table";
import type { TuneBackupRow, TuneRestoreRow, TuneResult, TuneSetting } from "./types";

export const TUNE_COMPRESS_TYPES: PgbackrestTuning["compressType"][] = ["lz4", "zst", "none"];
export const TUNE_PROCESS_MAX = [1, 2, 4];
export const TUNE_BUFFER_SIZES = [256 * 1024, 1024 * 1024, 4 * 1024 * 1024];
/** Offsite first: it is the disaster-recovery path. */
const REPOS: (1 | 2)[] = [2, 1];

export interface TuneBaseline {
  floorMs?: number;
  runbookRestoreMs?: number;
}

export function describeSetting(s: TuneSetting): string {
  return `compress-type=${s.compressType} process-max=${s.processMax} buffer-size=${formatBufferSize(s.bufferSize)}`;
}

export async function runTune(deps: Deps, lab: Lab, config: DrConfig, baseline: TuneBaseline): Promise<TuneResult> {
  const backups: TuneBackupRow[] = [];
  const restores: TuneRestoreRow[] = [];
  const current: TuneSetting = { compressType: config.pgbackrest.compressType, processMax: config.pgbackrest.processMax, bufferSize: config.pgbackrest.bufferSize };
  const sets = new Map<string, string>();

  const restoreWith = async (setting: TuneSetting, repo: 1 | 2) => {
    const set = sets.get(`${setting.compressType}/${repo}`)!;
    deps.out.info(`tune: restore ${set} from repo${repo} with ${describeSetting(setting)}`);
    const tuned = withTuning(config, { processMax: setting.processMax, bufferSize: setting.bufferSize, compressType: setting.compressType });
    const m = await measuredRestore({ config: tuned, out: deps.out }, lab, repo, set);
    const t = m.value.restore.result!.timings;
    restores.push({
      ...setting,
      repo,
      set,
      wallMs: m.wallMs,
      filesMs: t.restoreFilesMs,
      recoveryMs: t.recoveryMs,
      firstQueryMs: m.value.firstQueryMs,
      peakRssBytes: m.peakRssBytes,
      timeVsFloor: ratio(m.wallMs, baseline.floorMs),
      timeVsRunbook: ratio(m.wallMs, baseline.runbookRestoreMs),
    });
  };

  try {
    for (const compressType of TUNE_COMPRESS_TYPES) {
      // 1. A full backup with this compression in each repository (the primary's conf says how).
      const tuned = withTuning(config, { compressType });
      writeSitePgbackrestConf({ ...lab.ctx, config: tuned }, "primary");
      for (const repo of [1, 2] as const) {
        const m = await measuredBackup({ config: tuned, out: deps.out }, lab, "full", repo, `bench --tune ${compressType}`);
        sets.set(`${compressType}/${repo}`, m.value.label);
        backups.push({ compressType, processMax: tuned.pgbackrest.processMax, repo, label: m.value.label, wallMs: m.wallMs, bytes: m.value.repoSize, peakRssBytes: m.peakRssBytes });
      }
      // 2. Restores of those sets with each process-max.
      for (const processMax of TUNE_PROCESS_MAX) {
        for (const repo of REPOS) await restoreWith({ compressType, processMax, bufferSize: current.bufferSize }, repo);
      }
    }
    // 3. Buffer sizes, on the fastest combination from the offsite repository.
    const best = recommend(restores, current)?.best;
    if (best) {
      for (const bufferSize of TUNE_BUFFER_SIZES.filter((b) => b !== best.bufferSize)) {
        for (const repo of REPOS) await restoreWith({ ...best, bufferSize }, repo);
      }
    }
  } finally {
    // The primary goes back to the configured settings.
    writeSitePgbackrestConf(lab.ctx, "primary");
  }
  const recommendation = recommend(restores, current);
  return { backups, restores, recommendation };
}

