// `dr status` on the pulumi engine, through the recording Pulumi CLI double and real PostgreSQL:
// a primary and a standby streaming from it (pg_basebackup, TLS, the stack's admin role) stand
// in for the two AWS hosts, reached through the engine's access path. The standby is pointed at
// the primary by the infra's own stream SQL (standbyStreamSql: primary_conninfo with a 0600
// passfile, the replication role with its own password, scram, the slot), applied with a
// reload, and must then stream through the slot. Proves: the roles, the
// standby's source and lag come from the recovery-state query on each site; the repositories
// that cannot be read from here are reported unreachable (a warning, not a guess); a service
// name answering the standby and a standby that is gone are critical. Then the promote SQL the
// host's promote command runs (infra/host-commands.ts) promotes the real standby and creates
// the slot the old primary will stream through, and is a no-op when run again.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { chownSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promoteSql, replicationPassLine, standbyStreamSql } from "../../../infra/host-commands";
import { reprotect } from "../../commands/reprotect";
import { status, statusExitCode } from "../../commands/status";
import { Output } from "../../core/output";
import type { Deps } from "../../commands/deps";
import type { DrConfig } from "../../config/schema";
import { Cluster } from "../../postgres/cluster";
import { withClient } from "../../postgres/client";
import { readRecoveryState, waitForState } from "../../postgres/recovery-state";
import { freePort, startScratchCluster, type ScratchCluster } from "../../postgres/scratch";
import { pgBin, run } from "../../system/exec";
import type { SiteAccess } from "./access";
import { RecordingPulumiCli } from "./cli-double";
import { addresses, backendUrl, drConfig, fakeProgram, repoRoot, secretsProvider, storedConfigFromStackFile, testSecrets } from "./contract-fixtures";
import { PulumiEngine } from "./engine";
import { openLocalWorkspace } from "./local-workspace";

let primary: ScratchCluster;
let standby: Cluster;

/** TLS for a scratch cluster (the engine connects with sslmode require, as to the AWS hosts). */
async function withTls(c: Cluster): Promise<void> {
  const dir = c.spec.dataDir;
  await run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", join(dir, "server.key"), "-out", join(dir, "server.crt")], { timeoutMs: 60_000 });
  for (const f of ["server.key", "server.crt"]) if (c.spec.user.switched) chownSync(join(dir, f), c.spec.user.uid, c.spec.user.gid);
}

before(async () => {
  primary = await startScratchCluster({ track_commit_timestamp: true }, "fp-dr-status-aws-");
  await withTls(primary.cluster);
  primary.cluster.writeSettings({ ssl: true, ssl_cert_file: "server.crt", ssl_key_file: "server.key" }, "fp-dr-tls.conf");
  await withClient(primary.connection(), async (c) => {
    await c.query("select pg_reload_conf()");
    // The stack's admin role (the automation connects as it on AWS).
    await c.query(`create role fp_admin login superuser password '${testSecrets.adminPassword}'`);
    // What infra declares on the primary: the replication role (its own secret) and the slot.
    await c.query(`create role fp_replication login replication password '${testSecrets.replicationPassword}'`);
    await c.query("select pg_create_physical_replication_slot('fp_standby')");
  });
  // The standby: a base backup streamed from the primary, then streaming from it.
  const spec = { ...primary.cluster.spec, dataDir: join(primary.dir, "standby"), runDir: join(primary.dir, "run"), port: await freePort() };
  standby = new Cluster(spec);
  await run(pgBin("pg_basebackup"), ["-h", "127.0.0.1", "-p", String(primary.cluster.spec.port), "-U", spec.user.name, "-D", spec.dataDir, "-X", "stream", "--checkpoint=fast"], {
    as: spec.user,
    env: { PGPASSWORD: primary.password },
    timeoutMs: 120_000,
  });
  standby.writeSettings({ port: spec.port, listen_addresses: "127.0.0.1", unix_socket_directories: spec.runDir }, "fp-dr.conf");
  const own = (path: string, content: string) => {
    writeFileSync(path, content, { mode: 0o600 });
    if (spec.user.switched) chownSync(path, spec.user.uid, spec.user.gid);
  };
  own(join(spec.dataDir, "standby.signal"), "");
  await standby.start();
  // The stream, as the host's stream command sets it up (the passfile, then the settings, reloaded).
  const stream = { primaryHost: "127.0.0.1", port: primary.cluster.spec.port, role: "fp_replication", password: testSecrets.replicationPassword, slot: "fp_standby", application: "secondary", passfile: join(primary.dir, "replication.pgpass") };
  own(stream.passfile, `${replicationPassLine(stream)}\n`);
  await run(pgBin("psql"), ["-h", spec.runDir, "-p", String(spec.port), "-d", "postgres", "-XAtq", "-v", "ON_ERROR_STOP=1"], { as: spec.user, input: standbyStreamSql(stream), timeoutMs: 60_000 });
  await waitForState(standby.connection("postgres"), "the standby streaming", (r) => r.source === "stream", 60_000, 100);
});

