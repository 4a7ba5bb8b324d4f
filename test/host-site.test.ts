// Scenario: `dr` on a site's own host, as its systemd timers run it: as the postgres OS user,
// config from FP_DR_CONFIG with the `host:` section cloud-init writes, no lab anywhere. A real
// PostgreSQL 15 cluster stands in for the host's, reached over its Unix socket with peer
// authentication exactly like Debian's. Proves:
//   - `dr health --json` grades the local cluster (connected, primary, archiving, failed logins
//     from the given server log) without a lab;
//   - `dr backup manifest` (the backup units' ExecStartPre) records the schema and exact row
//     counts in the database, where a restore of the next backup finds them;
//   - `--site` naming another site is refused with a hint;
//   - every pgBackRest job of the host's job table (infra/cloud-init/systemd.ts), its exact
//     command line and ExecStartPre, gives each repository its own sets (both repositories'
//     timers firing together queue on the lock instead of failing), expire of one repository
//     keeps its retention and leaves the other's sets alone, verify passes, and `dr health`
//     then grades and measures each repository's backup age on its own.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Client } from "pg";
import { stringify } from "yaml";
import { pgbackrestTuning } from "../automation/config/common";
import type { DrConfigInput } from "../automation/config/schema";
import { archiveCommands, renderPgbackrestConf } from "../automation/pgbackrest/config-file";
import { makeServiceDir } from "../automation/system/service-user";
import { jobs, type Job } from "../infra/cloud-init/systemd";
import { sampleHostSpec } from "../infra/testing/sample-host-spec";
import { startScratchCluster, type ScratchCluster } from "../automation/postgres/scratch";
import { DR_CLI } from "./harness/cli";
import { tempDir } from "./harness/temp-dir";

let scratch: ScratchCluster;
let configFile: string;
let pgbackrestConf: string;
/** Directories above the checkout given search permission for the test (mode to put back). */
const opened: [string, number][] = [];

/**
 * On a host dr is installed world-readable; here it runs from the checkout, so the postgres user
 * must be able to reach it. A CI clone under a 0700 directory gets search permission (x, not
 * read) on the directories above it for the duration of this file.
 */
function letServiceUserReachCheckout(): void {
  const user = scratch.cluster.spec.user;
  if (!user.switched) return;
  for (let d = dirname(join(DR_CLI, "..", "..", "..")); d !== dirname(d); d = dirname(d)) {
    const mode = statSync(d).mode & 0o7777;
    if (!(mode & 0o001)) {
      chmodSync(d, mode | 0o001);
      opened.push([d, mode]);
    }
  }
  const r = spawnSync("runuser", ["-u", user.name, "--", "test", "-r", DR_CLI], { encoding: "utf8" });
  assert.equal(r.status, 0, `${user.name} cannot read ${DR_CLI}: the checkout's files must be readable by it (umask 022)`);
}

/** The environment a unit gives its command: the host's dr config; pgBackRest's file is this test's. */
function unitEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", FP_DR_CONFIG: configFile, FP_DR_LAB_DIR: join(configFile, "..", "no-lab-here"), PGBACKREST_CONFIG: pgbackrestConf };
}

/** argv as the cluster's OS user (the units' User=postgres), with an empty environment but `env`. */
function asServiceUser(argv: string[], env: Record<string, string>): [string, string[]] {
  const user = scratch.cluster.spec.user;
  return user.switched ? ["runuser", ["-u", user.name, "--", "env", "-i", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv]] : [argv[0], argv.slice(1)];
}

