// Scenario: a datacenter failover killed with SIGKILL in the middle of the restore (files laid
// down, recovery not started) and, on the way back, right after the gate. `dr resume` finishes
// each run to the same result as an uninterrupted one: verified, DNS on the new site, writes
// through the service name; finished steps are not redone. The first is resumed as another
// operator would: another working directory and HOME, and without the local journal (another
// machine), from the copy in the shared store, taking the dead holder's lease with a new epoch.
// (On the lab the journal copies and reports are in its object store, the lease in its directory.)
// Two operators starting `dr failover` at once: exactly one proceeds, the other fails at once
// naming the holder; nothing secret lands in the shared store (lease, journal copies, reports).
// And a run killed while its pgBackRest restore is still copying (stopped with SIGSTOP, as a
// long copy looks): a second restore into that target is refused with nothing changed, opening
// it is refused, and `dr resume` ends the leftover copy before it restores, so the new primary's
// data stays whole.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { restore } from "../automation/commands/restore";
import { checkCorruption, renderCorruptionReport } from "../automation/commands/corruption";
import type { RunRecord } from "../automation/core/run-record";
import { FileSharedStore } from "../automation/core/file-store";
import { readLease } from "../automation/core/lease";
import { LocalEngine } from "../automation/engines/local/engine";
import { readRestoreLock, restoreLockPath } from "../automation/restore/target-lock";
import { isRestoreInto, processInfo } from "../automation/system/leftovers";
import { DR_CLI, drAsync, drSync } from "./harness/cli";
import { sharedDocuments, startTestLab, type TestLab } from "./harness/lab";

let t: TestLab;

before(async () => {
  t = await startTestLab();
});
after(async () => {
  await t?.destroy();
});


function newestRun(): string {
  const dir = join(t.dir, "journal");
  const runs = readdirSync(dir).filter((f) => f.endsWith(".json")).sort();
  return runs[runs.length - 1].replace(/\.json$/, "");
}

/** Another operator's machine: a working directory and HOME of its own. */
function elsewhere(name: string): { cwd: string; env: Record<string, string> } {
  const home = join(t.dir, `operator-${name}`);
  mkdirSync(join(home, "work"), { recursive: true });
  return { cwd: join(home, "work"), env: { HOME: home } };
}

function killAndResume(fault: string, from: string, to: string, opts: { fromAnotherMachine?: boolean } = {}) {
  const killed = drSync(t.dir, ["failover", "--scenario", "datacenter", "--yes", "--json"], { FP_DR_FAULT: fault });
  assert.equal(killed.signal, "SIGKILL", `${fault}: ${killed.stderr}`);
  const runId = newestRun();
  assert.match(runId, /^datacenter-/);
  const other = elsewhere("b");
  if (opts.fromAnotherMachine) {
    // That machine has no local journal of the run: only the shared store's copy.
    // On the lab that copy is in its object store (the lease stays in the lab directory's files).
    assert.ok(sharedDocuments(t).has(`runs/lab/${runId}.json`), "the journal was copied to the shared store");
    assert.ok(!existsSync(join(t.dir, "shared", "runs")), "no journal copy in the lab directory");
    rmSync(join(t.dir, "journal", `${runId}.json`));
  }
  const resumed = opts.fromAnotherMachine ? drSync(t.dir, ["resume", runId, "--json"], other.env, 300_000, other.cwd) : drSync(t.dir, ["resume", runId, "--json"]);
  assert.equal(resumed.code, 0, resumed.stderr + resumed.stdout.slice(0, 2000));
  const run = JSON.parse(resumed.stdout) as RunRecord;
  assert.equal(run.status, "succeeded");
  assert.equal((run.facts as { sourceSite: string }).sourceSite, from);
  assert.equal((run.facts as { targetSite: string }).targetSite, to);
  assert.ok(run.verification?.ok);
  assert.equal(run.measurements.rto.pass, true);
  assert.ok(run.notes.some((n) => n.startsWith("resumed at")));
  return run;
}

