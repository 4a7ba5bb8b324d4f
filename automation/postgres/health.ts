// `dr health`: the runbook's `database_maintenance.py health`, graded by its alert table.
//
//   critical  database unavailable · backup failure · disk > 90 % · replication lag > 1 h
//             (and, because they are backup failures: WAL archiving off or failing, no recent
//             full / any backup, a primary that is in recovery when a primary was expected)
//   warning   slow query · connection pool > 80 % · failed logins over threshold
//             (and long-running transactions, standbys not streaming, checks that could not run)
//   info      backup completed · things that were not checked and why
//
// Thresholds come from config (`alerts`, runbook numbers by default). A database that cannot
// be reached is a finding, not an exception: the report is always returned. Ages of facts the
// server keeps (archiving, activity, replay) are measured with the server's clock; ages of
// facts the caller supplies (backups) and the failed-login window use `now`.
import { statfsSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import type { Client, ClientConfig } from "pg";
import { alertThresholds, formatDuration, type AlertThresholds } from "../config/common";
import { redact } from "../core/redact";
import { connect, describeTarget, errorText } from "./client";
import { worstOf, type HealthFinding, type HealthMetrics, type HealthReport } from "./health-types";
import { countFailedLogins } from "./server-log";

/** What the caller knows about backups (the pgBackRest wrapper computes it from `info`). */
export interface BackupFacts {
  /** When the newest successful full backup finished. */
  lastFull?: Date;
  /** When the newest successful backup of any type finished (default: lastFull). */
  lastAny?: Date;
  /** The newest failed backup attempt, when known; critical if newer than the last success. */
  lastFailure?: { at: Date; message?: string };
}

export interface HealthInput {
  /** Site name, copied into the report. */
  site: string;
  /** How to connect (node-postgres settings); the password is never printed. */
  connection: ClientConfig;
  /** Alert thresholds; default: the runbook's. */
  thresholds?: AlertThresholds;
  /** Server log to count failed logins in; default: the server's own log file when it has a collector. */
  logPath?: string;
  /** Backup facts to grade; no backup findings when absent. */
  backups?: BackupFacts;
  /** The role this site should have; a mismatch is critical. Default: either is fine. */
  expectRole?: "primary" | "standby";
  /** Clock, for tests. Default: the system clock. */
  now?: () => Date;
  /** Milliseconds to wait for a connection (default 5000). */
  connectTimeoutMs?: number;
}

interface Ctx {
  client: Client;
  t: AlertThresholds;
  findings: HealthFinding[];
  metrics: HealthMetrics;
  inRecovery: boolean;
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const ago = (seconds: number) => `${formatDuration(Math.max(0, seconds))} ago`;

/** Runs every health check against one site and grades it; never throws for an unreachable database. */
export async function checkHealth(input: HealthInput): Promise<HealthReport> {
  const t = input.thresholds ?? alertThresholds.parse({});
  const now = input.now ?? (() => new Date());
  const findings: HealthFinding[] = [];
  const metrics: HealthMetrics = { DatabaseUp: 0 };
  let logPath = input.logPath;

  // connectivity: a connection and a query, timed
  let client: Client | undefined;
  const started = Date.now();
  try {
    client = await connect({ ...input.connection, connectionTimeoutMillis: input.connectTimeoutMs ?? 5000, statement_timeout: 15_000, query_timeout: 20_000 }, "dr-health");
    await client.query("select 1");
    metrics.DatabaseUp = 1;
    const ms = Date.now() - started;
    findings.push({ check: "connectivity", severity: "ok", message: `connected to ${describeTarget(input.connection)} in ${ms} ms`, value: ms, unit: "ms" });
  } catch (e) {
    await client?.end().catch(() => undefined);
    client = undefined;
    findings.push({ check: "connectivity", severity: "critical", message: `database unavailable: cannot connect to ${describeTarget(input.connection)}: ${errorText(e)}` });
  }

  if (client) {
    const ctx: Ctx = { client, t, findings, metrics, inRecovery: false };
    try {
      await guard(ctx, "role", () => checkRole(ctx, input.expectRole));
      await guard(ctx, "disk", () => checkDisk(ctx));
      await guard(ctx, "connections", () => checkConnections(ctx));
      if (!ctx.inRecovery) await guard(ctx, "archiving", () => checkArchiving(ctx));
      await guard(ctx, "replication", () => (ctx.inRecovery ? checkReplay(ctx) : checkStandbys(ctx)));
      await guard(ctx, "activity", () => checkActivity(ctx));
      if (!logPath) logPath = await serverLogFile(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  if (input.backups) checkBackups(input.backups, t, now(), findings, metrics);
  checkFailedLogins(logPath, t, now(), findings, metrics);

  const clean = findings.map((f) => ({ ...f, message: redact(f.message) }));
  return { site: input.site, checkedAt: now().toISOString(), worst: worstOf(clean), findings: clean, metrics };
}

/** A check that cannot run is a warning (we are blind there), not a crash of the whole report. */
async function guard(ctx: Ctx, check: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    ctx.findings.push({ check, severity: "warning", message: `could not check ${check}: ${errorText(e)}` });
  }
}

async function checkRole(ctx: Ctx, expect: HealthInput["expectRole"]): Promise<void> {
  const r = await ctx.client.query<{ in_recovery: boolean; version: string }>(`select pg_is_in_recovery() as in_recovery, current_setting('server_version') as version`);
  ctx.inRecovery = r.rows[0].in_recovery;
  ctx.metrics.InRecovery = ctx.inRecovery ? 1 : 0;
  const role = ctx.inRecovery ? "standby" : "primary";
  const what = ctx.inRecovery ? "in recovery (standby, read-only)" : "primary (accepting writes)";
  if (expect && expect !== role) {
    ctx.findings.push({ check: "role", severity: "critical", message: `expected a ${expect} but the server is ${what}` });
  } else {
    ctx.findings.push({ check: "role", severity: "ok", message: `${what}, postgresql ${r.rows[0].version}` });
  }
}

async function checkDisk(ctx: Ctx): Promise<void> {
  const r = await ctx.client.query<{ dir: string }>(`select current_setting('data_directory') as dir`);
  const dir = r.rows[0].dir;
  let st;
  try {
    st = statfsSync(dir);
  } catch (e) {
    ctx.findings.push({ check: "disk", severity: "info", message: `disk usage not checked: data directory ${dir} is not visible from this machine (${(e as NodeJS.ErrnoException).code ?? "error"})` });
    return;
  }
  // as df computes it: used / (used + available to unprivileged users)
  const used = (st.blocks - st.bfree) * st.bsize;
  const avail = st.bavail * st.bsize;
  const pct = round1((used / Math.max(1, used + avail)) * 100);
  ctx.metrics.DiskUsagePercent = pct;
  const free = `${(avail / 2 ** 30).toFixed(1)} GiB free`;
  const over = pct > ctx.t.diskUsagePercent;
  ctx.findings.push({
    check: "disk",
    severity: over ? "critical" : "ok",
    message: over ? `disk ${pct} % full on the data directory's filesystem (${free}, limit ${ctx.t.diskUsagePercent} %)` : `disk ${pct} % used on the data directory's filesystem (${free})`,
    value: pct,
    unit: "percent",
    threshold: ctx.t.diskUsagePercent,
  });
}

async function checkConnections(ctx: Ctx): Promise<void> {
  const r = await ctx.client.query<{ used: number; max: number }>(
    `select count(*)::int as used, current_setting('max_connections')::int as max from pg_stat_activity where backend_type = 'client backend'`,
  );
  const { used, max } = r.rows[0];
  const pct = round1((used / max) * 100);
  ctx.metrics.ConnectionUtilisationPercent = pct;
  const over = pct > ctx.t.connectionUtilisationPercent;
  ctx.findings.push({
    check: "connections",
    severity: over ? "warning" : "ok",
    message: `${used} of ${max} connections in use (${pct} %${over ? `, over ${ctx.t.connectionUtilisationPercent} %` : ""})`,
    value: pct,
    unit: "percent",
    threshold: ctx.t.connectionUtilisationPercent,
  });
}

async function checkArchiving(ctx: Ctx): Promise<void> {
  const r = await ctx.client.query<{
    mode: string;
    archived_count: string;
    last_archived_wal: string | null;
    archived_age: number | null;
    failed_count: string;
    last_failed_wal: string | null;
    failed_age: number | null;
    failing: boolean;
  }>(`select current_setting('archive_mode') as mode, archived_count, last_archived_wal,
        extract(epoch from now() - last_archived_time)::float8 as archived_age,
        failed_count, last_failed_wal, extract(epoch from now() - last_failed_time)::float8 as failed_age,
        coalesce(last_failed_time > coalesce(last_archived_time, '-infinity'), false) as failing
      from pg_stat_archiver`);
  const a = r.rows[0];
  const failures = Number(a.failed_count);
  ctx.metrics.ArchiveFailures = failures;
  if (a.mode === "off") {
    ctx.findings.push({ check: "archiving", severity: "critical", message: "wal archiving is off: no point-in-time recovery beyond the last backup" });
    return;
  }
  // segments waiting for the archiver (pg_monitor or superuser); unknown otherwise
  let pending: number | undefined;
  try {
    const p = await ctx.client.query<{ n: number }>(`select count(*)::int as n from pg_ls_archive_statusdir() where name like '%.ready'`);
    pending = p.rows[0].n;
  } catch {
    pending = undefined;
  }
  // The alarm's metric is archive lag, not idleness: how long WAL has been waiting.
  if (pending === 0) ctx.metrics.ArchiveAgeSeconds = 0;
  else if (a.archived_age !== null) ctx.metrics.ArchiveAgeSeconds = Math.round(a.archived_age);
  const last = a.last_archived_wal ? `${a.last_archived_wal} archived ${ago(a.archived_age ?? 0)}` : "nothing archived yet";
  const waiting = pending === undefined ? "" : `, ${pending} segment${pending === 1 ? "" : "s"} waiting`;
  if (a.failing) {
    ctx.findings.push({
      check: "archiving",
      severity: "critical",
      message: `wal archiving is failing: ${a.last_failed_wal} failed ${ago(a.failed_age ?? 0)} (${failures} failures; last success: ${last})${waiting}`,
      value: failures,
      unit: "count",
    });
    return;
  }
  const age = a.archived_age ?? Number.POSITIVE_INFINITY;
  // an idle server has nothing to archive: old last-archived time with nothing waiting is fine
  const stale = age > ctx.t.archiveAge && (pending === undefined || pending > 0) && a.last_archived_wal !== null;
  const stuck = a.last_archived_wal === null && (pending ?? 0) > 0;
  ctx.findings.push({
    check: "archiving",
    severity: stale || stuck ? "critical" : "ok",
    message: stale || stuck ? `wal archiving is behind: ${last}${waiting} (limit ${formatDuration(ctx.t.archiveAge)})` : `wal archiving working: ${last}${waiting}`,
    value: a.archived_age === null ? undefined : Math.round(a.archived_age),
    unit: "seconds",
    threshold: ctx.t.archiveAge,
  });
}

/** On a primary: every attached standby's replay lag. */
async function checkStandbys(ctx: Ctx): Promise<void> {
  const r = await ctx.client.query<{ name: string; addr: string | null; state: string; lag: number | null; behind: string | null }>(
    `select application_name as name, client_addr::text as addr, state,
        extract(epoch from replay_lag)::float8 as lag,
        pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint::text as behind
     from pg_stat_replication order by application_name`,
  );
  if (r.rowCount === 0) {
    ctx.findings.push({ check: "replication", severity: "ok", message: "no standby attached" });
    return;
  }
  const lag = Math.max(0, ...r.rows.map((s) => s.lag ?? 0));
  ctx.metrics.ReplicationLagSeconds = round1(lag);
  ctx.metrics.ReplicationLagBytes = Math.max(0, ...r.rows.map((s) => Number(s.behind ?? 0)));
  const names = r.rows.map((s) => `${s.name || s.addr || "standby"} ${s.state}, ${formatDuration(s.lag ?? 0)} behind${s.behind ? ` (${s.behind} bytes)` : ""}`);
  const notStreaming = r.rows.filter((s) => s.state !== "streaming");
  const over = lag > ctx.t.replicationLag;
  ctx.findings.push({
    check: "replication",
    severity: over ? "critical" : notStreaming.length ? "warning" : "ok",
    message: `${over ? `replication lag ${formatDuration(lag)} over ${formatDuration(ctx.t.replicationLag)}: ` : ""}${names.join("; ")}`,
    value: round1(lag),
    unit: "seconds",
    threshold: ctx.t.replicationLag,
  });
}

/** On a standby: how far behind the primary replay is (0 when everything received is replayed). */
async function checkReplay(ctx: Ctx): Promise<void> {
  const r = await ctx.client.query<{ receiving: boolean; caught_up: boolean; since_replay: number | null; unreplayed: string | null }>(
    `select exists (select 1 from pg_stat_wal_receiver where status = 'streaming') as receiving,
        coalesce(pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn(), false) as caught_up,
        extract(epoch from now() - pg_last_xact_replay_timestamp())::float8 as since_replay,
        greatest(0, pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()))::bigint::text as unreplayed`,
  );
  const { receiving, caught_up, since_replay, unreplayed } = r.rows[0];
  // Received but not replayed: what a promotion now would still have to apply (0 without a stream).
  ctx.metrics.ReplicationLagBytes = Number(unreplayed ?? 0);
  const lag = receiving && caught_up ? 0 : since_replay;
  if (lag === null) {
    ctx.findings.push({ check: "replication", severity: receiving ? "ok" : "warning", message: `standby has replayed no transaction yet${receiving ? "" : "; no wal receiver (archive recovery only)"}` });
    return;
  }
  ctx.metrics.ReplicationLagSeconds = round1(lag);
  const over = lag > ctx.t.replicationLag;
  ctx.findings.push({
    check: "replication",
    severity: over ? "critical" : receiving ? "ok" : "warning",
    message: `standby ${formatDuration(lag)} behind the primary${receiving ? ", streaming" : ", no wal receiver (replaying from the archive only)"}${over ? ` (limit ${formatDuration(ctx.t.replicationLag)})` : ""}`,
    value: round1(lag),
    unit: "seconds",
    threshold: ctx.t.replicationLag,
  });
}

/** Long-running transactions and slow queries among client sessions (never their SQL text). */
async function checkActivity(ctx: Ctx): Promise<void> {
  const r = await ctx.client.query<{ pid: number; usename: string | null; datname: string | null; state: string | null; xact_age: number | null; query_age: number | null }>(
    `select pid, usename, datname, state,
        extract(epoch from clock_timestamp() - xact_start)::float8 as xact_age,
        extract(epoch from clock_timestamp() - query_start)::float8 as query_age
     from pg_stat_activity
     where backend_type = 'client backend' and pid <> pg_backend_pid()`,
  );
  const who = (s: (typeof r.rows)[number], age: number) => `pid ${s.pid}, ${s.usename ?? "?"}@${s.datname ?? "?"}, ${s.state ?? "?"}, ${formatDuration(age)}`;

  const long = r.rows.filter((s) => (s.xact_age ?? 0) > ctx.t.longTransaction).sort((x, y) => (y.xact_age ?? 0) - (x.xact_age ?? 0));
  ctx.metrics.LongTransactions = long.length;
  ctx.findings.push(
    long.length
      ? {
          check: "long-transactions",
          severity: "warning",
          message: `${long.length} transaction${long.length === 1 ? "" : "s"} open longer than ${formatDuration(ctx.t.longTransaction)}; oldest: ${who(long[0], long[0].xact_age ?? 0)}`,
          value: long.length,
          unit: "count",
          threshold: ctx.t.longTransaction,
        }
      : { check: "long-transactions", severity: "ok", message: `no transaction open longer than ${formatDuration(ctx.t.longTransaction)}`, value: 0, unit: "count", threshold: ctx.t.longTransaction },
  );

  const slow = r.rows.filter((s) => s.state === "active" && (s.query_age ?? 0) > ctx.t.slowQuery).sort((x, y) => (y.query_age ?? 0) - (x.query_age ?? 0));
  ctx.metrics.SlowQueries = slow.length;
  ctx.findings.push(
    slow.length
      ? {
          check: "slow-queries",
          severity: "warning",
          message: `${slow.length} quer${slow.length === 1 ? "y" : "ies"} running longer than ${formatDuration(ctx.t.slowQuery)}; slowest: ${who(slow[0], slow[0].query_age ?? 0)}`,
          value: slow.length,
          unit: "count",
          threshold: ctx.t.slowQuery,
        }
      : { check: "slow-queries", severity: "ok", message: `no query running longer than ${formatDuration(ctx.t.slowQuery)}`, value: 0, unit: "count", threshold: ctx.t.slowQuery },
  );
}

/** The server's current log file when it runs a log collector (absolute path), else undefined. */
async function serverLogFile(client: Client): Promise<string | undefined> {
  try {
    const r = await client.query<{ file: string | null; dir: string }>(`select pg_current_logfile() as file, current_setting('data_directory') as dir`);
    const { file, dir } = r.rows[0];
    if (!file) return undefined;
    return isAbsolute(file) ? file : join(dir, file);
  } catch {
    return undefined;
  }
}

function checkBackups(b: BackupFacts, t: AlertThresholds, now: Date, findings: HealthFinding[], metrics: HealthMetrics): void {
  const age = (d: Date) => (now.getTime() - d.getTime()) / 1000;
  const lastAny = b.lastAny ?? b.lastFull;
  if (b.lastFailure && (!lastAny || b.lastFailure.at > lastAny)) {
    findings.push({
      check: "backup-failure",
      severity: "critical",
      message: `backup failure: the last attempt ${ago(age(b.lastFailure.at))} failed${b.lastFailure.message ? `: ${b.lastFailure.message}` : ""}`,
    });
  }
  const grade = (check: string, kind: string, at: Date | undefined, limit: number, metric: "FullBackupAgeSeconds" | "BackupAgeSeconds") => {
    if (!at) {
      findings.push({ check, severity: "critical", message: `backup failure: no successful ${kind}`, threshold: limit });
      return;
    }
    const seconds = Math.round(age(at));
    metrics[metric] = seconds;
    const over = seconds > limit;
    findings.push({
      check,
      severity: over ? "critical" : "info",
      message: over ? `backup failure: the last successful ${kind} finished ${ago(seconds)} (limit ${formatDuration(limit)})` : `${kind} completed ${ago(seconds)}`,
      value: seconds,
      unit: "seconds",
      threshold: limit,
    });
  };
  grade("backup-full", "full backup", b.lastFull, t.fullBackupAge, "FullBackupAgeSeconds");
  grade("backup-any", "backup of any type", lastAny, t.anyBackupAge, "BackupAgeSeconds");
}

function checkFailedLogins(path: string | undefined, t: AlertThresholds, now: Date, findings: HealthFinding[], metrics: HealthMetrics): void {
  if (!path) {
    findings.push({ check: "failed-logins", severity: "info", message: "failed logins not checked: no server log path given, and none learnt from the server" });
    return;
  }
  let result;
  try {
    result = countFailedLogins(path, new Date(now.getTime() - 3600_000));
  } catch (e) {
    findings.push({ check: "failed-logins", severity: "info", message: `failed logins not checked: cannot read the server log ${path} (${(e as NodeJS.ErrnoException).code ?? "error"})` });
    return;
  }
  metrics.FailedLogins = result.count;
  const over = result.count > t.failedLoginsPerHour;
  const users = Object.entries(result.byUser)
    .sort((x, y) => y[1] - x[1])
    .slice(0, 5)
    .map(([u, n]) => `${u} ×${n}`)
    .join(", ");
  const undated = result.undated ? `; ${result.undated} undated lines ignored` : "";
  findings.push({
    check: "failed-logins",
    severity: over ? "warning" : "ok",
    message: `${result.count} failed login${result.count === 1 ? "" : "s"} in the last hour${users ? ` (${users})` : ""}${over ? `, over ${t.failedLoginsPerHour}` : ""}${undated}`,
    value: result.count,
    unit: "count",
    threshold: t.failedLoginsPerHour,
  });
}
