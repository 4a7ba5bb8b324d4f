// A PostgreSQL 15 cluster on this machine: a data directory plus the server process that runs
// it, always as the service user. Used by the lab (sites, drill and scratch clusters), by tests
// and by the benchmark. Waits poll the real signal (pg_ctl's own wait, pg_isready) with a bound.
import { appendFileSync, chownSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DrError } from "../core/errors";
import { pgBin, run, type RunResult } from "../system/exec";
import { quoteLiteral } from "./client";
import { clearStalePidFile, inspectPidFile } from "./pid-file";
import { makeServiceDir, type ServiceUser } from "../system/service-user";

export interface ClusterSpec {
  /** Data directory (PGDATA). */
  dataDir: string;
  /** Address the server listens on (a loopback address in the lab). */
  host: string;
  port: number;
  /** Directory for the Unix socket and the server log. */
  runDir: string;
  user: ServiceUser;
  /** Password of the superuser role (named after the service user) for TCP connections. */
  password?: string;
}

export type ClusterState = "absent" | "empty" | "stopped" | "running";

export class Cluster {
  constructor(readonly spec: ClusterSpec) {}

  get logFile(): string {
    return join(this.spec.runDir, "postgresql.log");
  }

  /** Connection settings for node-postgres as the service user's superuser role. */
  connection(database = "postgres"): { host: string; port: number; user: string; database: string; password?: string } {
    return { host: this.spec.host, port: this.spec.port, user: this.spec.user.name, database, password: this.spec.password };
  }

  /** absent: no directory; empty: directory without PG_VERSION; stopped/running: a cluster. */
  state(): ClusterState {
    const { dataDir } = this.spec;
    if (!existsSync(dataDir)) return "absent";
    if (!existsSync(join(dataDir, "PG_VERSION"))) return readdirSync(dataDir).length === 0 ? "empty" : "stopped";
    return this.postmasterPid() !== undefined ? "running" : "stopped";
  }

  /** The postmaster's pid when postmaster.pid names a live postmaster of this directory (pid-file.ts). */
  postmasterPid(): number | undefined {
    const pidFile = inspectPidFile(this.spec.dataDir);
    return pidFile.kind === "live" ? pidFile.pid : undefined;
  }

  /** Removes a stale postmaster.pid (returns why it was stale); CLUSTER_RUNNING if the server lives. */
  clearStalePidFile(): Promise<string | undefined> {
    return clearStalePidFile(this.spec.dataDir);
  }

  /**
   * initdb with data checksums (so corruption is detectable). Sockets answer the service user
   * by peer (pgBackRest uses that); TCP, loopback only, wants a scram password from everyone.
   */
  async init(settings: Record<string, string | number | boolean> = {}): Promise<void> {
    const { dataDir, user, password } = this.spec;
    makeServiceDir(this.spec.runDir, user, 0o755);
    makeServiceDir(dataDir, user);
    const pwFile = join(this.spec.runDir, ".initdb-pw");
    if (password) {
      writeFileSync(pwFile, password + "\n", { mode: 0o600 });
      if (user.switched) chownSync(pwFile, user.uid, user.gid);
    }
    try {
      await run(
        pgBin("initdb"),
        ["-D", dataDir, "--data-checksums", "--encoding=UTF8", "--locale=C.UTF-8", "--auth-local=peer", "--auth-host=scram-sha-256", "-U", user.name, ...(password ? [`--pwfile=${pwFile}`] : [])],
        { as: user, errorCode: "CLUSTER_START_FAILED", hint: "check that PostgreSQL 15 is installed and the data directory is writable" },
      );
    } finally {
      rmSync(pwFile, { force: true });
    }
    writeFileSync(
      join(dataDir, "pg_hba.conf"),
      [
        "# written by fp-dr: peer on the socket, scram on loopback, nothing else",
        "local   all          all                  peer",
        "host    all          all   127.0.0.0/8    scram-sha-256",
        "host    replication  all   127.0.0.0/8    scram-sha-256",
        "",
      ].join("\n"),
    );
    this.writeSettings({
      listen_addresses: this.spec.host,
      port: this.spec.port,
      unix_socket_directories: this.spec.runDir,
      logging_collector: false,
      log_connections: true,
      log_line_prefix: "%m [%p] %q%u@%d ",
      password_encryption: "scram-sha-256",
      ...settings,
    });
  }

  /** Writes settings into postgresql.auto.conf-like include file owned by fp-dr. */
  writeSettings(settings: Record<string, string | number | boolean>, file = "fp-dr.conf"): void {
    const path = join(this.spec.dataDir, file);
    const lines = Object.entries(settings).map(([k, v]) => `${k} = ${formatSetting(v)}`);
    writeFileSync(path, `# written by fp-dr; edits are overwritten\n${lines.join("\n")}\n`, { mode: 0o600 });
    if (this.spec.user.switched) chownSync(path, this.spec.user.uid, this.spec.user.gid);
    const conf = join(this.spec.dataDir, "postgresql.conf");
    const include = `include_if_exists = '${file}'`;
    if (!readFileSync(conf, "utf8").includes(include)) appendFileSync(conf, `\n${include}\n`);
  }

  async start(timeoutSeconds = 120): Promise<void> {
    if (this.state() === "running") return;
    // A stale pid file naming another live process would make the server refuse to start.
    await this.clearStalePidFile();
    await this.pgCtl(["start", "-w", "-t", String(timeoutSeconds), "-l", this.logFile], "CLUSTER_START_FAILED", timeoutSeconds);
  }

  /** Stops the server; `immediate` is the crash-like stop used for fencing and fault tests. */
  async stop(mode: "fast" | "immediate" | "smart" = "fast", timeoutSeconds = 120): Promise<void> {
    if (this.state() !== "running") return;
    await this.pgCtl(["stop", "-w", "-t", String(timeoutSeconds), "-m", mode], "CLUSTER_STOP_FAILED", timeoutSeconds);
  }

  async promote(timeoutSeconds = 120): Promise<void> {
    await this.pgCtl(["promote", "-w", "-t", String(timeoutSeconds)], "CLUSTER_START_FAILED", timeoutSeconds);
  }

  /** Runs SQL through psql on the Unix socket as the service user (for setup steps only). */
  async psql(sql: string, database = "postgres"): Promise<RunResult> {
    return run(pgBin("psql"), ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", this.spec.runDir, "-p", String(this.spec.port), "-d", database, "-At"], {
      as: this.spec.user,
      input: sql,
      errorCode: "QUERY_FAILED",
    });
  }

  /** The tail of the server log, for error messages (it never holds secrets: we log no statements). */
  logTail(lines = 20): string {
    if (!existsSync(this.logFile)) return "";
    return readFileSync(this.logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  }

  private async pgCtl(args: string[], code: "CLUSTER_START_FAILED" | "CLUSTER_STOP_FAILED", timeoutSeconds: number): Promise<void> {
    try {
      await run(pgBin("pg_ctl"), ["-D", this.spec.dataDir, ...args], { as: this.spec.user, timeoutMs: (timeoutSeconds + 10) * 1000, errorCode: code });
    } catch (e) {
      const tail = this.logTail(5);
      throw new DrError(code, `pg_ctl ${args[0]} failed for ${this.spec.dataDir}: ${(e as Error).message}${tail ? `\n${tail}` : ""}`, {
        hint: `read the server log ${this.logFile}`,
        cause: e,
      });
    }
  }
}

function formatSetting(v: string | number | boolean): string {
  if (typeof v === "boolean") return v ? "on" : "off";
  if (typeof v === "number") return String(v);
  return quoteLiteral(v);
}