test("killed in the middle of the restore: resume restores again (delta) and finishes", async () => {
  const run = killAndResume("kill-during:restore", "primary", "secondary", { fromAnotherMachine: true });
  const lease = await readLease(new FileSharedStore(join(t.dir, "shared")), "lab");
  assert.ok(lease?.doc.released, "the resumed run released the lease");
  assert.equal(lease?.doc.runId, run.runId);
  assert.equal(run.facts.leaseEpoch, lease?.doc.epoch);
  const attempts = Object.fromEntries(run.steps.map((s) => [s.id, s.attempts]));
  assert.deepEqual(attempts, { assess: 1, fence: 1, "bring-up": 1, restore: 2, verify: 1, open: 1, "swap-dns": 1, "first-write": 1, "post-checks": 1, report: 1 });
  assert.equal(await t.lab.activeSite(), "secondary");
  const c = await t.lab.connect("secondary");
  await c.query("insert into fp_dr.heartbeat (at, writer) values (now(), 'test')");
  await c.end();
});

test("killed right after the gate, failing back: nothing before the kill is redone", async () => {
  const run = killAndResume("kill-after:verify", "secondary", "primary");
  for (const s of run.steps) assert.equal(s.attempts, 1, `${s.id} ran ${s.attempts} times`);
  assert.equal(await t.lab.activeSite(), "primary");
});

