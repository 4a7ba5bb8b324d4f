// The benchmark's tables for people: cells as strings, ready for core/output's table(). Pure.
import { formatBytes, formatMs } from "../core/output";
import type { BenchRow, TuneBackupRow, TuneRestoreRow } from "./types";

export const BENCH_HEAD = ["measurement", "wall", "size", "peak RSS", "time × runbook", "time × floor", "detail"];

/** 0.153 → "0.15×", 4.2 → "4.2×", 27.4 → "27×". */
export function formatRatio(r: number | undefined): string {
  if (r === undefined || !Number.isFinite(r)) return "";
  if (r >= 10) return `${r.toFixed(0)}×`;
  if (r >= 1) return `${r.toFixed(1)}×`;
  return `${r.toFixed(2)}×`;
}

/** 1048576 → "1MiB", 262144 → "256KiB" (the way pgBackRest writes buffer sizes). */
export function formatBufferSize(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / 1024 / 1024}MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024}KiB`;
  return `${bytes}B`;
}

function phases(p: Record<string, number> | undefined): string {
  if (!p) return "";
  return Object.entries(p)
    .map(([k, v]) => `${k} ${formatMs(v)}`)
    .join(", ");
}

export function benchTableRows(rows: readonly BenchRow[]): string[][] {
  return rows.map((r) => [
    r.label,
    formatMs(r.wallMs),
    formatBytes(r.bytes),
    formatBytes(r.peakRssBytes),
    r.method === "runbook" ? "1×" : formatRatio(r.timeVsRunbook),
    r.kind === "copy" ? "1× (floor)" : formatRatio(r.timeVsFloor),
    [phases(r.phases), r.detail].filter(Boolean).join("; "),
  ]);
}

export const TUNE_BACKUP_HEAD = ["compress", "process-max", "repo", "backup wall", "repo size", "peak RSS"];

export function tuneBackupRows(rows: readonly TuneBackupRow[]): string[][] {
  return rows.map((r) => [r.compressType, String(r.processMax), `repo${r.repo}`, formatMs(r.wallMs), formatBytes(r.bytes), formatBytes(r.peakRssBytes)]);
}

export const TUNE_RESTORE_HEAD = ["compress", "process-max", "buffer", "repo", "files", "until usable", "runs", "peak RSS", "× floor", "× runbook"];

export function tuneRestoreRows(rows: readonly TuneRestoreRow[]): string[][] {
  return rows.map((r) => [
    r.compressType,
    String(r.processMax),
    formatBufferSize(r.bufferSize),
    `repo${r.repo}`,
    formatMs(r.filesMs),
    formatMs(r.wallMs),
    r.runs.length > 1 ? `${r.runs.length}: ${formatMs(Math.min(...r.runs))}–${formatMs(Math.max(...r.runs))}` : "1",
    formatBytes(r.peakRssBytes),
    formatRatio(r.timeVsFloor),
    formatRatio(r.timeVsRunbook),
  ]);
}
