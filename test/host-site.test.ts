// Scenario: `dr` on a site's own host, as its systemd timers run it: as the postgres OS user,
// config from FP_DR_CONFIG with the `host:` section cloud-init writes, no lab anywhere. A real
// PostgreSQL 15 cluster stands in for the host's, reached over its Unix socket with peer
// authentication exactly like Debian's. Proves:
//   - `dr health --json` grades the local cluster (connected, primary, archiving, failed logins
//     from the given server log) without a lab;
//   - `dr backup manifest` (the backup units' ExecStartPre) records the schema and exact row
//     counts in the database, where a restore of the next backup finds them;
//   - `--site` naming another site is refused with a hint.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Client } from "pg";
import { stringify } from "yaml";
import type { DrConfigInput } from "../automation/config/schema";
import { startScratchCluster, type ScratchCluster } from "../automation/postgres/scratch";
import { DR_CLI } from "./harness/cli";
import { tempDir } from "./harness/temp-dir";

let scratch: ScratchCluster;
let configFile: string;
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

/** Runs dr as the cluster's OS user (the units' User=postgres), with only the host's config. */
function drOnHost(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const user = scratch.cluster.spec.user;
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", FP_DR_CONFIG: configFile, FP_DR_LAB_DIR: join(configFile, "..", "no-lab-here") };
  const argv = [process.execPath, DR_CLI, ...args];
  const r = user.switched
    ? spawnSync("runuser", ["-u", user.name, "--", "env", "-i", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv], { encoding: "utf8", timeout: 120_000 })
    : spawnSync(argv[0], argv.slice(1), { env, encoding: "utf8", timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const sql = async (q: string) => (await scratch.cluster.psql(q)).stdout.trim();

before(async () => {
  scratch = await startScratchCluster({ wal_level: "replica" }, "fp-dr-host-");
  letServiceUserReachCheckout();
  await sql("create table public.households (id int primary key, name text); insert into public.households select g, 'h' || g from generate_series(1, 42) g");
  const dir = tempDir("fp-dr-host-config-");
  chmodSync(dir, 0o755);
  configFile = join(dir, "dr.config.yaml");
  const spec = scratch.cluster.spec;
  const config: DrConfigInput = {
    environment: "production",
    engine: "pulumi",
    database: "postgres",
    sites: { primary: { role: "primary", region: "eu-central-1" }, secondary: { role: "secondary", region: "eu-west-1" } },
    host: { site: "primary", socketDir: spec.runDir, port: spec.port, user: spec.user.name, pgbackrestConfig: join(dir, "pgbackrest.conf"), logFile: scratch.cluster.logFile },
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
    assert.equal(r.code, 2);
    assert.match(r.stderr, /error\[SITE_UNKNOWN\]: this host serves site primary, not secondary/);
    assert.match(r.stderr, /hint: /);
  });
});
