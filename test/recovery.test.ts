// Scenario: recovery plans end to end on the local engine (real clusters, pgBackRest, the S3
// store, DNS, a write load through the service name). Proves:
//   - two concurrent drills: exactly one proceeds, the other fails fast naming the holder; the
//     drill's RTO counts from its restore point (the outage it simulates), not its declaration;
//   - a restored copy whose recovery target was not in effect (postgresql.auto.conf edited once
//     the files were down) replays past it and opens: the restore stops it and fails;
//   - a drill that fails in the middle still destroys its site;
//   - a drill's restore-point step ends before the point's WAL is archived; the restore waits for
//     it once the files are down, before it starts the copy; a WAL that never arrives fails the
//     drill with the restore-point step's old error (ARCHIVE_FAILED, same message and hint), the
//     copy never started;
//   - a datacenter failover under continuous writes with a tampered newest backup: the set
//     fails verification and is passed over for the previous one plus WAL (stated in the
//     run), the RPO stays within the archive settings, no acknowledged commit older than the
//     RPO is lost, DNS answers the secondary and writes succeed through it;
//   - the source's own data breaking a built-in invariant (a household without a client, which
//     the schema allows) warns at the gate ("violated at the source, not a restore defect", in
//     the report) and the failover completes without falling back to an older set; a copy
//     that differs from the manifest recorded at its source still fails the gate;
//   - the old primary, restarted after the failover, cannot take writes and is reported
//     critical by `dr health` and `dr lab status`; with its standby.signal removed (two
//     writable primaries) both report split brain and exit non-zero, and none of its WAL
//     reaches the shared repositories (it stays in its pg_wal);
//   - the first backup a failover takes carries what its gate proved (the recorded proof it showed,
//     or the checks it ran on the copy);
//   - the datacenter failover's gate shows amcheck and the orphan check from the proofs the
//     backup recorded (no bt_index_check runs on the copy), beside pgBackRest's per-file
//     checksums and the replay's end;
//   - a hardware failover (after the datacenter one) restores the site's own repository into
//     a replacement host, which then serves the service name; its backup was taken with an
//     index disagreeing with its heap: the proof failed (the backup warned, and was taken), so
//     the gate ran amcheck on the copy.
import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { backup } from "../automation/commands/backup";
import { labStatus } from "../automation/commands/lab";
import { failover } from "../automation/commands/recover";
import { restore } from "../automation/commands/restore";
import { SHORT_REPLAY_SEGMENTS, openForWrites } from "../automation/restore/run";
import { readAcks, startLoad, stopLoad } from "../automation/engines/local/load";
import { FENCE_MARKER } from "../automation/engines/local/markers";
import { run as runCommand } from "../automation/system/exec";
import { invariantsFor } from "../automation/verify/invariants";
import { newestManifest } from "../automation/verify/manifest";
import { SOURCE_VIOLATION, verifyDatabase } from "../automation/verify/checks";
import { AUDIT_PREFIX } from "../automation/plans/drill-steps";
import { quoteLiteral } from "../automation/postgres/client";
import { drAsync, drChild, until } from "./harness/cli";
import { processInfo } from "../automation/system/leftovers";
import { tamperWithBackupSet } from "./harness/damage";
import { archiveNow, startTestLab, type TestLab } from "./harness/lab";

let t: TestLab;

/** The newest verification manifest a site's database holds. */
async function newestManifestOf(site: string) {
  const c = await t.lab.connect(site);
  try {
    return await newestManifest(c);
  } finally {
    await c.end();
  }
}

/** bt_index_check calls a site's server has run since it started (pg_stat_statements is preloaded on every lab site). */
async function btIndexChecks(site: string): Promise<number> {
  const c = await t.lab.connect(site);
  try {
    // Created only where missing: even a skipped CREATE EXTENSION fires the manifest's DDL trigger.
    if ((await c.query("select 1 from pg_extension where extname = 'pg_stat_statements'")).rowCount === 0) await c.query("create extension pg_stat_statements");
    return Number((await c.query("select coalesce(sum(calls), 0) n from pg_stat_statements where query like '%bt_index_check%'")).rows[0].n);
  } finally {
    await c.end();
  }
}

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

  test("a hardware failover --dry-run plans the restore into a replacement host the lab does not have yet", async () => {
    const before = readFileSync(t.lab.layout.stateFile, "utf8");
    const r = await drAsync(t.dir, ["failover", "--scenario", "hardware", "--dry-run", "--json"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const run = JSON.parse(r.stdout);
    assert.match(run.facts.targetSite, /^replacement-/);
    assert.match(run.steps.find((s: { id: string }) => s.id === "assess").detail, /repo1 newest set .* WAL to/);
    assert.equal(readFileSync(t.lab.layout.stateFile, "utf8"), before, "no replacement site added by a dry run");
  });
});

