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
// the slot the old primary will stream through, and is a no-op when run again. Before that, a
// switchover over both: its demotion token is held in the control document while it is in
// flight (a promotion that fails leaves it there), and a resume from another machine's
// workspace and journal reads it back, finishes, and removes it; the old primary then streams
// from the new one through the slot the promotion created. A switchover back whose old primary
// ran after its clean shutdown is refused at the restart as a standby (STANDBY_UNUSABLE): its
// checkpoint no longer equals the recorded token, so it could only follow after a rebuild.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { chownSync, existsSync, writeFileSync } from "node:fs";
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
import type { HostCommandRunner } from "./access";
import { ControlState, withControlState } from "./control-writes";
import { prepareOwnWorkspace } from "./own-workspace";
import { switchover } from "../../commands/switchover";
import { resume } from "../../commands/recover";
import { DrError } from "../../core/errors";
import { FileSharedStore } from "../../core/file-store";
import { controlKey, type ControlDocument } from "../../../infra/config/control-state";
import { refuseDuringSwitchover } from "../../../infra/config/switchover-guard";

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
  standby.writeSettings({ port: spec.port, listen_addresses: "127.0.0.1", unix_socket_directories: spec.runDir, track_commit_timestamp: true }, "fp-dr.conf");
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

/** `make`'s result, made on the first call. */
function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => (made ??= make());
}

/**
 * The switchover tests' AWS, shared by them in order: the Pulumi backend (an update of a promote
 * command runs it on that site's host, as the real command does), the hosts' commands (SSM Run
 * Command on AWS) on the real clusters, the shared store, and operators' machines with their
 * own workspace and journal.
 */
const switchoverRig = once(async () => {
  const state = join(primary.dir, "switchover-state");
  const shared = join(state, "shared");
  const store = new FileSharedStore(shared);
  const clusters: Record<string, Cluster> = { primary: primary.cluster, secondary: standby };
  const psql = (c: Cluster, sql: string, database = "postgres") =>
    run(pgBin("psql"), ["-h", c.spec.runDir, "-p", String(c.spec.port), "-d", database, "-XAtq", "-v", "ON_ERROR_STOP=1"], { as: c.spec.user, input: sql, timeoutMs: 120_000 });
  const cli = new RecordingPulumiCli(fakeProgram);
  const up = cli.run.bind(cli);
  cli.run = async (args, cwd, env, onOutput) => {
    const r = await up(args, cwd, env, onOutput);
    const promoted = args.map((a) => /^fp-dr: promote (primary|secondary)\b/.exec(a)?.[1]).find(Boolean);
    if (args[0] === "up" && promoted) await psql(clusters[promoted], promoteSql({ waitSeconds: 60, slot: "fp_standby" }));
    return r;
  };
  const hostCommands: HostCommandRunner = async (site, _outputs, argv) => {
    const c = clusters[site];
    const other = clusters[site === "primary" ? "secondary" : "primary"];
    const line = argv.join(" ");
    if (argv[0] === "sh") return { stdout: c.state() === "running" ? "active\n" : "inactive\n" };
    if (line.includes("systemctl stop")) await c.stop("fast");
    else if (line.includes("systemctl start")) await c.start();
    else if (line.endsWith("/pg_controldata /var/lib/postgresql/15/main")) return { stdout: (await run(pgBin("pg_controldata"), ["-D", c.spec.dataDir], { as: c.spec.user, timeoutMs: 30_000 })).stdout };
    else if (line.includes("touch")) writeFileSync(join(c.spec.dataDir, "standby.signal"), "");
    else if (argv[0] === "bash") {
      // The stream script: the passfile and the settings pointing at the new primary. The
      // passfile must be where the server's OS user can read it, as the host's is (postgres's
      // own 0600 file under its data mount): not under `state`, whose first directory an
      // operator's private workspace (0700, root's) creates, where libpq cannot stat it and
      // so connects with no password at all ("fe_sendauth: no password supplied").
      const stream = { primaryHost: "127.0.0.1", port: other.spec.port, role: "fp_replication", password: testSecrets.replicationPassword, slot: "fp_standby", application: site, passfile: join(primary.dir, `${site}-stream.pgpass`) };
      writeFileSync(stream.passfile, `${replicationPassLine(stream)}\n`, { mode: 0o600 });
      if (c.spec.user.switched) chownSync(stream.passfile, c.spec.user.uid, c.spec.user.gid);
      await psql(c, standbyStreamSql(stream));
    }
    return { stdout: "" };
  };
  // The application's password, which the first write through the service name logs in with.
  const app = { "fp-dr:appPassword": { value: testSecrets.appPassword, secret: true } };
  cli.addStack("primary", { ...storedConfigFromStackFile("Pulumi.primary.yaml"), ...app });
  cli.addStack("secondary", { ...storedConfigFromStackFile("Pulumi.secondary.yaml"), ...app });
  /** An operator's machine: its own workspace and journal; the backend, the hosts and the shared store are the same. */
  const machine = async (name: string) => {
    const control = new ControlState(store, "production");
    const ops = withControlState(await openLocalWorkspace({ workDir: prepareOwnWorkspace(repoRoot, join(state, name, "workspace")), pulumiCommand: cli, backendUrl, secretsProvider }), control);
    const engine = new PulumiEngine({
      ops,
      control,
      config: drConfig(),
      access: { open: async (site) => ({ host: "127.0.0.1", port: clusters[site].spec.port }), close: async () => {} },
      resolver: async () => [(cli.stacks.get("secondary")!.config["fp-dr:dns"].objectValue as { activeSite: string }).activeSite === "secondary" ? addresses.secondary : addresses.primary],
      regionProbe: async () => ({ reachable: true, detail: "answered" }),
      hostCommands,
      dnsPollMs: 50,
    });
    const c = config();
    const runConfig = { ...c, pulumi: { ...c.pulumi, journalDir: join(state, name, "journal") }, shared: { ...c.shared, dir: shared } } as DrConfig;
    return { engine, deps: { config: runConfig, out: new Output({ json: true, quiet: true }) } as Deps };
  };
  const controlDoc = async () => JSON.parse((await store.get(controlKey("production")))!.body) as ControlDocument;
  return { psql, cli, machine, controlDoc };
});