/** Runs dr as the cluster's OS user, with only the host's config. */
function drOnHost(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const [cmd, argv] = asServiceUser([process.execPath, DR_CLI, ...args], unitEnv());
  const r = spawnSync(cmd, argv, { env: unitEnv(), encoding: "utf8", timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * A unit's command line as systemd runs it: words split on blanks, double quotes grouping, a
 * leading "-" only marks failure as ignored. `dr` is the checkout's (installed as
 * /usr/local/bin/dr on a host); everything else (flock, pgbackrest) is the real program.
 */
function unitArgv(line: string): string[] {
  const words = [...line.replace(/^-/, "").matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
  return words[0] === "/usr/local/bin/dr" ? [process.execPath, DR_CLI, ...words.slice(1)] : words;
}

/** Runs a job's ExecStartPre lines then its ExecStart lines, as the unit would; resolves with the last result. */
function runJob(job: Job): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const once = (line: string) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const [cmd, argv] = asServiceUser(unitArgv(line), unitEnv());
      const child = spawn(cmd, argv, { env: unitEnv() });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
  return (async () => {
    for (const line of job.pre ?? []) {
      const r = await once(line);
      assert.ok(r.code === 0 || line.startsWith("-"), `${job.id}: ${line}: ${r.stderr}`);
    }
    let last = { code: 0 as number | null, stdout: "", stderr: "" };
    for (const line of job.exec) {
      last = await once(line);
      if (last.code !== 0) break;
    }
    return last;
  })();
}

const sql = async (q: string) => (await scratch.cluster.psql(q)).stdout.trim();

before(async () => {
  const dir = tempDir("fp-dr-host-config-");
  chmodSync(dir, 0o755);
  configFile = join(dir, "dr.config.yaml");
  pgbackrestConf = join(dir, "pgbackrest.conf");
  // WAL goes to both repositories through pgBackRest, as on a host (archive_command of the conf).
  scratch = await startScratchCluster({ wal_level: "replica", archive_mode: "on", archive_command: archiveCommands(pgbackrestConf, "fp").archive_command }, "fp-dr-host-");
  letServiceUserReachCheckout();
  await sql("create table public.households (id int primary key, name text); insert into public.households select g, 'h' || g from generate_series(1, 42) g");
  const spec = scratch.cluster.spec;
  // The host's pgbackrest.conf with its two repositories as local directories, retention 2 fulls, expire-auto off.
  for (const d of ["repo1", "repo2", "log", "lock", "spool"]) makeServiceDir(join(dir, d), spec.user, 0o750);
  writeFileSync(
    pgbackrestConf,
    renderPgbackrestConf({
      stanza: "fp",
      pgPath: spec.dataDir,
      pgPort: spec.port,
      pgSocketPath: spec.runDir,
      repos: ([1, 2] as const).map((index) => ({ index, type: "posix" as const, path: join(dir, `repo${index}`), retentionFull: 2 })),
      logPath: join(dir, "log"),
      lockPath: join(dir, "lock"),
      spoolPath: join(dir, "spool"),
      tuning: pgbackrestTuning.parse({ archiveAsync: false }),
      expireAuto: false,
    }),
    { mode: 0o640 },
  );
  if (spec.user.switched) chownSync(pgbackrestConf, spec.user.uid, spec.user.gid);
  // The bootstrap creates the stanza on the primary before it enables the timers.
  const created = spawnSync(...asServiceUser(["/usr/bin/pgbackrest", "--stanza=fp", "stanza-create"], unitEnv()), { encoding: "utf8" });
  assert.equal(created.status, 0, created.stderr);
  const config: DrConfigInput = {
    environment: "production",
    engine: "pulumi",
    database: "postgres",
    sites: { primary: { role: "primary", region: "eu-central-1" }, secondary: { role: "secondary", region: "eu-west-1" } },
    host: { site: "primary", socketDir: spec.runDir, port: spec.port, user: spec.user.name, pgbackrestConfig: pgbackrestConf, logFile: scratch.cluster.logFile },
  };
  writeFileSync(configFile, stringify(config), { mode: 0o644 });
  // One failed login, for the health check to find in the server log.
  const intruder = new Client({ ...scratch.connection(), password: "wrong" });
  intruder.on("error", () => undefined);
  await assert.rejects(intruder.connect(), /password authentication failed/);
});

after(async () => {
  for (const [d, mode] of opened) chmodSync(d, mode);
  await scratch?.destroy();
});

describe("dr on a site's own host", () => {
  test("health: the local cluster over its socket, no lab", () => {
    const r = drOnHost(["health", "--json"]);
    assert.ok([0, 1, 2].includes(r.code ?? -1), r.stderr);
    const report = JSON.parse(r.stdout) as { site: string; metrics: Record<string, number>; findings: { check: string; severity: string; message: string }[] };
    assert.equal(report.site, "primary");
    assert.equal(report.metrics.DatabaseUp, 1, JSON.stringify(report.findings));
    const connectivity = report.findings.find((f) => f.check === "connectivity")!;
    assert.equal(connectivity.severity, "ok");
    assert.match(connectivity.message, new RegExp(scratch.cluster.spec.runDir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
    const find = (check: string) => report.findings.find((f) => f.check === check)!;
    assert.match(find("role").message, /^primary \(accepting writes\)/);
    assert.match(find("failed-logins").message, /^1 failed logins? in the last hour/, "the server log given in the config was read");
    assert.equal(find("backup-full").severity, "critical", "no pgBackRest backup here: graded, not crashed");
    assert.doesNotMatch(r.stdout + r.stderr, /LAB_NOT_UP|no lab/);
  });

  test("backup manifest: recorded in the database, where a restore of the next backup finds it", async () => {
    const r = drOnHost(["backup", "manifest", "--reason", "before the scheduled full backup", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const m = JSON.parse(r.stdout) as { site: string; label: string; tables: number; rows: number };
    assert.equal(m.site, "primary");
    assert.equal(m.label, "before the scheduled full backup");
    assert.equal(m.rows, 42);
    const row = await sql("select label || ' ' || (table_rows->>'public.households') from fp_dr.backup_manifest order by id desc limit 1");
    assert.equal(row, "before the scheduled full backup 42");
  });

  test("another site's name is refused with a hint", () => {
    const r = drOnHost(["health", "--site", "secondary"]);
    assert.equal(r.code, 64);
    assert.match(r.stderr, /error\[SITE_UNKNOWN\]: this host serves site primary, not secondary/);
    assert.match(r.stderr, /hint: /);
  });

  test("the job table's pgBackRest jobs, run as their units run them: each repository its own sets, expire keeps retention", async () => {
    const table = new Map(jobs(sampleHostSpec({ stanza: "fp" })).map((j) => [j.id, j]));
    const job = (id: string) => table.get(id) ?? assert.fail(`no job ${id} in the table`);
    const info = () => {
      const r = spawnSync(...asServiceUser(["/usr/bin/pgbackrest", "--stanza=fp", "--output=json", "info"], unitEnv()), { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      const sets = (JSON.parse(r.stdout) as { backup: { label: string; type: string; database: { "repo-key": number } }[] }[])[0].backup;
      return (repo: number, type?: string) => sets.filter((b) => b.database["repo-key"] === repo && (!type || b.type === type)).map((b) => b.label);
    };
    const ok = (id: string, r: { code: number | null; stderr: string }) => assert.equal(r.code, 0, `${id}: ${r.stderr}`);

    // Both repositories' nightly fulls fire together: they queue on the lock, neither fails.
    const [full1, full2] = await Promise.all([runJob(job("backup-full-repo1")), runJob(job("backup-full-repo2"))]);
    ok("backup-full-repo1", full1);
    ok("backup-full-repo2", full2);
    let sets = info();
    assert.equal(sets(1, "full").length, 1, "repo1 got its own full");
    assert.equal(sets(2, "full").length, 1, "repo2 got its own full (without --repo it would get none)");
    await sql("insert into public.households select g, 'h' || g from generate_series(43, 60) g");
    for (const id of ["backup-incr-repo1", "backup-incr-repo2"]) ok(id, await runJob(job(id)));
    sets = info();
    assert.deepEqual([sets(1, "incr").length, sets(2, "incr").length], [1, 1], "an incremental in each repository");
    // Two more fulls in repo1 only: three fulls there, over its retention of two.
    for (let i = 0; i < 2; i++) ok("backup-full-repo1", await runJob(job("backup-full-repo1")));
    const before = info();
    assert.equal(before(1, "full").length, 3);

    ok("expire-repo1", await runJob(job("expire-repo1")));
    const afterExpire = info();
    assert.deepEqual(afterExpire(1, "full"), before(1, "full").slice(1), "repo1 keeps its two newest fulls");
    assert.ok(!afterExpire(1).includes(before(1, "incr")[0]), "the expired full's incremental went with it");
    assert.deepEqual(afterExpire(2), before(2), "expire of repo1 leaves repo2's sets alone");
    ok("expire-repo2", await runJob(job("expire-repo2")));
    assert.deepEqual(info()(2), before(2), "repo2 is within its retention: nothing expired");

    ok("verify-repo1", await runJob(job("verify-repo1")));

    // The health timer's grading: each repository's backup age on its own.
    const r = drOnHost(["health", "--json"]);
    const report = JSON.parse(r.stdout) as { metrics: Record<string, number>; findings: { check: string; severity: string }[] };
    for (const repo of [1, 2]) {
      assert.equal(report.findings.find((f) => f.check === `backup-repo${repo}`)?.severity, "info", JSON.stringify(report.findings));
      assert.ok(report.metrics[`Repo${repo}BackupAgeSeconds`] >= 0 && report.metrics[`Repo${repo}BackupAgeSeconds`] < 600);
    }
  });
});