describe("opening a restored copy", () => {
  /** pgBackRest's asynchronous archive-get log, by line (none before its first fetch). */
  function asyncLog(): string[] {
    const file = join(t.lab.layout.pgbackrestDir, "log", `${t.lab.config.stanza}-archive-get-async.log`);
    return existsSync(file) ? readFileSync(file, "utf8").split("\n") : [];
  }
  /** Lines of that log from `fromLine` on that started a fetch process for `dataDir`. */
  function asyncFetchesFor(dataDir: string, fromLine = 0): string[] {
    return asyncLog().slice(fromLine).filter((l) => /archive-get:async command begin/.test(l) && l.includes(`--pg1-path=${dataDir}`));
  }
  function asyncLogLines(): number {
    return Math.max(0, asyncLog().length - 1);
  }

  /** A restore point `name` on the primary after `segments` WAL switches, archived; then a scratch restore to it from repo1, paused there. */
  async function restoreToPointAfter(name: string, segments: number) {
    const src = await t.lab.connect("primary");
    try {
      for (let i = 0; i < segments; i++) {
        await src.query("select txid_current()");
        await src.query("select pg_switch_wal()");
      }
      await src.query(`select pg_create_restore_point(${quoteLiteral(name)})`);
    } finally {
      await src.end();
    }
    await archiveNow(t.lab);
    return restore(t.deps(), { scratch: true, repo: 1, targetName: name, yes: true });
  }

  async function assertOpenWithoutRestoreCommand(site: string, dataDir: string, logFile: string): Promise<void> {
    assert.ok(/restored log file .* from archive/.test(readFileSync(logFile, "utf8").split("pausing at the end of recovery")[1] ?? ""), "the last segment was fetched again at the end (what the switch is for)");
    const c = await t.lab.connect(site, "postgres");
    try {
      assert.equal((await c.query("select pg_is_in_recovery() r")).rows[0].r, false);
      assert.equal((await c.query("select setting from pg_settings where name = 'restore_command'")).rows[0].setting, "", "reset once open");
    } finally {
      await c.end();
    }
    assert.doesNotMatch(readFileSync(join(dataDir, "postgresql.auto.conf"), "utf8"), /restore_command/);
  }

  test("a copy with a few segments to replay (a drill's) fetches them synchronously from the start, and keeps no restore_command once open", async () => {
    // A backup just before: whatever the earlier tests wrote, only its own WAL and the point's remain to replay.
    await backup(t.deps(), { type: "incr", repo: 1, reason: "just before a short replay" });
    const linesBefore = asyncLogLines();
    const r = await restoreToPointAfter("fp-dr-open-short", 0);
    const site = r.result!.destination;
    try {
      assert.ok(r.plan.wal.segments <= SHORT_REPLAY_SEGMENTS, `${r.plan.wal.segments} segments to replay`);
      const cluster = t.lab.site(site).cluster;
      // Before the copy started, pgBackRest's restore_command was made synchronous where it wrote it.
      assert.match(readFileSync(join(cluster.spec.dataDir, "postgresql.auto.conf"), "utf8"), /^restore_command = '.* --no-archive-async archive-get %f "%p"'$/m);
      await openForWrites(cluster, false);
      // pgBackRest's asynchronous archive-get would have started a process (logged with the copy's
      // pg1-path): 0.4 s to start, and again for the fetch at the open. None started for this copy.
      assert.deepEqual(asyncFetchesFor(cluster.spec.dataDir, linesBefore), [], "every fetch went through the synchronous archive-get");
      await assertOpenWithoutRestoreCommand(site, cluster.spec.dataDir, cluster.logFile);
    } finally {
      await t.lab.removeSite(site);
    }
  });

  test("a copy whose recovery target is not in effect (postgresql.auto.conf edited once the files are down) is stopped and fails the restore, never left open past the target", async () => {
    const name = "fp-dr-lost-target";
    const src = await t.lab.connect("primary");
    try {
      await src.query(`select pg_create_restore_point(${quoteLiteral(name)})`);
      // Written after the point: a copy that replays past the point would hold it.
      await src.query("create table app.after_lost_target (id int)");
      await src.query("select pg_switch_wal()");
    } finally {
      await src.end();
    }
    await archiveNow(t.lab);
    const before = new Set(Object.keys(t.lab.state.sites));
    const mark = join(t.dir, "fault-lost-target.mark");
    const run = drChild(t.dir, ["restore", "--scratch", "--repo", "1", "--target-name", name, "--yes", "--json"], { FP_DR_FAULT: "pause-during:restore", FP_DR_FAULT_MARK: mark });
    let site: string | undefined;
    try {
      await until("the restore paused with its files down", () => existsSync(mark) && processInfo(run.child.pid!)?.state === "T", 120_000);
      site = Object.keys(t.lab.state.sites).find((s) => !before.has(s));
      assert.ok(site, "the scratch site exists");
      const cluster = t.lab.site(site).cluster;
      const autoConf = join(cluster.spec.dataDir, "postgresql.auto.conf");
      const text = readFileSync(autoConf, "utf8");
      assert.match(text, /^recovery_target_name = /m);
      writeFileSync(autoConf, text.replace(/^recovery_target.*$/gm, ""));
      run.child.kill("SIGCONT");
      const r = await run.result;
      assert.notEqual(r.code, 0, r.stdout + r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.error.code, "RESTORE_FAILED", r.stdout);
      assert.match(doc.error.message, new RegExp(`^${site} ended recovery at \\S+ without pausing at restore point "${name}": its recovery target was not in effect, so it may hold changes from after it; the copy is stopped`));
      assert.match(doc.error.hint, /^restore again with --overwrite/);
      assert.notEqual(cluster.state(), "running", "the copy that replayed past its target is stopped");
    } finally {
      run.child.kill("SIGCONT");
      await run.result;
      // A failed scratch restore removes its site itself.
      if (site && t.lab.state.sites[site]) await t.lab.removeSite(site);
      const c = await t.lab.connect("primary");
      await c.query("drop table if exists app.after_lost_target").finally(() => c.end());
    }
  });

  test("a copy with many segments to replay prefetches them asynchronously, then fetches its last segment synchronously when it opens", async () => {
    const r = await restoreToPointAfter("fp-dr-open-long", SHORT_REPLAY_SEGMENTS + 2);
    const site = r.result!.destination;
    try {
      assert.ok(r.plan.wal.segments > SHORT_REPLAY_SEGMENTS, `${r.plan.wal.segments} segments to replay`);
      const cluster = t.lab.site(site).cluster;
      assert.ok(asyncFetchesFor(cluster.spec.dataDir).length > 0, "the replay prefetched asynchronously");
      // The gate stands between arrival and opening; here a pause of its length at least, in which the
      // paused copy reads the reload (its pause wakes once a second).
      await new Promise((res) => setTimeout(res, 1500));
      const linesBefore = asyncLogLines();
      await openForWrites(cluster, false);
      // A segment no longer queued costs the asynchronous form 0.46 s: none may start once the copy began to open.
      assert.deepEqual(asyncFetchesFor(cluster.spec.dataDir, linesBefore), [], "the end of recovery went through the synchronous archive-get");
      await assertOpenWithoutRestoreCommand(site, cluster.spec.dataDir, cluster.logFile);
    } finally {
      await t.lab.removeSite(site);
    }
  });
});

