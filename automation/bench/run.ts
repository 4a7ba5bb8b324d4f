// The benchmark, as a recipe: one lab of its own, then the runbook's method, ours and the raw
// copy on the same database in one run, each timed with its peak memory; ratios last. The lab
// is removed at the end, also when something fails, unless asked to keep it.
import { rmSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";
import type { Deps } from "../commands/deps";
import type { DrConfig } from "../config/schema";
import { DrError } from "../core/errors";
import { onInterrupt } from "../core/interrupt";
import { runningChildren } from "../system/exec";
import { endChildTrees } from "../system/leftovers";
import { formatBytes, formatMs } from "../core/output";
import { Lab } from "../engines/local/lab";
import { bringUpLab } from "../engines/local/lab-up";
import { applyChurn } from "../engines/local/sample-data";
import { endToEnd } from "./end-to-end";
import { benchConfig, benchWorkDir, databaseBytes, makeBenchDir } from "./bench-lab";
import { measuredBackup, measuredRestore } from "./ours";
import { withRatios } from "./ratios";
import { rawCopy } from "./raw-copy";
import { provisionRunbookTarget, runbookBackup, runbookRestore } from "./runbook";
import { recordManifest } from "../verify/manifest";
import { measure } from "./sampler";
import { runTune } from "./tune";
import type { BenchMeasurement, BenchResult, BenchRun, ReplayLag, TuneResult } from "./types";

export const DEFAULT_BENCH_SCALE = 20;
/** The change before the incremental backup: ~1 % of the rows. */
export const CHURN_FRACTION = 0.01;

export interface BenchOptions {
  /** Sample database scale (default 20 ≈ 1 GB). */
  scale?: number;
  /** Keep the benchmark lab (running) afterwards. */
  keep?: boolean;
  /** Also run the restore under a matrix of pgBackRest settings. */
  tune?: boolean;
  /** A sweep: the whole benchmark once per scale (sweep.ts); `scale` is then ignored. */
  scales?: number[];
}

export const BENCH_NOTES = [
  "the main table is one run of each method on a machine shared with whatever else runs on it, so differences of 10-20 % are noise; --tune repeats each setting (median of 3, interleaved)",
  "page cache is warm: dropping caches is not possible here (no write access to /proc/sys/vm/drop_caches), so every method reads what was just written from memory",
  "peak RSS: highest sum of VmRSS over the processes the step started (pg_dump, gzip, psql, pgbackrest and its workers, cp), sampled every 100 ms, or a single process's VmHWM if higher; PostgreSQL server processes (backends, recovery) and the object store daemon are not counted",
  "restores run until usable: files laid down, server started, WAL replayed to the end of the archive (pgBackRest) or the whole SQL script applied (runbook), then a first query answered; the runbook's restored database has no planner statistics yet (no ANALYZE), ours has the primary's",
  "repo2 is the lab's S3-compatible store (s3rver, one Node process) over TLS on loopback; real S3 adds network latency and bandwidth limits and removes that single-process bottleneck",
  "end to end, under the write load (a heartbeat every 100 ms through the service name): the secondary is built as a streaming standby; switchover there and back (write downtime: the last commit the load saw acknowledged before the old primary's clean shutdown ended to the first after it, i.e. the old primary's last to the new one's first); failover by promotion (primary killed with SIGKILL); then failover by restore (--from-backup) of the same database: the promoted secondary killed, the old primary's fenced site restored from the offsite repository (the newest set there is the incremental backup taken after the promotion, as the schedule would, with its proofs: amcheck, orphans and invariants on the data, which the restore path's gate shows instead of repeating them on the copy)",
  "RTO runs from the kill to the first write through the service name; 'in RTO' marks the steps it is made of; the standby's full verification (amcheck, orphans, invariants) runs ahead of time, off the RTO, as it would on a schedule",
  "the raw copy is of the restored secondary, stopped cleanly (never the running primary), without pg_wal's contents, which backups do not carry: the bytes a restore lays down; it includes fsync of every file, as pgBackRest's restore and PostgreSQL's recovery make their files durable too",
];

export async function runBench(deps: Deps, opts: BenchOptions = {}): Promise<BenchResult> {
  const started = Date.now();
  const loadAtStart = loadavg()[0];
  const startedAt = new Date(started).toISOString();
  const out = deps.out;
  const scale = opts.scale ?? DEFAULT_BENCH_SCALE;
  const dir = makeBenchDir();
  let config: DrConfig;
  try {
    config = benchConfig(deps.config, dir, scale);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const bench: Deps = { config, out };
  const stop = watchSignals(out);
  const rows: BenchMeasurement[] = [];
  let tune: TuneResult | undefined;
  let dbBytes = 0;
  let runs: BenchRun[] = [];
  let replayLag: ReplayLag | undefined;
  try {
    // 1. A lab of its own at the chosen scale, without first backups: those are measured below.
    out.info(`benchmark lab: ${dir} (scale ${scale}; the operator's lab is not touched)`);
    const lab = await bringUpLab(config, { scale, skipBackup: true, step: (label) => out.step(label), onProgress: (d, t, l) => out.progress(d, t, l) });
    dbBytes = await databaseBytes(lab, "primary");
    const work = benchWorkDir(lab);
    const dumpFile = join(work, "runbook.sql.gz");
    stop.check();

    // 2. The runbook's backup: pg_dump | gzip.
    const dump = await out.timed("runbook backup: pg_dump | gzip", () => measure(() => runbookBackup(lab, dumpFile)), (m) => `${formatBytes(m.value.bytes)} in ${formatMs(m.wallMs)}`);
    rows.push({ id: "runbook-backup", label: "runbook backup: pg_dump | gzip", kind: "backup", method: "runbook", wallMs: dump.wallMs, bytes: dump.value.bytes, peakRssBytes: dump.peakRssBytes });
    stop.check();

    // 3. Our full backup, into each repository separately (the verification manifest that
    //    `dr backup` records first is written before the clock starts).
    await recordManifest(lab.site("primary").cluster.connection(lab.state.database), "before the benchmark's full backups");
    for (const repo of [1, 2] as const) {
      const m = await measuredBackup(bench, lab, "full", repo, "benchmark: full");
      rows.push({ id: `full-repo${repo}`, label: `pgBackRest full → ${repoName(repo)}`, kind: "backup", method: "pgbackrest", wallMs: m.wallMs, bytes: m.value.repoSize, peakRssBytes: m.peakRssBytes, detail: m.value.label });
      stop.check();
    }

    // 4. The runbook's restore: gunzip | psql into a fresh cluster, until a first query answers.
    const target = await out.timed("provision a fresh cluster for the runbook's restore (not timed)", () => provisionRunbookTarget(lab));
    const load = await out.timed("runbook restore: gunzip -c | psql", () => measure(() => runbookRestore(lab, target, dumpFile)), (m) => formatMs(m.wallMs));
    rows.push({
      id: "runbook-restore",
      label: "runbook restore: gunzip | psql",
      kind: "restore",
      method: "runbook",
      wallMs: load.wallMs,
      bytes: load.value.bytes,
      peakRssBytes: load.peakRssBytes,
      phases: { "create db": load.value.createMs, load: load.value.loadMs, "first query": load.value.firstQueryMs },
    });
    // Its autovacuum would compete with what follows.
    await out.timed("remove the runbook's cluster", () => lab.removeSite(target.name));
    stop.check();

    // 5. ~1 % of the rows change, then incremental backups.
    const client = await lab.connect("primary");
    const churn = await out.timed(`change ~${CHURN_FRACTION * 100} % of the rows (applyChurn)`, () => applyChurn(client, CHURN_FRACTION).finally(() => client.end()), (c) => `${c.ledgerInserted} ledger entries, ${Object.values(c.updated).reduce((a, b) => a + b, 0)} rows updated`);
    await recordManifest(lab.site("primary").cluster.connection(lab.state.database), "before the benchmark's incremental backups");
    for (const repo of [1, 2] as const) {
      const m = await measuredBackup(bench, lab, "incr", repo, "benchmark: incremental after 1 % churn");
      rows.push({ id: `incr-repo${repo}`, label: `pgBackRest incr → ${repoName(repo)}`, kind: "backup", method: "pgbackrest", wallMs: m.wallMs, bytes: m.value.repoSize, peakRssBytes: m.peakRssBytes, detail: `${m.value.label}; churn round ${churn.round}` });
      stop.check();
    }

    // 6. Our restore of the latest backup (the incremental on its full) to the secondary, until usable.
    for (const repo of [2, 1] as const) {
      const m = await measuredRestore(bench, lab, repo);
      const r = m.value.restore;
      const t = r.result!.timings;
      rows.push({
        id: `restore-repo${repo}`,
        label: `pgBackRest restore ← ${repoName(repo)}`,
        kind: "restore",
        method: "pgbackrest",
        wallMs: m.wallMs,
        bytes: r.result!.bytes,
        peakRssBytes: m.peakRssBytes,
        phases: { plan: Math.max(0, m.wallMs - t.totalMs - m.value.firstQueryMs), files: t.restoreFilesMs, recovery: t.recoveryMs, "first query": m.value.firstQueryMs },
        detail: `latest: ${r.plan.chain.join(" → ")}; set ${r.setCheck.order === "read-once" ? "read once (checked file by file as restored)" : "verified whole first"}`,
      });
      stop.check();
    }

    // 7. The floor: a cold copy of the restored secondary's data directory.
    const copyDir = join(work, "pgdata-copy");
    const copy = await out.timed("raw copy of the restored data directory (but pg_wal): cp -a + fsync", () => measure(() => rawCopy(lab, "secondary", copyDir)), (m) => `${formatBytes(m.value.bytes)} in ${formatMs(m.value.copyMs + m.value.fsyncMs)}`);
    rows.push({
      id: "raw-copy",
      label: "raw copy of PGDATA (no pg_wal): cp -a + fsync",
      kind: "copy",
      method: "raw",
      wallMs: copy.value.copyMs + copy.value.fsyncMs,
      bytes: copy.value.bytes,
      peakRssBytes: copy.peakRssBytes,
      phases: { cp: copy.value.copyMs, fsync: copy.value.fsyncMs },
      detail: `${copy.value.files} files; pg_wal's ${formatBytes(copy.value.walBytesLeftOut)} left out, as backups leave it out`,
    });
    rmSync(copyDir, { recursive: true, force: true });
    stop.check();

    // 8. Optionally, the restore under a matrix of pgBackRest settings. Before the end-to-end
    //    runs: the failover kills and fences the primary, and tune backs up from it.
    if (opts.tune) {
      const floorMs = rows.find((r) => r.id === "raw-copy")?.wallMs;
      const runbookRestoreMs = rows.find((r) => r.id === "runbook-restore")?.wallMs;
      tune = await runTune(bench, lab, config, { floorMs, runbookRestoreMs });
      stop.check();
    }

    // 9. End to end, at this scale, under the write load: the standby, the drill, switchovers,
    //    failover by promotion and by restore, each run's steps kept (see end-to-end.ts); their
    //    RTOs join the table beside the runbook's restore and the raw copy.
    const e2e = await endToEnd(bench, lab);
    rows.push(...e2e.rows, ...e2e.runs.filter((r) => RTO_ROWS[r.id]).map(rtoRow));
    runs = e2e.runs;
    replayLag = e2e.replayLag;
    stop.check();
  } catch (e) {
    // A step whose tools the signal ended fails in its own words: say it was the signal.
    throw stop.explain(e);
  } finally {
    stop.dispose();
    if (!opts.keep) {
      await out.timed(`remove the benchmark lab ${dir}`, () => Lab.teardown(config, { purge: true })).catch((e) => out.warn(`could not remove ${dir}: ${(e as Error).message}`));
    }
  }
  const cpu = cpus();
  return {
    scale,
    database: config.database,
    databaseBytes: dbBytes,
    machine: { cpus: cpu.length, cpuModel: cpu[0]?.model ?? "unknown", memoryBytes: totalmem(), kernel: release() },
    loadAverage: { atStart: loadAtStart, atEnd: loadavg()[0] },
    pgbackrest: config.pgbackrest,
    labDir: dir,
    kept: opts.keep === true,
    startedAt,
    totalMs: Date.now() - started,
    rows: withRatios(rows),
    tune,
    runs,
    replayLag,
    notes: BENCH_NOTES,
  };
}

/** The runs whose RTO is a row of the main table, with what that RTO spans. */
const RTO_ROWS: Record<string, string> = {
  drill: "dr drill: restore point → verified, writable copy (RTO)",
  "failover-promote": "dr failover datacenter by promotion: outage → first write via DNS (RTO)",
  "failover-restore": "dr failover datacenter by restore: outage → first write via DNS (RTO)",
};

function rtoRow(r: BenchRun): BenchMeasurement {
  const lost = r.commits ? `; ${r.commits.lost} of ${r.commits.acknowledged} acknowledged commits lost` : "";
  return { id: r.id, label: RTO_ROWS[r.id], kind: "restore", method: "pgbackrest", wallMs: Math.round((r.rtoSeconds ?? 0) * 1000), detail: `RPO ${r.rpoSeconds?.toFixed(1)} s${lost}; run ${r.runId}` };
}

function repoName(repo: 1 | 2): string {
  return repo === 1 ? "repo1 (posix, site)" : "repo2 (S3 over TLS, offsite)";
}

/**
 * Ctrl-C (or a kill) during the benchmark: the tools of the step under way are ended, so that
 * step fails (a SQL step, such as the data generation, runs to its end first), the next check
 * stops the recipe, and the lab is still removed. The signal is taken through core/interrupt.ts:
 * with nobody subscribed there, the entry point exits at once and the lab stays behind (a lab at
 * scale 80, its servers running, until this was found). Further signals are the entry point's.
 */
function watchSignals(out: Deps["out"]): { check(): void; explain(e: unknown): unknown; dispose(): void } {
  let received: NodeJS.Signals | undefined;
  const dispose = onInterrupt((signal) => {
    received = signal;
    out.interrupted(`dr bench by ${signal}`, "the step under way is stopped and the benchmark lab removed (unless --keep); a second signal says so, a third exits at once");
    void endChildTrees(runningChildren(), 2000);
  });
  const interrupted = (cause?: unknown) => new DrError("INTERRUPTED", `benchmark interrupted (${received})`, { hint: "nothing to clean up: the benchmark lab is removed on the way out (unless --keep)", cause });
  return {
    check() {
      if (received) throw interrupted();
    },
    explain(e: unknown) {
      return received && !(e instanceof DrError && e.code === "INTERRUPTED") ? interrupted(e) : e;
    },
    dispose,
  };
}