/** A switchover on the pulumi engine from `m`'s machine whose step `step` fails (FP_DR_FAULT=fail-in). */
async function switchoverFailingIn(step: string, m: { deps: Parameters<typeof switchover>[0]; engine: Parameters<typeof switchover>[2] }, to: string) {
  process.env.FP_DR_FAULT = `fail-in:${step}`;
  try {
    return await switchover(m.deps, { yes: true, to }, m.engine);
  } finally {
    delete process.env.FP_DR_FAULT;
  }
}

test("dr switchover on AWS: the control document holds the switchover and its demotion token while it is in flight; a resume on another machine reads the token back, finishes, and removes it; the old primary then streams from the new one", async () => {
  const { psql, machine, controlDoc } = await switchoverRig();
  // The application's database and the heartbeat the first write goes to (what infra declares).
  await psql(primary.cluster, `create role fp_app login password '${testSecrets.appPassword}'; create database financial_planning owner fp_app;`);
  await psql(primary.cluster, "create schema fp_dr authorization fp_app; create table fp_dr.heartbeat (at timestamptz, writer text); alter table fp_dr.heartbeat owner to fp_app;", "financial_planning");
  // Machine A: stopped cleanly, token read and replayed; the promotion fails.
  const a = await machine("a");
  const first = await switchoverFailingIn("promote", a, "secondary");
  assert.equal(first.status, "failed");
  assert.deepEqual(first.steps.slice(0, 4).map((s) => [s.id, s.status]), [["pre-check", "done"], ["shutdown", "done"], ["token", "done"], ["promote", "failed"]]);
  const token = (first.facts as { token: { lsn: string; timeline: number } }).token;
  const doc = await controlDoc();
  const { startedAt, ...held } = doc.switchover!;
  assert.deepEqual(held, { runId: first.runId, epoch: first.facts.leaseEpoch, from: "primary", to: "secondary", phase: "token", token });
  assert.ok(Date.parse(startedAt) <= Date.parse(first.steps[1].finishedAt!));
  // Meanwhile an operator's update is refused (the program's rule; infra/control-state.test.ts runs it).
  assert.throws(() => refuseDuringSwitchover(doc, undefined), (e: unknown) => e instanceof DrError && e.code === "SWITCHOVER_IN_FLIGHT" && e.hint!.includes(`dr resume ${first.runId}`));
  // Machine B resumes: the old primary is still stopped at the token the document holds, so it follows without a rebuild.
  const b = await machine("b");
  const done = await resume(b.deps, first.runId, { yes: true }, b.engine);
  assert.equal(done.status, "succeeded", done.error?.message);
  assert.deepEqual(done.steps.map((s) => [s.id, s.status]), [["pre-check", "done"], ["shutdown", "done"], ["token", "done"], ["promote", "done"], ["swap-dns", "done"], ["first-write", "done"], ["demote", "done"], ["report", "done"]]);
  const ended = await controlDoc();
  assert.equal(ended.switchover, null, "removed once the old primary follows");
  assert.equal(ended.updatedBy.runId, first.runId);
  assert.deepEqual(ended.stacks.secondary["dns.activeSite"], "secondary");
  refuseDuringSwitchover(ended, undefined);
  // Restarted as a standby (without a rebuild) that streams from the new primary through the
  // slot the promotion created, on the new timeline.
  const followed = await waitForState(primary.cluster.connection("postgres"), "the old primary streaming from the new one", (r) => r.source === "stream", 30_000, 100);
  assert.equal(followed.role, "standby");
  await withClient(standby.connection("postgres"), async (c) => {
    assert.deepEqual((await c.query("select usename, application_name, state from pg_stat_replication")).rows, [{ usename: "fp_replication", application_name: "primary", state: "streaming" }]);
    assert.deepEqual((await c.query("select slot_name, active from pg_replication_slots")).rows, [{ slot_name: "fp_standby", active: true }]);
  });
});