describe("drills", () => {
  test("two concurrent runs: exactly one proceeds, the other fails fast naming the holder", async () => {
    const [a, b] = await Promise.all([drAsync(t.dir, ["drill", "--json"]), new Promise((r) => setTimeout(r, 300)).then(() => drAsync(t.dir, ["drill", "--json"]))]);
    const results = [a, b].map((r) => JSON.parse(r.stdout));
    const winner = results.find((r) => r.status === "succeeded");
    const loser = results.find((r) => r.error !== undefined);
    assert.ok(winner, `one drill succeeds: ${a.stderr}${b.stderr}`);
    assert.ok(loser, "the other one fails");
    assert.equal(loser.error.code, "RUN_LOCKED");
    assert.match(loser.error.message, new RegExp(`drill run ${winner.runId}`));
    assert.equal(winner.measurements.rto.pass, true);
    // The RTO counts from the restore point, the outage the drill simulates (as its RPO does),
    // not from the declaration: the store's probe and the lock before the point are preparation.
    const point = winner.steps.find((s: { id: string }) => s.id === "restore-point");
    assert.ok(Date.parse(winner.outageAt) > Date.parse(point.startedAt) && Date.parse(winner.outageAt) <= Date.parse(point.finishedAt), `outage ${winner.outageAt} inside the restore point's step ${point.startedAt}..${point.finishedAt}`);
    assert.equal(winner.measurements.rto.achieved, (Date.parse(winner.facts.firstWriteAt) - Date.parse(winner.outageAt)) / 1000);
    assert.match(winner.measurements.rto.basis, /^the restore point/);
    assert.ok(winner.verification.ok);
    // The gate is the failover's (the source is not compared with there): the manifest, amcheck
    // and orphans shown from the backup's passing proof, the invariants on the copy, those with
    // an incremental form over what was written since the backup's proofs.
    const checks = winner.verification.checks as { name: string; ok: boolean; detail: string }[];
    const inGate = checks.filter((c) => !c.name.startsWith(AUDIT_PREFIX));
    assert.ok(inGate.some((c) => c.name === "schema and tables match the manifest recorded with the last backup" && c.ok), JSON.stringify(inGate));
    assert.ok(!inGate.some((c) => /at the restore point/.test(c.name)), "no comparison with the source inside the RTO");
    assert.ok(inGate.some((c) => /amcheck/.test(c.name) && /recorded|proof/.test(c.detail) && !/run on the copy/.test(c.detail)), JSON.stringify(inGate));
    const invariants = inGate.filter((c) => c.name.startsWith("invariant: "));
    const since = (c: { detail: string }) => /on the rows written by transactions from \d+ on; the whole check held with the backup's proofs/.test(c.detail);
    const incremental = invariants.filter(since).map((c) => c.name.slice("invariant: ".length));
    assert.ok(incremental.includes("account balances equal the sum of their ledger entries") && incremental.includes("no ledger entries without an account"), JSON.stringify(invariants));
    assert.ok(invariants.every((c) => c.ok && (since(c) || /^holds \(0\)$/.test(c.detail))), JSON.stringify(invariants));
    // The audit after the RTO: the copy against the source at the restore point (read from its
    // snapshot once the RTO ended), then amcheck, the orphans and the incremental invariants whole.
    const audited = checks.filter((c) => c.name.startsWith(AUDIT_PREFIX));
    const kind = (c: { name: string }) =>
      /fingerprints at the restore point, read since/.test(c.name) ? "source read" : /^schema/.test(c.name.slice(AUDIT_PREFIX.length)) ? "schema" : /content checksums equal the source at the restore point/.test(c.name) ? "content" : /amcheck/.test(c.name) ? "amcheck" : /orphaned rows/.test(c.name) ? "orphans" : c.name.slice(AUDIT_PREFIX.length);
    assert.deepEqual(audited.map((c) => [kind(c), c.ok]), [["source read", true], ["schema", true], ["content", true], ["amcheck", true], ["orphans", true], ...incremental.map((n) => [`invariant: ${n}`, true])], JSON.stringify(audited.map((c) => c.name)));
    const audit = winner.steps.find((s: { id: string }) => s.id === "audit");
    assert.equal(audit.status, "done");
    assert.ok(Date.parse(audit.startedAt) >= Date.parse(winner.facts.firstWriteAt), "the audit starts after the first write: outside the RTO");
  });

  test("an orphan the backup's proof never saw is found by the drill's audit, after the RTO, and fails the drill", async () => {
    // A foreign key the built-in invariants do not cover, and a child row without its parent
    // written with the key's triggers off (session_replication_role = replica): the orphan
    // exists only after the backup, whose proof passed. The gate shows that proof (as a
    // failover by restore would); the audit on the copy finds the orphan.
    const src = await t.lab.connect("primary");
    try {
      await src.query("create table app.audit_parent (id int primary key); create table app.audit_child (parent int references app.audit_parent)");
      await src.query("set session_replication_role = replica; insert into app.audit_child values (42); reset session_replication_role");
      const r = await drAsync(t.dir, ["drill", "--json"]);
      const doc = JSON.parse(r.stdout);
      assert.equal(r.code, 9, r.stdout + r.stderr);
      assert.equal(doc.error.code, "GATE_FAILED");
      assert.match(doc.error.message, /audit/);
      const run = doc.result;
      const step = (id: string) => run.steps.find((s: { id: string }) => s.id === id);
      assert.deepEqual([step("verify").status, step("open").status, step("audit").status, step("destroy").status], ["done", "done", "failed", "done"]);
      assert.ok(run.measurements.rto.achieved > 0, "the RTO was measured before the audit");
      assert.equal(run.verification.ok, false);
      const orphans = run.verification.checks.find((c: { name: string }) => c.name.startsWith(AUDIT_PREFIX) && /orphan/.test(c.name));
      assert.equal(orphans?.ok, false, JSON.stringify(run.verification.checks));
      assert.match(orphans.detail, /1 orphaned row/);
      assert.equal(t.lab.state.sites[run.facts.targetSite], undefined, "the drill site is gone");
    } finally {
      await src.query("drop table if exists app.audit_child, app.audit_parent");
      await src.end();
    }
  });

  test("rows no backup holds (an unlogged table's) pass the gate a failover would have, and fail the drill's audit against the source", async () => {
    // Unlogged tables write no WAL: the backup and its replay bring back an empty table. Only
    // the source can say it held rows; the drill compares with it after its RTO.
    const src = await t.lab.connect("primary");
    try {
      await src.query("create unlogged table app.drill_scratch (id int primary key); insert into app.drill_scratch select generate_series(1, 10)");
      const r = await drAsync(t.dir, ["drill", "--json"]);
      const doc = JSON.parse(r.stdout);
      assert.equal(r.code, 9, r.stdout + r.stderr);
      assert.equal(doc.error.code, "GATE_FAILED");
      assert.match(doc.error.message, /^the drill copy differs from the source at the restore point: .*app\.drill_scratch/);
      assert.match(doc.error.hint, /unlogged tables are in no backup/);
      const run = doc.result;
      const step = (id: string) => run.steps.find((s: { id: string }) => s.id === id);
      assert.deepEqual([step("verify").status, step("open").status, step("audit").status, step("destroy").status], ["done", "done", "failed", "done"]);
      assert.ok(run.measurements.rto.achieved > 0, "the RTO was measured before the audit");
      const content = run.verification.checks.find((c: { name: string }) => c.name.startsWith(AUDIT_PREFIX) && /content checksums/.test(c.name));
      assert.equal(content?.ok, false, JSON.stringify(run.verification.checks));
      assert.match(content.detail, /1 of \d+ tables differ: app\.drill_scratch; the copy's rows differ from the source's at the restore point/);
      assert.equal(t.lab.state.sites[run.facts.targetSite], undefined, "the drill site is gone");
    } finally {
      await src.query("drop table if exists app.drill_scratch");
      await src.end();
    }
  });

  test("a drill that fails in the middle still destroys its site", async () => {
    const r = await drAsync(t.dir, ["drill", "--json"], { FP_DR_FAULT: "fail-in:verify" });
    const doc = JSON.parse(r.stdout);
    assert.equal(r.code, 70, "the injected failure is INTERNAL: its class, not 6 for every failed run");
    assert.deepEqual([doc.error.code, doc.error.exit], ["INTERNAL", 70]);
    const run = doc.result;
    assert.equal(doc.runId, run.runId);
    assert.equal(run.status, "failed");
    assert.equal(run.steps.find((s: { id: string }) => s.id === "destroy").status, "done");
    assert.equal(run.steps.find((s: { id: string }) => s.id === "open").status, "skipped");
    const drillSite = run.facts.targetSite as string;
    assert.match(drillSite, /^drill-/);
    assert.equal(t.lab.state.sites[drillSite], undefined, "the drill site is gone from the lab");
    const status = await labStatus(t.deps());
    assert.deepEqual(status.sites.map((s) => s.name).sort(), ["primary", "secondary"]);
  });

  /** Runs `fn` with the primary's archive_command replaced by `command(current)`; restored and drained after. */
  async function withArchiveCommand<T>(command: (current: string) => string, fn: () => Promise<T>): Promise<T> {
    const c = await t.lab.connect("primary");
    try {
      const current = String((await c.query("select current_setting('archive_command') a")).rows[0].a);
      await c.query(`alter system set archive_command = ${quoteLiteral(command(current))}`);
      await c.query("select pg_reload_conf()");
      return await fn();
    } finally {
      await c.query("alter system reset archive_command");
      await c.query("select pg_reload_conf()");
      await c.end();
      await archiveNow(t.lab);
    }
  }

  test("the restore point's WAL reaches the archive while the files are laid down: the step ends before it, the copy starts after it", async () => {
    // Every push takes 8 s more: the restore point's segment is archived long after its step
    // would have ended, and after the set's files are down.
    const doc = await withArchiveCommand(
      (current) => `sleep 8; ${current}`,
      async () => {
        const r = await drAsync(t.dir, ["drill", "--json"]);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        return JSON.parse(r.stdout);
      },
    );
    const point = doc.steps.find((s: { id: string }) => s.id === "restore-point");
    assert.ok(point.durationMs < 5_000, `the restore-point step did not wait for the archive: ${point.durationMs} ms`);
    const parts = doc.facts.restore.parts as Record<string, number>;
    const waited = parts["the restore point's WAL reaching the archive, after the files"];
    assert.ok(waited > 500, `the restore waited for the WAL once the files were down, before it started the copy: ${JSON.stringify(parts)}`);
    assert.equal(doc.status, "succeeded");
    assert.ok(doc.verification.checks.some((c: { name: string; ok: boolean }) => /at the restore point/.test(c.name) && c.ok), "the copy reached the restore point");
  });

  test("a restore point whose WAL never reaches the archive fails the drill as before, and the copy is never started", async () => {
    const r = await withArchiveCommand(
      () => "exit 1",
      () => drAsync(t.dir, ["drill", "--json"]),
    );
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.error.code, "ARCHIVE_FAILED", r.stdout + r.stderr);
    assert.match(doc.error.message, /^the restore point's WAL: [0-9A-F]{24} not archived after 6\d s \(last archived .*, \d+ failure\(s\) while waiting; last failure \S+ at /);
    assert.equal(doc.error.hint, "check archiving on the primary (`dr health`)");
    const run = doc.result;
    const step = (id: string) => run.steps.find((s: { id: string }) => s.id === id);
    assert.deepEqual([step("restore-point").status, step("restore").status, step("verify").status, step("destroy").status], ["done", "failed", "skipped", "done"]);
    // The files were laid down, the wait failed, and nothing was started over them.
    const steps = doc.steps as { label: string; ok: boolean }[];
    const seen = JSON.stringify(steps.map((s) => [s.label, s.ok]));
    assert.ok(steps.some((s) => /^restore \S+ from repo\d into drill-/.test(s.label) && s.ok), seen);
    assert.ok(steps.some((s) => /^wait for the WAL of restore point /.test(s.label) && !s.ok), seen);
    assert.ok(!steps.some((s) => /^start drill-/.test(s.label)), seen);
    assert.equal(t.lab.state.sites[run.facts.targetSite], undefined, "the drill site is gone");
  });
});

