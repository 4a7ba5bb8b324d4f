// Scenario: the warm standby's whole lifecycle on one shared lab, under the write load:
//   - failover by promotion after kill -9 of the primary's postmaster, then `dr reprotect`
//     (pg_rewind), then a switchover back: the original topology returns, no acknowledged commit
//     is lost in the switchover and at most the RPO in the failover;
//   - the same cycle with pg_rewind made impossible: reprotect falls back to a delta restore;
//   - kill -9 after every step of reprotect and of switchover, then `dr resume`: it finishes
//     without running a finished step again (one lab: the roles alternate between the kills);
//   - `dr lab up` after a failover and after a reprotect starts the sites the recorded topology
//     says (the new primary, its standby; a fenced site stays stopped);
//   - incident credential rotation rotates the replication role and the standby's passfile: the
//     stream comes back with the new secret;
//   - a switchover resumed after someone ran its stopped primary again refuses to promote;
//   - reprotect refuses an unfenced site that still accepts writes, changing nothing (last: it
//     leaves a second timeline in the shared archive).
import assert from "node:assert/strict";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { failover } from "../automation/commands/recover";
import { reprotect } from "../automation/commands/reprotect";
import { status } from "../automation/commands/status";
import { switchover } from "../automation/commands/switchover";
import { missingAcks, readAcks, startLoad, stopLoad } from "../automation/engines/local/load";
import { FENCE_MARKER } from "../automation/engines/local/markers";
import type { RunRecord } from "../automation/core/run-record";
import { drAsync } from "./harness/cli";
import { startTestLab, type TestLab } from "./harness/lab";
import { bringUpLab } from "../automation/engines/local/lab-up";
import { rotateLabDatabaseCredentials } from "../automation/engines/local/incident/lab-rotate";
import { REPLICATION_ROLE, standbyState } from "../automation/engines/local/standby";

let t: TestLab;
const settings = { standby: { enabled: true, streaming: true, maxLag: "30s", warnLag: "30s", catchUpTimeout: "60s" } };
before(async () => {
  t = await startTestLab(settings);
  configFile = join(t.dir, "dr.config.yaml");
  writeFileSync(configFile, JSON.stringify({ ...settings, lab: { dir: t.dir, scale: 0.05 } }));
});
after(async () => {
  await stopLoad(t.lab).catch(() => undefined);
  await t?.destroy();
});

let configFile: string;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const roles = async () => (await status(t.deps())).sites.map((s) => [s.site, s.role, s.standby?.source]);