test("dr resume of a switchover refuses to restart the old primary as a standby once its shutdown checkpoint moved away from the recorded demotion token, and changes nothing", async () => {
  const { cli, machine, controlDoc } = await switchoverRig();
  // Back again (secondary to primary, the pair the previous test left); it stops before the old primary follows.
  const c = await machine("c");
  const first = await switchoverFailingIn("demote", c, "primary");
  assert.equal(first.status, "failed", first.error?.message);
  assert.deepEqual(first.steps.slice(0, 7).map((s) => [s.id, s.status]), [["pre-check", "done"], ["shutdown", "done"], ["token", "done"], ["promote", "done"], ["swap-dns", "done"], ["first-write", "done"], ["demote", "failed"]]);
  const token = (first.facts as { token: { lsn: string; timeline: number } }).token;
  assert.equal((await controlDoc()).switchover?.token?.lsn, token.lsn);
  // Someone starts the old primary once (as a primary: no standby.signal) and stops it: its shutdown checkpoint moves.
  assert.equal(standby.state(), "stopped");
  await standby.start();
  await standby.stop("fast");
  const moved = await run(pgBin("pg_controldata"), ["-D", standby.spec.dataDir], { as: standby.spec.user, timeoutMs: 30_000 });
  assert.doesNotMatch(moved.stdout, new RegExp(`Latest checkpoint location:\\s+${token.lsn}\\n`));
  // Another machine resumes: refused, naming the token, the new checkpoint and `dr reprotect`.
  const before = { doc: await controlDoc(), calls: cli.calls.length };
  const d = await machine("d");
  const refused = await resume(d.deps, first.runId, { yes: true }, d.engine);
  assert.equal(refused.status, "failed");
  assert.equal(refused.error?.code, "STANDBY_UNUSABLE");
  assert.match(refused.error!.message, new RegExp(`^secondary is no longer stopped at the demotion token ${token.lsn} \\(its checkpoint is [0-9A-F]+/[0-9A-F]+ on timeline ${token.timeline}\\): it ran since the switchover stopped it$`));
  assert.match(refused.error!.hint!, /`dr reprotect` rebuilds it as a standby of the new primary/);
  // Nothing changed: the old primary is still stopped, not made a standby; the switchover is still
  // recorded as it was (stack updates still wait for it); no stack was touched.
  assert.equal(standby.state(), "stopped");
  assert.equal(existsSync(join(standby.spec.dataDir, "standby.signal")), false);
  assert.deepEqual(await controlDoc(), before.doc);
  assert.equal(cli.calls.slice(before.calls).filter((x) => x.args[0] === "up" || (x.args[0] === "config" && x.args[1] !== "--show-secrets" && x.args[1] !== "get")).length, 0);
  // The new primary goes on taking writes.
  assert.equal((await readRecoveryState(primary.cluster.connection("postgres"))).role, "primary");
  // The next test runs the promote SQL on this server again (a primary already: a no-op).
  await standby.start();
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