describe("datacenter failover under continuous writes", () => {
  let outageAt: string;
  let run: Awaited<ReturnType<typeof failover>>;
  let tampered: string;

  test("a tampered newest backup is passed over; RPO within the archive settings; no commit older than it lost", async () => {
    // The source's own data breaks the built-in invariant "every household has a client" (the
    // schema allows it); the manifest recorded before the next backup says so.
    const src = await t.lab.connect("primary");
    await src.query("insert into app.households (name, region, advisor, risk_profile, annual_income, created_at) values ('no client yet', 'west', 'adv-001', 'balanced', 0, now())");
    await src.end();
    // Two sets offsite: the full from `lab up` and a newer incremental, which we tamper with.
    const taken = await backup(t.deps(), { type: "incr", repo: 2, reason: "before the outage" });
    tampered = taken.backups[0].set.label;
    // The proofs ran with the backup (no standby in this lab: on the primary) and passed.
    assert.deepEqual([taken.proofs.ok, taken.proofs.site, taken.proofs.checks.map((x) => x.kind).join(",")], [true, "primary", "amcheck,orphans"]);
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
    // The gate warned about the source's data and blamed no backup: no other set passed over.
    const household = run.verification?.checks.find((c) => c.name === "invariant: every household has a client");
    assert.equal(household?.ok, true, JSON.stringify(run.verification));
    assert.match(household!.detail, new RegExp(`expected 0, got 1: ${SOURCE_VIOLATION} \\(recorded at the source with the manifest "before incr backup"`));
    assert.ok(run.notes.some((n) => n.includes("every household has a client") && n.includes(SOURCE_VIOLATION)), "the run notes the warning");
    assert.ok(!run.notes.some((n) => /verification of .* failed/.test(n)), `no fallback for the gate: ${run.notes.join(" | ")}`);
    const reportJson = readFileSync((run.facts as { reports: { json: string } }).reports.json, "utf8");
    assert.ok(reportJson.includes(SOURCE_VIOLATION), "recorded in the run report");
    // amcheck and the orphans come from the proofs recorded with the backup: shown, not re-run.
    const checks = run.verification!.checks;
    assert.match(checks.find((c) => /^amcheck/.test(c.name))!.detail, /^recorded: passed at backup time on primary \(primary\) \d+[sm].* ago, covering up to [0-9A-F]+\/[0-9A-F]+/);
    assert.match(checks.find((c) => /orphaned rows/.test(c.name))!.detail, /^recorded: passed at backup time/);
    for (const name of ["pgBackRest checked every restored file's checksum", "replay reached its target", "read the proofs recorded with the backup"]) assert.ok(checks.some((c) => c.name === name && c.ok), name);
    assert.equal(await btIndexChecks("secondary"), 0, "no bt_index_check ran on the restored copy");
    // The ledger's invariants held with the proofs: only what was written since is read.
    for (const name of ["account balances equal the sum of their ledger entries", "no ledger entries without an account"]) {
      assert.match(checks.find((c) => c.name === `invariant: ${name}`)!.detail, /^holds \(0\) on the rows written by transactions from \d+ on; the whole check held with the backup's proofs on primary \(primary\)/, name);
    }
    // The first backup on the new timeline carries the proof the gate stood on, so a restore of
    // it before the next scheduled backup shows it too (its invariants are evaluated anew).
    const carried = await newestManifestOf("secondary");
    assert.equal(carried?.label, "before the first full backup on the new timeline");
    assert.deepEqual([carried?.proofs?.ok, carried?.proofs?.site, carried?.proofs?.checks.map((x) => x.kind).join(",")], [true, "primary", "amcheck,orphans"]);
    assert.ok(Date.parse(carried!.proofs!.startedAt) < Date.parse(run.declaredAt), "the backup-time proof, carried as it was");
    assert.ok(carried!.invariants!.length > 0, "the invariants evaluated on the new primary");
    // Every second of the gate is under a name (the checks' times overlap where they ran in parallel).
    const gateMs = run.steps.find((s) => s.id === "verify")!.durationMs!;
    const named = checks.reduce((n, c) => n + c.durationMs, 0);
    assert.ok(named >= gateMs - 150, `named ${named} ms of the gate's ${gateMs} ms: ${checks.map((c) => `${c.name} ${c.durationMs}`).join("; ")}`);

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
    // Written once the new primary took the failover's first write: a commit stamped in the
    // milliseconds between outageAt and the kill can still have landed on the old primary.
    const afterOutage = acks.filter((a) => a.at.getTime() > Date.parse(run.facts.firstWriteAt as string));
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
    // Read-only, but a fenced site must stay down: critical in status and health, exit 2.
    assert.deepEqual(status.alerts.map((a) => [a.check, a.severity]), [["fenced-site-running", "critical"]]);
    for (const args of [["lab", "status", "--json"], ["health", "--json"]]) {
      const r = await drAsync(t.dir, args);
      assert.equal(r.code, 2, `dr ${args.join(" ")}: ${r.stdout}${r.stderr}`);
      const found = JSON.parse(r.stdout).alerts ?? JSON.parse(r.stdout).findings;
      assert.ok(found.some((f: { check: string; severity: string; message: string }) => f.check === "fenced-site-running" && f.severity === "critical" && /site primary is fenced/.test(f.message)), r.stdout);
    }
  });

  test("a restored copy that differs from the manifest recorded at its source still fails the gate", async () => {
    const c = await t.lab.connect("secondary");
    try {
      // A balance that no longer matches its ledger: the source held this invariant at backup time.
      await c.query("begin");
      await c.query("update app.accounts set balance = balance + 1 where account_id = (select min(account_id) from app.accounts)");
      const r = await verifyDatabase(c, { kind: "manifest" }, { invariants: invariantsFor(t.config), amcheck: false });
      const balance = r.checks.find((x) => x.name === "invariant: account balances equal the sum of their ledger entries")!;
      assert.equal(balance.ok, false, balance.detail);
      assert.equal(balance.warning, undefined);
      assert.equal(r.ok, false, "the gate blocks (and the plan falls back to an older set)");
      assert.equal(r.checks.find((x) => x.name === "invariant: every household has a client")?.warning, true, "while the source's own violation still only warns");
    } finally {
      await c.query("rollback").catch(() => undefined);
      await c.end();
    }
  });

  test("the old primary with standby.signal removed takes writes: split brain is critical, and its WAL stays local", async () => {
    const lab = t.lab;
    const old = lab.site("primary");
    const dataDir = lab.layout.dataDir("primary");
    const stanza = lab.state.stanza;
    const archived = async (repo: 1 | 2) => {
      const r = await runCommand("pgbackrest", [`--config=${lab.site("secondary").configPath}`, `--repo=${repo}`, "--recurse", "--log-level-console=warn", "repo-ls", `archive/${stanza}`], { as: lab.user, timeoutMs: 60_000 });
      return r.stdout.split("\n").filter((l) => /\/00000001[0-9A-F]{16}/.test(l)).sort();
    };
    const before = { repo1: await archived(1), repo2: await archived(2) };
    assert.ok(before.repo1.length > 0 && before.repo2.length > 0, "timeline 1 was archived before the failover");

    await old.cluster.stop("fast");
    rmSync(join(dataDir, "standby.signal"));
    await old.cluster.start();
    const c = await lab.connect("primary");
    let segment: string;
    try {
      assert.equal((await c.query("select pg_is_in_recovery() r")).rows[0].r, false, "two writable primaries");
      await c.query("insert into fp_dr.heartbeat (at, writer) values (now(), 'split brain')");
      segment = (await c.query("select pg_walfile_name(pg_current_wal_lsn()) s")).rows[0].s;
      await c.query("select pg_switch_wal()");
      // The archiver acted on the segment (refused, or pushed): poll its own counters, bounded.
      const deadline = Date.now() + 30_000;
      const counters = async () => (await c.query<{ failed: number; archived: number }>("select failed_count::int failed, archived_count::int archived from pg_stat_archiver")).rows[0];
      while ((await counters()).failed + (await counters()).archived === 0) {
        assert.ok(Date.now() < deadline, "the archiver never acted on the diverged segment");
        await new Promise((r) => setTimeout(r, 500));
      }
      // Nothing of the diverged timeline-1 WAL reached either repository; it waits in pg_wal.
      assert.deepEqual({ repo1: await archived(1), repo2: await archived(2) }, before);
      assert.equal((await counters()).archived, 0, "nothing archived since the restart");
    } finally {
      await c.end();
    }

    const status = await labStatus(t.deps());
    const brain = status.alerts.find((a) => a.check === "split-brain");
    assert.equal(brain?.severity, "critical");
    assert.match(brain!.message, /2 sites accept writes \(primary, secondary\); the service name answers secondary/);
    for (const args of [["lab", "status", "--json"], ["health", "--json"]]) {
      const r = await drAsync(t.dir, args);
      assert.equal(r.code, 2, `dr ${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /split brain: 2 sites accept writes/);
    }
    assert.match(readFileSync(lab.site("primary").cluster.logFile, "utf8"), /fp-dr: this site is fenced/);

    assert.ok(existsSync(join(dataDir, "pg_wal", segment)), "the diverged segment is still in pg_wal");
    assert.ok(existsSync(join(dataDir, "pg_wal", "archive_status", `${segment}.ready`)), "and still waits to be archived");
    assert.ok(existsSync(join(dataDir, FENCE_MARKER)));

    // Back to the fenced state for whatever runs after.
    await old.cluster.stop("immediate");
    writeFileSync(join(dataDir, "standby.signal"), "");
  });
});

describe("hardware failover", () => {
  test("a replacement host is brought up, restored from the site's own repository and serves the service name", async () => {
    // An index at the source that disagrees with its heap (an "immutable" function changed under
    // it) before the backup: the backup's proof fails, loudly, and the backup is still taken.
    const src = await t.lab.connect("secondary");
    await src.query("create function app.f(numeric) returns numeric immutable language sql as 'select $1'");
    await src.query("create index accounts_f on app.accounts (app.f(balance))");
    await src.query("create or replace function app.f(numeric) returns numeric immutable language sql as 'select $1 + 1'");
    const taken = await backup(t.deps(), { type: "full", repo: 1, reason: "with a corrupt index" });
    assert.equal(taken.proofs.ok, false);
    assert.match(taken.proofs.checks.find((x) => x.kind === "amcheck")!.detail, /1 corrupt: app\.accounts_f/);
    assert.equal(taken.backups.length, 1, "backed up all the same");
    assert.ok(t.captured.join("").includes("the proofs taken with this backup FAILED"), "the backup warns");
    // The index is rebuilt away after the backup: the copy replays that, its proof stays failed.
    await src.query("drop index app.accounts_f");
    await src.end();
    await archiveNow(t.lab, "secondary");

    const run = await failover(t.deps(), { scenario: "hardware", yes: true });
    assert.equal(run.status, "succeeded", JSON.stringify(run.error));
    const f = run.facts as { targetSite: string; repo: number };
    assert.match(f.targetSite, /^replacement-/);
    assert.equal(f.repo, 1);
    assert.equal(await t.lab.activeSite(), f.targetSite);
    assert.ok(run.steps.every((s) => s.status === "done"), run.steps.map((s) => `${s.id}:${s.status}`).join(" "));
    // The failed proof is not shown: amcheck ran on the copy, and says why.
    assert.match(run.verification!.checks.find((c) => /^amcheck/.test(c.name))!.detail, /^run on the copy \(the amcheck proof FAILED at backup time on secondary/);
    assert.ok((await btIndexChecks(f.targetSite)) > 0, "bt_index_check ran on the restored copy");
    // What the gate ran on the copy is the proof of the first backup taken of it.
    const handed = await newestManifestOf(f.targetSite);
    assert.equal(handed?.label, "before the first full backup on the new timeline");
    assert.deepEqual([handed?.proofs?.ok, handed?.proofs?.site, handed?.proofs?.role, handed?.proofs?.checks.map((x) => x.kind).join(",")], [true, f.targetSite, "standby", "amcheck,orphans"]);
    assert.ok(Date.parse(handed!.proofs!.startedAt) >= Date.parse(run.declaredAt), "taken by this run's gate");
  });
});