/** kill -9 of the primary, failover by promotion, (optionally break pg_rewind), reprotect, switchover back, all under the load. */
async function cycle(breakRewind: boolean): Promise<{ method: string; lostInFailover: number; rpo: number; rto: number; downtimeMs: number }> {
  await startLoad(t.lab, { fresh: true });
  await sleep(1500);
  const outageAt = new Date().toISOString();
  process.kill(t.lab.site("primary").cluster.postmasterPid()!, "SIGKILL");
  const fo = await failover(t.deps(), { scenario: "datacenter", yes: true, outageAt });
  assert.equal(fo.status, "succeeded", `${fo.error?.message}\n${t.captured.join("")}`);
  assert.equal(fo.facts.path, "promote");
  await sleep(1000);
  assert.deepEqual(await roles(), [["secondary", "primary", undefined], ["primary", "fenced", undefined]]);

  if (breakRewind) {
    // The old primary's WAL is gone: neither its crash recovery nor pg_rewind's comparison can run.
    const wal = join(t.lab.layout.dataDir("primary"), "pg_wal");
    for (const f of readdirSync(wal)) if (/^[0-9A-F]{24}$/.test(f)) rmSync(join(wal, f));
  }
  const rp = await reprotect(t.deps(), { yes: true });
  assert.equal(rp.status, "succeeded", `${rp.error?.message}\n${t.captured.join("")}`);
  const method = (rp.facts as { rebuilt: { method: string } }).rebuilt.method;
  assert.equal(method, breakRewind ? "delta-restore" : "pg_rewind");
  assert.ok(!existsSync(join(t.lab.layout.dataDir("primary"), FENCE_MARKER)), "the fence went once it became a standby");
  assert.deepEqual(await roles(), [["secondary", "primary", undefined], ["primary", "standby", "stream"]]);

  await sleep(1500);
  const so = await switchover(t.deps(), { to: "primary", yes: true });
  assert.equal(so.status, "succeeded", `${so.error?.message}\n${t.captured.join("")}`);
  await sleep(1000);
  await stopLoad(t.lab);
  const lab = t.lab;
  assert.deepEqual(await roles(), [["primary", "primary", undefined], ["secondary", "standby", "stream"]], "the original topology is back");
  assert.equal(await lab.activeSite(), "primary", "the service name on primary");

  const acks = readAcks(lab);
  const lost = await missingAcks(lab, "primary", acks);
  const rpo = fo.measurements.rpo.achieved ?? 0;
  // Lost in the failover: only commits acknowledged within the RPO before the outage (the
  // primary's last WAL that never left it). Lost in the switchover: none.
  const shutdownAt = Date.parse(so.facts.shutdownAt as string);
  for (const a of lost) assert.ok(a.at.getTime() >= Date.parse(outageAt) - rpo * 1000 - 200 && a.at.getTime() <= Date.parse(outageAt) + 200, `lost outside the failover's RPO: ${JSON.stringify(a)}`);
  assert.ok(acks.some((a) => a.at.getTime() > shutdownAt), "the load wrote on primary after the switchover back");
  const cut = acks.filter((a) => a.at.getTime() <= shutdownAt).pop()!;
  const downtimeMs = acks.find((a) => a.at.getTime() > shutdownAt)!.at.getTime() - cut.at.getTime();
  return { method, lostInFailover: lost.length, rpo, rto: fo.measurements.rto.achieved ?? NaN, downtimeMs };
}

/** Runs `dr <args>` killed by SIGKILL right after `step`, then `dr resume`; returns the resumed run. */
async function killAfterAndResume(args: string[], scenario: string, step: string): Promise<RunRecord> {
  const env = { FP_DR_CONFIG: configFile };
  const killed = await drAsync(t.dir, [...args, "--yes", "--json"], { ...env, FP_DR_FAULT: `kill-after:${step}` });
  assert.equal(killed.signal, "SIGKILL", `${scenario} kill-after:${step}: ${killed.stderr}`);
  const runId = readdirSync(join(t.dir, "journal")).filter((f) => f.startsWith(`${scenario}-`) && f.endsWith(".json")).sort().pop()!.replace(/\.json$/, "");
  const resumed = await drAsync(t.dir, ["resume", runId, "--json"], env);
  assert.equal(resumed.code, 0, `${scenario} kill-after:${step}: ${resumed.stderr}${resumed.stdout.slice(0, 2000)}`);
  const run = JSON.parse(resumed.stdout) as RunRecord;
  assert.equal(run.status, "succeeded", `${scenario} kill-after:${step}`);
  assert.ok(run.notes.some((n) => n.startsWith("resumed at")), `${scenario} kill-after:${step} resumed`);
  const redone = run.steps.filter((s) => s.attempts !== 1).map((s) => `${s.id}×${s.attempts}`);
  assert.deepEqual(redone, [], `${scenario} kill-after:${step}: no step ran twice`);
  return run;
}

const otherSite = (site: string) => (site === "primary" ? "secondary" : "primary");

/**
 * Every step boundary with FP_DR_FULL_MATRIX=1; otherwise (CI, `npm test`) a representative
 * subset that keeps the suite inside its time budget: the boundaries right after each step that
 * changes a site (a stopped but not rebuilt site, a rebuilt one still fenced; a primary shut
 * down, a standby promoted before DNS moved, the old primary demoted before the report).
 */
const boundaries = (all: string[], subset: string[]) => (process.env.FP_DR_FULL_MATRIX === "1" ? all : subset);

