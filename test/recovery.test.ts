// Scenario: recovery plans end to end on the local engine (real clusters, pgBackRest, the S3
// store, DNS, a write load through the service name). Proves:
//   - two concurrent drills: exactly one proceeds, the other fails fast naming the holder;
//   - a drill that fails in the middle still destroys its site;
//   - a datacenter failover under continuous writes with a tampered newest backup: the set
//     fails verification and is passed over for the previous one plus WAL (stated in the
//     run), the RPO stays within the archive settings, no acknowledged commit older than the
//     RPO is lost, DNS answers the secondary and writes succeed through it;
//   - the old primary, restarted after the failover, cannot take writes and is reported.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { backup } from "../automation/commands/backup";
import { labStatus } from "../automation/commands/lab";
import { failover } from "../automation/commands/recover";
import { readAcks, startLoad, stopLoad } from "../automation/engines/local/load";
import { drAsync } from "./harness/cli";
import { tamperWithBackupSet } from "./harness/damage";
import { startTestLab, type TestLab } from "./harness/lab";

let t: TestLab;

before(async () => {
  t = await startTestLab();
});
after(async () => {
  await t?.destroy();
});


describe("dry runs", () => {
  test("a failover --dry-run walks the checks, estimates the RTO and changes nothing", async () => {
    const lab = t.lab;
    const before = { state: readFileSync(lab.layout.stateFile, "utf8"), active: await lab.activeSite(), sites: lab.siteNames().map((n) => lab.site(n).cluster.state()) };
    const r = await drAsync(t.dir, ["failover", "--scenario", "datacenter", "--dry-run", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const run = JSON.parse(r.stdout);
    assert.equal(run.dryRun, true);
    assert.ok(run.facts.estimatedRtoSeconds > 0);
    assert.match(run.steps.find((s: { id: string }) => s.id === "assess").detail, /newest set .* WAL to/);
    const after = { state: readFileSync(lab.layout.stateFile, "utf8"), active: await lab.activeSite(), sites: lab.siteNames().map((n) => lab.site(n).cluster.state()) };
    assert.deepEqual(after, before);
    assert.equal(existsSync(join(t.dir, "journal")), false, "a dry run writes no journal and takes no lock");
  });
});

describe("drills", () => {
  test("two concurrent runs: exactly one proceeds, the other fails fast naming the holder", async () => {
    const [a, b] = await Promise.all([drAsync(t.dir, ["drill", "--json"]), new Promise((r) => setTimeout(r, 300)).then(() => drAsync(t.dir, ["drill", "--json"]))]);
    const results = [a, b].map((r) => JSON.parse(r.stdout));
    const winner = results.find((r) => r.status === "succeeded");
    const loser = results.find((r) => r.ok === false);
    assert.ok(winner, `one drill succeeds: ${a.stderr}${b.stderr}`);
    assert.ok(loser, "the other one fails");
    assert.equal(loser.error.code, "RUN_LOCKED");
    assert.match(loser.error.message, new RegExp(`drill run ${winner.runId}`));
    assert.equal(winner.measurements.rto.pass, true);
    assert.ok(winner.verification.ok);
    assert.ok(winner.verification.checks.some((c: { name: string; ok: boolean }) => /at the restore point/.test(c.name) && c.ok), "exact comparison at the restore point");
  });

  test("a drill that fails in the middle still destroys its site", async () => {
    const r = await drAsync(t.dir, ["drill", "--json"], { FP_DR_FAULT: "fail-in:verify" });
    const run = JSON.parse(r.stdout);
    assert.equal(r.code, 6);
    assert.equal(run.status, "failed");
    assert.equal(run.steps.find((s: { id: string }) => s.id === "destroy").status, "done");
    assert.equal(run.steps.find((s: { id: string }) => s.id === "open").status, "skipped");
    const drillSite = run.facts.targetSite as string;
    assert.match(drillSite, /^drill-/);
    assert.equal(t.lab.state.sites[drillSite], undefined, "the drill site is gone from the lab");
    const status = await labStatus(t.deps());
    assert.deepEqual(status.sites.map((s) => s.name).sort(), ["primary", "secondary"]);
  });
});

describe("datacenter failover under continuous writes", () => {
  let outageAt: string;
  let run: Awaited<ReturnType<typeof failover>>;
  let tampered: string;

  test("a tampered newest backup is passed over; RPO within the archive settings; no commit older than it lost", async () => {
    // Two sets offsite: the full from `lab up` and a newer incremental, which we tamper with.
    const taken = await backup(t.deps(), { type: "incr", repo: 2, reason: "before the outage" });
    tampered = taken.backups[0].set.label;
    tamperWithBackupSet(t.lab, tampered);

    // Longer than archive_timeout, so the load's WAL has been archived at least once.
    await startLoad(t.lab, { fresh: true });
    await new Promise((r) => setTimeout(r, (t.lab.state.archiveTimeoutSeconds + 3) * 1000));
    const pid = t.lab.site("primary").cluster.postmasterPid();
    outageAt = new Date().toISOString();
    process.kill(pid!, "SIGKILL");

    run = await failover(t.deps(), { scenario: "datacenter", yes: true, outageAt });
    assert.equal(run.status, "succeeded", JSON.stringify(run.error));
    const f = run.facts as { excludedSets?: string[]; restore?: { set: string }; targetSite?: string };
    assert.deepEqual(f.excludedSets, [tampered], "the tampered set was refused");
    assert.notEqual(f.restore?.set, tampered);
    assert.ok(run.notes.some((n) => n.includes(tampered) && /falling back/.test(n)), "the run says so");

    // RPO: bounded by archive_timeout (10 s in the lab) plus the async push.
    const rpo = run.measurements.rpo;
    assert.ok(rpo.achieved !== undefined && rpo.achieved <= t.lab.state.archiveTimeoutSeconds + 5, `RPO ${rpo.achieved}s`);
    assert.equal(rpo.pass, true);
    assert.equal(run.measurements.rto.pass, true);

    // Let the load follow DNS to the new primary, then account for every acknowledged commit.
    await new Promise((r) => setTimeout(r, 2500));
    await stopLoad(t.lab);
    const acks = readAcks(t.lab);
    const c = await t.lab.connect("secondary");
    const rows = (await c.query<{ id: string; at: Date }>("select id, at from fp_dr.heartbeat")).rows;
    await c.end();
    const present = new Set(rows.map((r) => `${r.id}@${r.at.toISOString()}`));
    const horizon = Date.parse(outageAt) - rpo.achieved! * 1000;
    const lostOld = acks.filter((a) => a.at.getTime() < horizon && !present.has(`${a.id}@${a.at.toISOString()}`));
    assert.deepEqual(lostOld, [], "no acknowledged commit older than the RPO was lost");
    const afterOutage = acks.filter((a) => a.at.getTime() > Date.parse(outageAt));
    assert.ok(afterOutage.length > 5, "writes succeed through the service name after the failover");
    assert.ok(afterOutage.every((a) => present.has(`${a.id}@${a.at.toISOString()}`)), "and they land on the new primary");
  });

  test("DNS answers the secondary; the journal and report record every step", async () => {
    assert.equal(await t.lab.activeSite(), "secondary");
    const ids = run.steps.map((s) => `${s.id}:${s.status}`);
    assert.deepEqual(ids, ["assess:done", "fence:done", "bring-up:done", "restore:done", "verify:done", "open:done", "swap-dns:done", "first-write:done", "post-checks:done", "report:done"]);
    const reports = (run.facts as { reports?: { html: string } }).reports;
    assert.ok(reports && readFileSync(reports.html, "utf8").includes(run.runId));
  });

  test("the old primary restarted after the failover cannot take writes and is reported", async () => {
    const old = t.lab.site("primary");
    await old.cluster.start();
    const c = await t.lab.connect("primary");
    try {
      assert.equal((await c.query("select pg_is_in_recovery() r")).rows[0].r, true);
      await assert.rejects(c.query("insert into fp_dr.heartbeat (at) values (now())"), /read-only transaction/);
    } finally {
      await c.end();
    }
    const status = await labStatus(t.deps());
    const primary = status.sites.find((s) => s.name === "primary")!;
    assert.equal(primary.fenced, true);
    assert.equal(primary.inRecovery, true);
    assert.equal(status.activeSite, "secondary", "no split brain: the service name stays on the new primary");
  });
});