/** Every file under `dir` with its size and modification time: what "nothing changed" compares. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const st = statSync(p);
        out.push(`${p} ${st.size} ${st.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return out.sort();
}

async function waitFor(what: string, ok: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("a restore left copying by a killed run: a second restore and open are refused, resume ends it first, the new primary stays whole", async () => {
  const dataDir = t.lab.layout.dataDir("secondary");
  const mark = join(t.dir, "stopped-restore.pids");
  const running = drAsync(t.dir, ["failover", "--scenario", "datacenter", "--yes", "--json"], { FP_DR_FAULT: "stop-during:restore", FP_DR_FAULT_MARK: mark });
  let stopped: number[] = [];
  try {
    await waitFor("the restore to be stopped mid-copy", () => existsSync(mark) && readFileSync(mark, "utf8").endsWith("\n"));
    assert.notEqual(readFileSync(mark, "utf8"), "gone\n", "the copy ended before the fault could stop it");
    stopped = readFileSync(mark, "utf8").split("\n").filter(Boolean).map(Number);
    const copy = stopped.map((pid) => processInfo(pid)!);
    assert.ok(copy.every((p) => p?.state === "T"), "the copy is stopped, not finished");
    assert.ok(copy.some((p) => isRestoreInto(p, dataDir)), copy.map((p) => p.argv.join(" ")).join("\n"));
    const holder = readRestoreLock(restoreLockPath(dataDir));
    assert.ok(holder && processInfo(holder.pid), "the running failover holds the target's lock");
    assert.ok(holder.children.some((c) => c.pid === stopped[0]), "the lock records the pgBackRest process it started");
    assert.match(holder.runId ?? "", /^datacenter-/);

    // A second restore into the same target: refused before anything is touched.
    const before = snapshot(dataDir);
    await assert.rejects(restore(t.deps(), { to: "secondary", overwrite: true, yes: true }), (e: { code?: string }) => e.code === "RESTORE_TARGET_LOCKED");
    assert.deepEqual(snapshot(dataDir), before, "the refused restore changed nothing");
    assert.ok(stopped.every((pid) => processInfo(pid)?.state === "T"), "the running restore was left alone");
    // Opening the site while the copy is alive there: refused.
    await assert.rejects(new LocalEngine(() => t.lab).openForWrites("secondary"), (e: { code?: string; message: string }) => e.code === "FOREIGN_WRITER" && e.message.includes(`pid ${stopped[0]}`));

    // kill -9 of dr: its pgBackRest processes stay behind, stopped mid-copy.
    process.kill(holder.pid, "SIGKILL");
    assert.equal((await running).signal, "SIGKILL");
    assert.ok(stopped.every((pid) => processInfo(pid)?.state === "T"), "the copy outlived the run");

    const runId = newestRun();
    const resumed = drSync(t.dir, ["resume", runId, "--json"]);
    assert.equal(resumed.code, 0, resumed.stderr + resumed.stdout.slice(0, 2000));
    const run = JSON.parse(resumed.stdout) as RunRecord;
    assert.equal(run.status, "succeeded");
    assert.equal(await t.lab.activeSite(), "secondary");
    for (const pid of stopped) {
      assert.equal(processInfo(pid), undefined, `leftover pid ${pid} was ended`);
      assert.ok(run.notes.some((n) => n.includes(`ended pid ${pid}`)), `the run says it ended pid ${pid}: ${run.notes.join(" | ")}`);
    }
    assert.equal(existsSync(restoreLockPath(dataDir)), false, "the resumed restore released the lock");
  } finally {
    // Whatever a failing run left: continued and killed, never left stopped behind.
    for (const pid of stopped) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone, as it should be
      }
    }
  }

  // The new primary's data stays whole: commits through the service name are all there after
  // a checkpoint, and every page reads back clean.
  const app = await t.lab.connectService();
  try {
    for (let i = 0; i < 200; i++) await app.query("insert into fp_dr.heartbeat (at, writer) values (now(), 'after the leftover')");
  } finally {
    await app.end();
  }
  const c = await t.lab.connect("secondary");
  try {
    await c.query("checkpoint");
    await new Promise((r) => setTimeout(r, 2000));
    const n = (await c.query("select count(*)::int n from fp_dr.heartbeat where writer = 'after the leftover'")).rows[0].n;
    assert.equal(n, 200);
  } finally {
    await c.end();
  }
  const report = await checkCorruption(t.deps(), { site: "secondary" });
  assert.equal(report.classification, "clean", renderCorruptionReport(report));
});

test("open refuses while a process other than the server writes into the data directory", async () => {
  const site = (await t.lab.activeSite())!;
  const dataDir = t.lab.layout.dataDir(site);
  const engine = new LocalEngine(() => t.lab);
  // A real process holding a file in the data directory open for writing.
  const writer = spawn("sh", ["-c", 'exec 3>>"$1/fp-dr-foreign-writer"; exec sleep 300', "sh", dataDir], { stdio: "ignore" });
  try {
    await waitFor("the writer to open its file", () => readdirSync(`/proc/${writer.pid}/fd`).length > 3 && existsSync(join(dataDir, "fp-dr-foreign-writer")), 10_000);
    await assert.rejects(engine.openForWrites(site), (e: { code?: string; message: string; hint?: string }) => e.code === "FOREIGN_WRITER" && e.message.includes(`pid ${writer.pid}`) && /end those processes/.test(e.hint ?? ""));
  } finally {
    writer.kill("SIGKILL");
  }
  await new Promise((r) => writer.once("exit", r));
  rmSync(join(dataDir, "fp-dr-foreign-writer"), { force: true });
  await engine.openForWrites(site);
});

test("two operators start a failover at once: exactly one proceeds, the other fails at once naming the holder", async () => {
  const from = (await t.lab.activeSite())!;
  const a = elsewhere("c");
  const b = elsewhere("d");
  const args = ["failover", "--scenario", "datacenter", "--yes", "--json"];
  const journalBefore = readdirSync(join(t.dir, "journal")).filter((f) => f.endsWith(".json"));
  const started = Date.now();
  let loserDone = 0;
  const runs = await Promise.all([drAsync(t.dir, args, a.env, a.cwd), drAsync(t.dir, args, b.env, b.cwd)].map((p) => p.then((r) => (r.code !== 0 && !loserDone && (loserDone = Date.now() - started), r))));
  const winners = runs.filter((r) => r.code === 0);
  const losers = runs.filter((r) => r.code !== 0);
  assert.equal(winners.length, 1, runs.map((r) => r.stderr.slice(-500)).join("\n---\n"));
  assert.equal(losers.length, 1);
  const won = JSON.parse(winners[0].stdout) as RunRecord;
  assert.equal(won.status, "succeeded");
  assert.equal((won.facts as { sourceSite: string }).sourceSite, from);
  const lost = JSON.parse(losers[0].stdout) as { error: { code: string; message: string } };
  assert.equal(lost.error.code, "RUN_LOCKED");
  assert.match(lost.error.message, new RegExp(`another run holds the lab lease: datacenter run ${won.runId} \\(pid \\d+ of \\S+@\\S+`));
  assert.ok(loserDone < 15_000, `the second failed at once (${loserDone} ms), not after the first finished`);
  const journalled = readdirSync(join(t.dir, "journal")).filter((f) => f.endsWith(".json"));
  assert.deepEqual(journalled.filter((f) => !journalBefore.includes(f)), [`${won.runId}.json`], "the refused run left no journal: it never started");
  assert.notEqual(await t.lab.activeSite(), from, "the one failover that ran moved the service name");

  // Nothing secret in the shared store: the lease, every journal copy, every report.
  const secrets = Object.values(JSON.parse(readFileSync(join(t.dir, "secrets.json"), "utf8"))) as string[];
  const docs: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(join(d, e.name)) : docs.push(readFileSync(join(d, e.name), "utf8"));
  };
  walk(join(t.dir, "shared"));
  const inStore = sharedDocuments(t);
  assert.ok(inStore.has(`runs/lab/${won.runId}.json`) && inStore.has(`runs/lab/${won.runId}/report.json`), "the run's journal and report are in the lab's object store");
  docs.push(...inStore.values());
  assert.ok(docs.length >= 8, `lease, journals and reports are in the shared store (${docs.length} documents)`);
  for (const s of secrets) assert.ok(!docs.some((d) => d.includes(s)), `a secret is in the shared store (…${s.slice(-4)})`);

  // A machine without the run's report reads it from the object store: `dr report list` fetches it.
  rmSync(join(t.dir, "reports", won.runId), { recursive: true });
  const listed = drSync(t.dir, ["report", "list", "--json"]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.ok((JSON.parse(listed.stdout) as { reports: { runId: string }[] }).reports.some((r) => r.runId === won.runId), "listed from the shared store");
  assert.equal(readFileSync(join(t.dir, "reports", won.runId, "report.json"), "utf8"), inStore.get(`runs/lab/${won.runId}/report.json`));
});

test("a run whose lease was broken and taken by another run is refused at its next step and changes nothing", async () => {
  const from = (await t.lab.activeSite())!;
  const mark = join(t.dir, "stopped-run.mark");
  // Stopped right before its fence (a laptop that sleeps, a stalled VM): nothing changed yet.
  const child = spawn(process.execPath, [DR_CLI, "failover", "--scenario", "datacenter", "--yes", "--json"], { env: { ...process.env, FP_DR_LAB_DIR: t.dir, FP_DR_STANDBY: "false", FP_DR_FAULT: "stop-before:fence", FP_DR_FAULT_MARK: mark } });
  let stdout = "";
  child.stdout.on("data", (d) => (stdout += d));
  const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
  try {
    await waitFor("the failover to stop itself before the fence", () => existsSync(mark) && processInfo(child.pid!)?.state === "T", 60_000);
    // Another operator breaks the lease and runs a drill, which takes it with a higher epoch.
    const broke = drSync(t.dir, ["lease", "break", "--yes", "--json"]);
    assert.equal(broke.code, 0, broke.stderr);
    const drill = drSync(t.dir, ["drill", "--json"]);
    assert.equal(drill.code, 0, drill.stderr.slice(-2000));
  } finally {
    process.kill(child.pid!, "SIGCONT");
  }
  assert.notEqual(await exited, 0);
  const out = JSON.parse(stdout) as { runId?: string; error?: { code: string; message: string } };
  const runId = out.runId ?? readdirSync(join(t.dir, "journal")).filter((f) => f.startsWith("datacenter-")).sort().pop()!.replace(/\.json$/, "");
  const record = JSON.parse(readFileSync(join(t.dir, "journal", `${runId}.json`), "utf8")) as RunRecord;
  assert.equal(record.status, "failed");
  assert.equal(record.error?.code, "LEASE_LOST");
  assert.match(record.error!.message, /this run's lease \(epoch \d+\) is no longer current: it was released by run drill-/);
  for (const id of ["fence", "bring-up", "restore", "swap-dns"]) assert.notEqual(record.steps.find((s) => s.id === id)?.status, "done", `${id} ran`);
  assert.equal(await t.lab.activeSite(), from, "the service name still answers with the site it answered with");
  assert.equal(existsSync(join(t.lab.layout.dataDir(from), "FENCED_BY_FP_DR")), false, "the source was not fenced");
  const c = await t.lab.connect(from);
  await c.query("insert into fp_dr.heartbeat (at, writer) values (now(), 'after the refused run')");
  await c.end();
});