after(async () => {
  await standby?.stop("immediate").catch(() => undefined);
  await primary?.destroy();
});

async function engineWith(opts: { answer: string; cli?: RecordingPulumiCli }): Promise<PulumiEngine> {
  const cli = opts.cli ?? new RecordingPulumiCli(fakeProgram);
  cli.addStack("primary", storedConfigFromStackFile("Pulumi.primary.yaml"));
  cli.addStack("secondary", storedConfigFromStackFile("Pulumi.secondary.yaml"));
  // The access path (SSM port forwards on AWS) leads to the real clusters here.
  const access: SiteAccess = {
    async open(site) {
      return { host: "127.0.0.1", port: site === "primary" ? primary.cluster.spec.port : standby.spec.port };
    },
    async close() {},
  };
  return new PulumiEngine({
    ops: await openLocalWorkspace({ workDir: repoRoot, pulumiCommand: cli, backendUrl, secretsProvider }),
    config: drConfig(),
    access,
    resolver: async () => [opts.answer],
    regionProbe: async () => ({ reachable: true, detail: "answered" }),
  });
}

const config = (): DrConfig => {
  const c = drConfig();
  return { ...c, standby: { ...c.standby, enabled: true }, reports: { ...c.reports, dir: join(primary.dir, "reports") } } as DrConfig;
};
const deps = (): Deps => ({ config: config() }) as unknown as Deps;

test("the infra's stream SQL makes the standby stream through the slot as the replication role", async () => {
  await withClient(primary.connection(), async (c) => {
    const r = await c.query("select usename, application_name, state from pg_stat_replication");
    assert.deepEqual(r.rows, [{ usename: "fp_replication", application_name: "secondary", state: "streaming" }]);
    assert.deepEqual((await c.query("select slot_name, active from pg_replication_slots")).rows, [{ slot_name: "fp_standby", active: true }]);
  });
  assert.equal((await readRecoveryState(standby.connection("postgres"))).source, "stream");
});

test("status on AWS: roles and the standby's stream from each site through the access path; unreadable repositories are a warning", async () => {
  await withClient(primary.connection(), (c) => c.query("create table t(x int); insert into t values (1)"));
  const s = await status(deps(), await engineWith({ answer: addresses.primary }));
  assert.equal(s.sites[0].error, undefined);
  assert.deepEqual(s.sites.map((x) => [x.site, x.recorded, x.role, x.address]), [["primary", "primary", "primary", addresses.primary], ["secondary", "standby", "standby", addresses.secondary]]);
  assert.equal(s.sites[1].standby?.source, "stream");
  assert.ok(s.sites[1].standby!.lagBytes! >= 0 && s.sites[1].standby!.lagBytes! < 16 * 1024 * 1024, `lag ${s.sites[1].standby?.lagBytes}`);
  assert.deepEqual(s.service, { name: "db.fp.internal", answer: addresses.primary, site: "primary" });
  assert.deepEqual(s.repos.map((r) => [r.repo, r.reachable]), [[1, false], [2, false]]);
  assert.match(s.repos[0].error!, /needs pgBackRest access to the S3 repositories from this machine/);
  assert.equal(s.verdict, "warning", JSON.stringify(s.findings));
  assert.equal(statusExitCode(s), 1);
});

test("status on AWS: the service name on the standby is critical; so is a standby that is gone", async () => {
  const onStandby = await status(deps(), await engineWith({ answer: addresses.secondary }));
  assert.ok(onStandby.findings.some((f) => f.severity === "critical" && f.message === "the service name answers secondary, not the primary primary"), JSON.stringify(onStandby.findings));
  assert.equal(statusExitCode(onStandby), 2);
  await standby.stop("fast");
  try {
    const gone = await status(deps(), await engineWith({ answer: addresses.primary }));
    assert.equal(gone.sites[1].role, "unknown");
    assert.ok(gone.findings.some((f) => f.severity === "critical" && f.message.startsWith("no usable standby: secondary is unknown")), JSON.stringify(gone.findings));
    assert.equal(statusExitCode(gone), 2);
  } finally {
    await standby.start();
  }
});