describe("killed at every step boundary (FP_DR_FULL_MATRIX=1; a representative subset otherwise), then dr resume", () => {
  test("reprotect: killed after each step, resumed, finished without redoing a step (the roles alternate)", async () => {
    for (const step of boundaries(["pre-check", "stop", "rebuild", "follow"], ["stop", "rebuild"])) {
      const [[from]] = await roles();
      const to = otherSite(from as string);
      process.kill(t.lab.site(from as string).cluster.postmasterPid()!, "SIGKILL");
      const fo = await failover(t.deps(), { scenario: "datacenter", yes: true });
      assert.equal(fo.status, "succeeded", `${fo.error?.message}`);
      const run = await killAfterAndResume(["reprotect"], "reprotect", step);
      assert.equal((run.facts as { targetSite: string }).targetSite, from);
      assert.deepEqual(await roles(), [[to, "primary", undefined], [from, "standby", "stream"]], `after kill-after:${step}`);
    }
  });

  test("switchover: killed after each step, resumed, finished without redoing a step; then the original topology", async () => {
    for (const step of boundaries(["pre-check", "shutdown", "token", "promote", "swap-dns", "first-write", "demote"], ["shutdown", "promote", "demote"])) {
      const [[from]] = await roles();
      const to = otherSite(from as string);
      await killAfterAndResume(["switchover", "--to", to], "switchover", step);
      assert.deepEqual(await roles(), [[to, "primary", undefined], [from, "standby", "stream"]], `after kill-after:${step}`);
      assert.equal(await t.lab.activeSite(), to);
    }
    if ((await roles())[0][0] !== "primary") assert.equal((await switchover(t.deps(), { to: "primary", yes: true })).status, "succeeded");
    assert.deepEqual(await roles(), [["primary", "primary", undefined], ["secondary", "standby", "stream"]]);
  });
});

describe("after the roles moved", () => {
  test("dr lab up starts the recorded primary and its standby, and leaves a fenced site stopped", async () => {
    process.kill(t.lab.site("primary").cluster.postmasterPid()!, "SIGKILL");
    assert.equal((await failover(t.deps(), { scenario: "datacenter", yes: true })).status, "succeeded");
    await t.lab.site("secondary").cluster.stop("fast");
    await bringUpLab(t.config);
    assert.deepEqual(await roles(), [["secondary", "primary", undefined], ["primary", "fenced", undefined]]);
    assert.equal(t.lab.site("primary").cluster.state(), "stopped", "the fenced site stays stopped");

    assert.equal((await reprotect(t.deps(), { yes: true })).status, "succeeded");
    await t.lab.site("primary").cluster.stop("fast");
    await t.lab.site("secondary").cluster.stop("fast");
    await bringUpLab(t.config);
    assert.deepEqual(await roles(), [["secondary", "primary", undefined], ["primary", "standby", "stream"]]);
    assert.equal((await switchover(t.deps(), { to: "primary", yes: true })).status, "succeeded");
    assert.deepEqual(await roles(), [["primary", "primary", undefined], ["secondary", "standby", "stream"]]);
  });
});

