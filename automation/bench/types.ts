// What the benchmark measures and reports. One measurement per way of backing up, restoring or
// copying the same database; ratios are filled in afterwards against the runbook's method and
// the raw-copy floor (see ratios.ts).
import type { PgbackrestTuning } from "../config/common";

/** backup: make a copy somewhere else; restore: bring a usable database back; copy: the floor. */
export type BenchKind = "backup" | "restore" | "copy";
/** runbook: pg_dump | gzip and gunzip | psql; pgbackrest: ours; raw: cp -a of the data directory. */
export type BenchMethod = "runbook" | "pgbackrest" | "raw";

export interface BenchMeasurement {
  /** Stable id for scripts, e.g. "runbook-backup", "full-repo2", "restore-repo1", "raw-copy". */
  id: string;
  /** What was measured, for people. */
  label: string;
  kind: BenchKind;
  method: BenchMethod;
  /** Wall time from start until done (restores: until a first query succeeded). */
  wallMs: number;
  /** Backups: bytes stored; restores: bytes of database brought back; copy: bytes copied. */
  bytes?: number;
  /** High-water mark of the summed RSS of the client-side process tree (see sampler.ts). */
  peakRssBytes?: number;
  /** Named parts of wallMs (e.g. files, recovery, first query). */
  phases?: Record<string, number>;
  detail?: string;
}

export interface BenchRatios {
  /** wallMs ÷ the runbook's wallMs for the same kind (backup vs backup, restore vs restore). */
  timeVsRunbook?: number;
  /** wallMs ÷ the raw copy's wallMs. */
  timeVsFloor?: number;
  /** bytes ÷ the runbook's bytes for the same kind. */
  bytesVsRunbook?: number;
}

export type BenchRow = BenchMeasurement & BenchRatios;

/** One pgBackRest setting tried by `--tune`. */
export interface TuneSetting {
  compressType: PgbackrestTuning["compressType"];
  processMax: number;
  bufferSize: number;
}

export interface TuneBackupRow {
  compressType: PgbackrestTuning["compressType"];
  processMax: number;
  repo: 1 | 2;
  label: string;
  wallMs: number;
  /** Bytes the set occupies in the repository. */
  bytes?: number;
  peakRssBytes?: number;
}

/** One restore under one setting. */
export interface TuneRun extends TuneSetting {
  repo: 1 | 2;
  set: string;
  wallMs: number;
  filesMs: number;
  recoveryMs: number;
  firstQueryMs: number;
  peakRssBytes?: number;
}

/** Every run of one setting from one repository: medians of the times, the highest peak. */
export interface TuneRestoreRow extends TuneRun {
  /** Wall time of each run, in the order they ran (wallMs and the phases are their medians). */
  runs: number[];
  timeVsFloor?: number;
  timeVsRunbook?: number;
}

export interface TuneRecommendation {
  /** The fastest setting for a restore from the offsite repository (the DR path). */
  best: TuneSetting;
  bestMs: number;
  /** The configured setting's time on the same path. */
  current: TuneSetting;
  currentMs?: number;
  /** True when the best beats the current by more than the noise margin. */
  change: boolean;
  reason: string;
}

export interface TuneResult {
  backups: TuneBackupRow[];
  restores: TuneRestoreRow[];
  recommendation?: TuneRecommendation;
}

/** One step of a run (drill, failover, switchover) as its run record timed it. */
export interface BenchStep {
  id: string;
  name: string;
  status: string;
  durationMs?: number;
  /** The step ended before the run's RTO did (outage → first write / writable copy). */
  inRto: boolean;
  detail?: string;
  /** Named parts of the step: the restore's files and replay, each check of a gate. */
  sub?: { name: string; ms: number }[];
}

/** A whole run of a plan, kept from its run record before the benchmark lab is removed. */
export interface BenchRun {
  /** drill, failover-promote, failover-restore, switchover-1, … */
  id: string;
  label: string;
  runId: string;
  scenario: string;
  /** Failovers: the path the plan took (promote, restore) and why. */
  path?: string;
  pathReason?: string;
  status: string;
  rtoSeconds?: number;
  rpoSeconds?: number;
  /** From the outage to the declaration (the kill and the operator's command). */
  detectionMs?: number;
  steps: BenchStep[];
  /** Acknowledged commits of the write load missing on the new primary, and how many were acknowledged before. */
  commits?: { acknowledged: number; lost: number };
  /** Switchovers: last write acknowledged on the old primary → first write acknowledged on the new. */
  writeDowntimeMs?: number;
}

/** The standby's replay lag behind the primary, sampled under the lab's write load. */
export interface ReplayLag {
  samples: number;
  source?: string;
  /** pg_stat_replication.replay_lag on the primary: WAL flushed there → replayed on the standby. */
  medianReplayMs: number;
  maxReplayMs: number;
  /** Bytes of WAL between the primary's position and the standby's replay. */
  medianBytes: number;
  maxBytes: number;
  /** The standby's lag as `dr status` computes it: the age of its last replayed commit while behind. */
  medianSeconds: number;
  maxSeconds: number;
  /** How long it was sampled. */
  windowMs: number;
}

export interface BenchResult {
  scale: number;
  database: string;
  /** pg_database_size of the sample database on the primary. */
  databaseBytes: number;
  machine: { cpus: number; cpuModel: string; memoryBytes: number; kernel: string };
  /** 1-minute load average when the benchmark started and ended (other work on the machine skews it). */
  loadAverage: { atStart: number; atEnd: number };
  pgbackrest: PgbackrestTuning;
  labDir: string;
  kept: boolean;
  startedAt: string;
  totalMs: number;
  rows: BenchRow[];
  tune?: TuneResult;
  /** The drill, the switchovers and both failovers, step by step. */
  runs: BenchRun[];
  replayLag?: ReplayLag;
  notes: string[];
}

/** `--scales`: one benchmark per scale, in the order given. */
export interface BenchSweep {
  scales: BenchResult[];
}