test("dr reprotect on AWS: the plan reads both sites through the access path, asks the old primary's stack for a standby, and finishes once the site follows as a standby", async () => {
  const cli = new RecordingPulumiCli(fakeProgram);
  const state = join(primary.dir, "reprotect-state");
  const c = config();
  const runConfig = { ...c, pulumi: { ...c.pulumi, journalDir: join(state, "journal") }, shared: { ...c.shared, dir: join(state, "shared") } } as DrConfig;
  const run = await reprotect({ config: runConfig, out: new Output({ json: true, quiet: true }) }, { yes: true }, await engineWith({ answer: addresses.primary, cli }));
  assert.equal(run.status, "succeeded", run.error?.message);
  assert.deepEqual(run.steps.map((s) => [s.id, s.status]), [["pre-check", "done"], ["stop", "done"], ["rebuild", "done"], ["follow", "done"], ["report", "done"]]);
  assert.match(run.steps[0].detail!, /^primary primary on timeline 1 at [0-9A-F]+\/[0-9A-F]+; secondary running$/);
  assert.match(run.steps[2].detail!, /^secondary is a standby of primary \(10\.\d+\.\d+\.\d+, slot fp_standby\) from its host's repo\d, replayed to [0-9A-F]+\/[0-9A-F]+ \(request reprotect-/);
  assert.match(run.steps[3].detail!, /^secondary is a standby of primary via stream, timeline 1; fence lifted/);
  // The secondary's stack got the standby request (its fence removed in the same update), and one targeted up.
  const calls = cli.calls.map((x) => x.args);
  assert.ok(calls.some((a) => a[0] === "config" && a[1] === "rm-all" && a.includes("secondary") && a.includes("fp-dr:fence")), JSON.stringify(calls));
  const up = calls.filter((a) => a[0] === "up");
  assert.equal(up.length, 1);
  assert.ok(up[0].includes("--target") && up[0].includes("secondary"), JSON.stringify(up[0]));
  assert.equal((cli.stacks.get("secondary")!.config["fp-dr:restore"].objectValue as { mode: string }).mode, "standby");
});

test("dr reprotect on AWS refuses a site that answers as a writable primary, and changes nothing", async () => {
  const cli = new RecordingPulumiCli(fakeProgram);
  const state = join(primary.dir, "reprotect-refused");
  const c = config();
  const runConfig = { ...c, pulumi: { ...c.pulumi, journalDir: join(state, "journal") }, shared: { ...c.shared, dir: join(state, "shared") } } as DrConfig;
  // The access path leads both sites to the primary: the site to reprotect answers writable.
  const engine = await engineWith({ answer: addresses.primary, cli });
  const writableEverywhere = Object.assign(Object.create(Object.getPrototypeOf(engine)), engine, { endpoint: async (site: string) => ({ ...(await engine.endpoint("primary")), site }), probe: async (site: string) => ({ ...(await engine.probe("primary")), site }) });
  const run = await reprotect({ config: runConfig, out: new Output({ json: true, quiet: true }) }, { yes: true }, writableEverywhere);
  assert.equal(run.status, "failed");
  assert.equal(run.error?.code, "SITE_WRITABLE");
  assert.equal(cli.calls.filter((x) => x.args[0] === "up" || (x.args[0] === "config" && x.args[1] !== "--show-secrets")).length, 0, "no stack was changed");
});

test("the host's promote SQL promotes the real standby, creates the slot for the other site, and is a no-op the second time", async () => {
  const psql = (sql: string) =>
    run(pgBin("psql"), ["-h", standby.spec.runDir, "-p", String(standby.spec.port), "-d", "postgres", "-XAtq", "-v", "ON_ERROR_STOP=1"], { as: standby.spec.user, input: sql, timeoutMs: 120_000 });
  const first = await psql(promoteSql({ waitSeconds: 60, slot: "fp_standby" }));
  assert.match(first.stdout, /primary on timeline 2/);
  await withClient(standby.connection("postgres"), async (c) => {
    assert.equal((await c.query("select pg_is_in_recovery() r")).rows[0].r, false);
    assert.deepEqual((await c.query("select slot_name, slot_type from pg_replication_slots")).rows, [{ slot_name: "fp_standby", slot_type: "physical" }]);
  });
  const again = await psql(promoteSql({ waitSeconds: 60, slot: "fp_standby" }));
  assert.match(again.stdout, /primary on timeline 2/);
});