describe("a switchover resumed after its stopped primary ran again", () => {
  test("refuses to promote (the old primary may hold writes the standby never received) and changes nothing", async () => {
    assert.deepEqual(await roles(), [["primary", "primary", undefined], ["secondary", "standby", "stream"]]);
    const env = { FP_DR_CONFIG: configFile };
    const failed = await drAsync(t.dir, ["switchover", "--to", "secondary", "--yes", "--json"], { ...env, FP_DR_FAULT: "fail-in:promote" });
    assert.notEqual(failed.code, 0, failed.stderr);
    const runId = (JSON.parse(failed.stdout) as { runId: string }).runId;
    // Someone starts the old primary again (it comes up writable: a clean shutdown, no signal
    // file) and it takes a write.
    await t.lab.site("primary").cluster.start();
    await t.lab.site("primary").cluster.psql("create table public.after_the_token (id int); drop table public.after_the_token");
    const running = await drAsync(t.dir, ["resume", runId, "--json"], env);
    assert.equal(running.code, 6, running.stderr);
    const errorOf = (r: { stdout: string }) => (JSON.parse(r.stdout) as { error: { code: string; message: string; hint: string } }).error;
    assert.equal(errorOf(running).code, "STANDBY_UNUSABLE");
    assert.match(errorOf(running).message, /^primary runs again since the switchover stopped it at the demotion token/);
    await t.lab.site("primary").cluster.stop("fast");
    const moved = await drAsync(t.dir, ["resume", runId, "--json"], env);
    assert.equal(moved.code, 6, moved.stderr);
    assert.match(errorOf(moved).message, /^primary is no longer stopped at the demotion token \S+ \(its checkpoint is/);
    assert.match(errorOf(moved).hint, /^nothing was promoted/);
    const s = await standbyState(t.lab);
    assert.equal(s.role, "standby", "the standby was not promoted");
    assert.equal(await t.lab.activeSite(), "primary", "DNS did not move");
    // Back to the pair the later tests expect: the recorded primary started again, its standby
    // streaming from it.
    await bringUpLab(t.config);
    assert.deepEqual(await roles(), [["primary", "primary", undefined], ["secondary", "standby", "stream"]]);
  });
});

describe("failback", () => {
  for (const breakRewind of [false, true]) {
    test(`kill -9, failover by promotion, reprotect by ${breakRewind ? "delta restore (pg_rewind impossible)" : "pg_rewind"}, switchover back, under the write load`, async () => {
      const r = await cycle(breakRewind);
      t.captured.push(`failback by ${r.method}: failover RTO ${r.rto}s, RPO ${r.rpo}s, ${r.lostInFailover} acknowledged commits lost in the failover, 0 in the switchover; switchover write downtime ${r.downtimeMs} ms\n`);
      console.log(t.captured[t.captured.length - 1]);
    });
  }

  test("incident credential rotation rotates the replication role (never locks it): the standby streams again with the new secret", async () => {
    const old = t.lab.secrets.replicationPassword;
    const r = await rotateLabDatabaseCredentials(t.lab, "primary");
    assert.ok(!r.locked.includes(REPLICATION_ROLE), `locked: ${r.locked.join(", ")}`);
    assert.ok(r.rotated.includes(`role ${REPLICATION_ROLE}`), r.rotated.join(", "));
    assert.match(r.proof, /passfile of secondary/);
    const next = t.lab.secrets.replicationPassword;
    assert.ok(next && next !== old, "a new replication secret in secrets.json");
    // Cut the stream: a new walsender appears only if the walreceiver logs in with the new password (its passfile).
    const c = await t.lab.connect("primary", "postgres");
    try {
      const walsenders = async () => (await c.query("select pid, usename from pg_stat_replication")).rows as { pid: number; usename: string }[];
      const [before] = await walsenders();
      await c.query("select pg_terminate_backend($1)", [before.pid]);
      let now: { pid: number; usename: string }[] = [];
      for (const deadline = Date.now() + 20_000; Date.now() < deadline && !now.some((w) => w.pid !== before.pid); await sleep(250)) now = await walsenders();
      assert.deepEqual(now.map((w) => w.usename), [REPLICATION_ROLE], "streaming again, as the rotated role");
      assert.notEqual(now[0].pid, before.pid, "a new connection, made with the new secret");
    } finally {
      await c.end();
    }
    assert.equal((await standbyState(t.lab)).role, "standby");
  });

  test("reprotect refuses an unfenced site that still accepts writes, and changes nothing", async () => {
    // The standby promoted by hand, unfenced, as split brain would leave it (last: its timeline
    // reaches the shared archive). The recorded pair is still primary → secondary.
    await t.lab.site("secondary").cluster.psql("select pg_promote()");
    await sleep(500);
    const run = await reprotect(t.deps(), { yes: true, site: "secondary" });
    assert.equal(run.status, "failed");
    assert.equal(run.error?.code, "SITE_WRITABLE");
    assert.match(run.error!.message, /not fenced and still accepts writes/);
    assert.ok(run.error?.hint);
    assert.deepEqual(run.steps.filter((s) => s.status === "done").map((s) => s.id), ["report"], "no step before the refusal changed anything");
    assert.equal(t.lab.site("secondary").cluster.state(), "running", "nothing was stopped");
  });
});
