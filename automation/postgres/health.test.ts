// Proves the health check against real PostgreSQL 15 clusters: a healthy primary grades ok; a
// stopped one is critical (and still yields a report); long transactions, slow queries, real
// failed logins, a failing archiver, a full disk and stale backups get the runbook's severities;
// a streaming standby is seen from both ends; no password ever appears in a report; a short call
// (recovery state, a probe query) stuck behind a lock or facing a silent server ends at its bound.
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Client } from "pg";
import { alertThresholds, type AlertThresholds } from "../config/common";
import { makeServiceDir } from "../system/service-user";
import { pgBin, run } from "../system/exec";
import { Cluster } from "./cluster";
import { checkHealth, type HealthInput } from "./health";
import type { HealthReport } from "./health-types";
import { freePort, startScratchCluster, type ScratchCluster } from "./scratch";
import { createServer, type Socket } from "node:net";
import { DrError } from "../core/errors";
import { SHORT_CALL_BOUNDS, shortCalls, withClient } from "./client";
import { readRecoveryState } from "./recovery-state";

const thresholds = (over: Partial<Record<keyof AlertThresholds, number>> = {}): AlertThresholds => alertThresholds.parse(over);
const finding = (r: HealthReport, check: string) => {
  const f = r.findings.find((x) => x.check === check);
  assert.ok(f, `finding ${check} in ${JSON.stringify(r.findings)}`);
  return f;
};
async function until(what: string, fn: () => Promise<boolean>, seconds = 20): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("health check", () => {
  let scratch: ScratchCluster;
  let standby: Cluster | undefined;
  const clients: Client[] = [];
  const open = async (database = "postgres") => {
    const c = new Client(scratch.connection(database));
    c.on("error", () => undefined);
    await c.connect();
    clients.push(c);
    return c;
  };
  let input: (extra?: Partial<HealthInput>) => HealthInput;

  before(async () => {
    scratch = await startScratchCluster({ wal_level: "replica", archive_mode: "on", max_wal_senders: 5 });
    const archive = join(scratch.dir, "archive");
    makeServiceDir(archive, scratch.cluster.spec.user);
    scratch.cluster.writeSettings({ archive_command: `cp %p ${archive}/%f` }, "fp-dr-archive.conf");
    await scratch.cluster.psql("select pg_reload_conf()");
    input = (extra = {}) => ({ site: "test", connection: scratch.connection(), logPath: scratch.cluster.logFile, ...extra });
    // one archived segment, so archiving has something to report
    const c = await open();
    await c.query("create table t (x int); insert into t values (1); select pg_switch_wal()");
    await until("a segment archived", async () => (await c.query("select archived_count from pg_stat_archiver")).rows[0].archived_count > 0);
  });

  after(async () => {
    for (const c of clients) await c.end().catch(() => undefined);
    await standby?.stop("immediate").catch(() => undefined);
    await scratch?.destroy();
  });

  it("grades a healthy primary ok and fills the metrics", async () => {
    // (disk limit 100 %: this proof must not depend on how full the test machine's disk is)
    const r = await checkHealth(input({ thresholds: thresholds({ diskUsagePercent: 100 }) }));
    assert.equal(r.worst, "ok", JSON.stringify(r.findings, null, 1));
    assert.equal(r.site, "test");
    for (const check of ["connectivity", "role", "disk", "connections", "archiving", "replication", "long-transactions", "slow-queries", "failed-logins"]) finding(r, check);
    assert.equal(r.metrics.DatabaseUp, 1);
    assert.equal(r.metrics.InRecovery, 0);
    assert.ok(r.metrics.DiskUsagePercent! > 0 && r.metrics.DiskUsagePercent! <= 100);
    assert.ok(r.metrics.ConnectionUtilisationPercent! > 0);
    assert.ok(r.metrics.ArchiveAgeSeconds! >= 0);
    assert.equal(r.metrics.ArchiveFailures, 0);
    assert.equal(r.metrics.LongTransactions, 0);
    assert.equal(r.metrics.SlowQueries, 0);
    assert.equal(r.metrics.FailedLogins, 0);
    assert.ok(!JSON.stringify(r).includes(scratch.password), "no password in the report");
  });

  it("reports the data directory's disk usage as critical over the threshold", async () => {
    const r = await checkHealth(input({ thresholds: thresholds({ diskUsagePercent: 1 }) }));
    assert.equal(finding(r, "disk").severity, "critical");
    assert.equal(r.worst, "critical");
  });

  it("warns on a long-running transaction and on a slow query", async () => {
    const holder = await open();
    await holder.query("begin");
    await holder.query("select txid_current()");
    const sleeper = await open();
    const sleeping = sleeper.query("select pg_sleep(3)");
    await new Promise((r) => setTimeout(r, 1500));
    const r = await checkHealth(input({ thresholds: thresholds({ longTransaction: 1, slowQuery: 1, diskUsagePercent: 100 }) }));
    await holder.query("commit");
    await sleeping;
    const long = finding(r, "long-transactions");
    assert.equal(long.severity, "warning");
    assert.match(long.message, /idle in transaction/);
    assert.equal(finding(r, "slow-queries").severity, "warning");
    assert.ok(r.metrics.LongTransactions! >= 1);
    assert.ok(r.metrics.SlowQueries! >= 1);
    assert.equal(r.worst, "warning");
    assert.ok(!JSON.stringify(r).includes("pg_sleep"), "no SQL text in the report");
  });

  it("counts real failed logins from the server log without printing the password tried", async () => {
    const tried = "Wr0ng-Passw0rd-Tried";
    for (let i = 0; i < 2; i++) {
      const bad = new Client({ ...scratch.connection(), password: tried });
      bad.on("error", () => undefined);
      await assert.rejects(bad.connect(), /password authentication failed/);
    }
    await until("the failures in the log", async () => (await checkHealth(input())).metrics.FailedLogins === 2, 10);
    const r = await checkHealth(input({ thresholds: thresholds({ failedLoginsPerHour: 1, diskUsagePercent: 100 }) }));
    const f = finding(r, "failed-logins");
    assert.equal(f.severity, "warning");
    assert.equal(r.metrics.FailedLogins, 2);
    assert.match(f.message, new RegExp(`${scratch.cluster.spec.user.name} ×2`));
    assert.ok(!JSON.stringify(r).includes(tried));
    // an hour later they no longer count
    const later = await checkHealth(input({ now: () => new Date(Date.now() + 2 * 3600_000) }));
    assert.equal(later.metrics.FailedLogins, 0);
  });

  it("grades backup facts: completed is info, stale or failed is critical", async () => {
    const now = new Date("2025-06-01T12:00:00Z");
    const h = (n: number) => new Date(now.getTime() - n * 3600_000);
    const fresh = await checkHealth(input({ now: () => now, backups: { lastFull: h(5), lastAny: h(1) }, thresholds: thresholds({ diskUsagePercent: 100 }) }));
    assert.equal(finding(fresh, "backup-full").severity, "info");
    assert.equal(finding(fresh, "backup-any").severity, "info");
    assert.equal(fresh.metrics.FullBackupAgeSeconds, 5 * 3600);
    assert.equal(fresh.metrics.BackupAgeSeconds, 3600);
    assert.equal(fresh.worst, "info");

    const stale = await checkHealth(input({ now: () => now, backups: { lastFull: h(30), lastAny: h(8) } }));
    assert.equal(finding(stale, "backup-full").severity, "critical");
    assert.equal(finding(stale, "backup-any").severity, "critical");

    const failed = await checkHealth(input({ now: () => now, backups: { lastFull: h(2), lastFailure: { at: h(1), message: "repo2 unreachable" } } }));
    assert.equal(finding(failed, "backup-failure").severity, "critical");
    assert.match(finding(failed, "backup-failure").message, /repo2 unreachable/);

    const none = await checkHealth(input({ now: () => now, backups: {} }));
    assert.equal(finding(none, "backup-full").severity, "critical");
  });

  it("sees a streaming standby from the primary and from the standby", async () => {
    const dir = join(scratch.dir, "standby");
    const runDir = join(scratch.dir, "standby-run");
    const { user } = scratch.cluster.spec;
    makeServiceDir(runDir, user, 0o755);
    await run(pgBin("pg_basebackup"), ["-h", "127.0.0.1", "-p", String(scratch.cluster.spec.port), "-U", user.name, "-D", dir, "-R", "-X", "stream", "-c", "fast"], {
      as: user,
      env: { PGPASSWORD: scratch.password },
    });
    standby = new Cluster({ dataDir: dir, runDir, host: "127.0.0.1", port: await freePort(), user, password: scratch.password });
    standby.writeSettings({ ...settingsOf(scratch), port: standby.spec.port, unix_socket_directories: runDir });
    standby.writeSettings({ archive_command: "/bin/true" }, "fp-dr-archive.conf");
    await standby.start();
    const c = await open();
    await until("the standby streaming", async () => (await c.query("select count(*)::int as n from pg_stat_replication where state = 'streaming'")).rows[0].n === 1);

    const onPrimary = await checkHealth(input({ expectRole: "primary", thresholds: thresholds({ diskUsagePercent: 100 }) }));
    assert.equal(finding(onPrimary, "replication").severity, "ok");
    assert.match(finding(onPrimary, "replication").message, /streaming/);
    assert.ok(onPrimary.metrics.ReplicationLagSeconds! >= 0);
    assert.ok(Number.isInteger(onPrimary.metrics.ReplicationLagBytes) && onPrimary.metrics.ReplicationLagBytes! >= 0, `lag bytes ${onPrimary.metrics.ReplicationLagBytes}`);

    const onStandby = await checkHealth({ site: "standby", connection: standby.connection(), logPath: standby.logFile, expectRole: "standby", thresholds: thresholds({ diskUsagePercent: 100 }) });
    assert.equal(onStandby.metrics.InRecovery, 1);
    assert.ok(Number.isInteger(onStandby.metrics.ReplicationLagBytes) && onStandby.metrics.ReplicationLagBytes! >= 0, `lag bytes ${onStandby.metrics.ReplicationLagBytes}`);
    assert.equal(finding(onStandby, "role").severity, "ok");
    assert.ok(!onStandby.findings.some((f) => f.check === "archiving"), "archiving is the primary's job");
    assert.ok(["ok"].includes(finding(onStandby, "replication").severity), JSON.stringify(onStandby.findings));
    assert.equal(onStandby.worst, "ok", JSON.stringify(onStandby.findings, null, 1));

    const wrongRole = await checkHealth({ site: "standby", connection: standby.connection(), expectRole: "primary" });
    assert.equal(finding(wrongRole, "role").severity, "critical");
    await standby.stop("fast");
  });

  it("reports a failing WAL archiver as critical", async () => {
    scratch.cluster.writeSettings({ archive_command: "/bin/false" }, "fp-dr-archive.conf");
    const c = await open();
    await c.query("select pg_reload_conf()");
    await c.query("insert into t values (2); select pg_switch_wal()");
    await until("an archive failure", async () => (await c.query("select failed_count from pg_stat_archiver")).rows[0].failed_count > 0);
    const r = await checkHealth(input());
    const f = finding(r, "archiving");
    assert.equal(f.severity, "critical");
    assert.match(f.message, /failing/);
    assert.ok(r.metrics.ArchiveFailures! > 0);
  });

  it("a short call stuck behind a lock, or against a server that never answers, ends at its bound", { timeout: 30_000 }, async () => {
    const holder = await open();
    await holder.query("begin; lock table t in access exclusive mode");
    const sockets: Socket[] = [];
    const silent = createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const started = Date.now();
    // an unbounded call would wait for the lock for ever: release it later, so it fails on time instead of hanging
    const release = setTimeout(() => void holder.query("rollback").catch(() => undefined), 12_000);
    try {
      const [locked, unanswered] = await Promise.all([
        withClient(shortCalls(scratch.connection()), (c) => c.query("select count(*) from t")).then(() => undefined, (e: Error) => e),
        readRecoveryState({ host: "127.0.0.1", port: (silent.address() as { port: number }).port, user: "x", database: "x" }).then(() => undefined, (e: Error) => e),
      ]);
      const ms = Date.now() - started;
      assert.match(String(locked?.message), /statement timeout/);
      assert.ok(unanswered instanceof DrError && unanswered.code === "SITE_UNREACHABLE", String(unanswered));
      assert.ok(ms < SHORT_CALL_BOUNDS.connectionTimeoutMillis + 2_000, `the bounded calls took ${ms} ms`);
    } finally {
      clearTimeout(release);
      await holder.query("rollback");
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it("reports a stopped database as critical and still returns a report", async () => {
    for (const c of clients.splice(0)) await c.end().catch(() => undefined);
    await scratch.cluster.stop("fast");
    const r = await checkHealth(input({ connectTimeoutMs: 2000 }));
    assert.equal(r.worst, "critical");
    assert.equal(r.metrics.DatabaseUp, 0);
    const f = finding(r, "connectivity");
    assert.equal(f.severity, "critical");
    assert.match(f.message, /database unavailable/);
    assert.ok(!JSON.stringify(r).includes(scratch.password));
    // the log is still read: the failed logins of the earlier test are still counted
    assert.equal(r.metrics.FailedLogins, 2);
  });
});

/** The base settings a scratch cluster was initialised with (writeSettings replaces a file whole). */
function settingsOf(s: ScratchCluster): Record<string, string | number | boolean> {
  return {
    listen_addresses: s.cluster.spec.host,
    port: s.cluster.spec.port,
    unix_socket_directories: s.cluster.spec.runDir,
    logging_collector: false,
    log_connections: true,
    log_line_prefix: "%m [%p] %q%u@%d ",
    password_encryption: "scram-sha-256",
    wal_level: "replica",
    archive_mode: "on",
    max_wal_senders: 5,
  };
}
