// Scenario: what an operator meets at a terminal and when they stop a run, on one real lab.
// Proves:
//   - under a pseudo-terminal, a failover's confirmation shows `[y/N]` with the live display
//     paused and the cursor shown; declining records the run as cancelled (not failed), and
//     without a terminal and without --yes the run is refused before it starts;
//   - a drill's report says who ran it with which tool, commit, PostgreSQL and pgBackRest, its
//     gate's "N checks passed" is the report's N/N, its RTO basis names the copy; the summary
//     counts the steps instead of repeating them; the next drill's restore estimate comes from
//     the drill just measured; `dr health` fits 80 columns;
//   - the offsite store killed: `dr lab status` exits 1 saying it is down, `dr health` and
//     `dr drill` end within 15 s naming the store.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { objectStoreInfo } from "../automation/engines/local/object-store";
import { drAsync, drOnTerminal, until } from "./harness/cli";
import { startTestLab, type TestLab } from "./harness/lab";

let t: TestLab;

before(async () => {
  t = await startTestLab();
});
after(async () => {
  await t?.destroy();
});

async function reportList(): Promise<{ runId: string; status: string; verdict: string }[]> {
  const r = await drAsync(t.dir, ["report", "list", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).reports;
}

describe("confirmations", () => {
  test("without a terminal and without --yes a failover is refused before it starts", async () => {
    const before = await reportList();
    const r = await drAsync(t.dir, ["failover", "--scenario", "datacenter"]);
    assert.equal(r.code, 12, r.stderr);
    assert.match(r.stderr, /error\[NOT_CONFIRMED\]: .*needs confirmation; nothing was started/);
    assert.deepEqual(await reportList(), before, "no run recorded");
    assert.equal(await t.lab.activeSite(), "primary");
  });

  test("on a terminal the question shows [y/N] over a paused display; declining cancels the run", async () => {
    const term = drOnTerminal(t.dir, ["failover", "--scenario", "datacenter"]);
    await until("the confirmation question", () => /\[y\/N\]/.test(term.output), 120_000);
    const asked = term.output.length;
    // The display would redraw five times a second; paused, nothing is written while we wait.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(term.output.slice(asked), "", "nothing drawn over the question");
    const shown = term.output.lastIndexOf("\x1b[?25h");
    assert.ok(shown > term.output.lastIndexOf("\x1b[?25l"), "the cursor is shown while asking");
    term.type("n\r");
    const code = await term.exited;
    assert.equal(code, 12, term.output);
    assert.match(term.output, /CANCELLED/);
    const runId = /datacenter run (\S+): CANCELLED/.exec(term.output)?.[1];
    assert.ok(runId, term.output);
    const listed = (await reportList()).find((s) => s.runId === runId);
    assert.equal(listed?.status, "cancelled");
    assert.equal(listed?.verdict, "CANCELLED");
    assert.equal(await t.lab.activeSite(), "primary", "nothing was failed over");
  });
});

describe("a drill's report, the next estimate, the width of the output", () => {
  test("provenance, counts and basis in the report; the estimate from this lab's measured restore; health in 80 columns", async () => {
    const r = await drAsync(t.dir, ["drill", "--yes"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^steps: \d+ done/m, "the summary counts the steps");
    assert.doesNotMatch(r.stdout, /┌/, "no table repeating the step lines");
    const runId = /drill run (\S+): SUCCEEDED/.exec(r.stdout)?.[1];
    assert.ok(runId, r.stdout);
    const run = JSON.parse(readFileSync(join(t.dir, "journal", `${runId}.json`), "utf8"));
    const gate = run.steps.find((s: { id: string }) => s.id === "verify");
    const n = Number(/^(\d+) checks passed/.exec(gate.detail)?.[1]);
    assert.equal(n, run.verification.checks.length, `the gate's "${gate.detail}" is the report's count`);
    assert.match(run.measurements.rto.basis, /first successful write to the restored copy/);
    assert.match(run.provenance.operator, /^root@/);
    assert.match(run.provenance.postgres, /^15\./);
    assert.match(run.provenance.pgbackrest, /^2\.45/);
    const md = await drAsync(t.dir, ["report", "show", runId]);
    assert.match(md.stdout, /\| run by \| root@/);
    assert.ok(md.stdout.split("\n").every((l) => l.length <= 400), "no fact dumped into one long cell");

    // The restore just measured is the history the next estimate uses.
    const measured = run.facts.restore;
    assert.ok(measured.bytes > 0 && measured.filesMs > 0, JSON.stringify(measured));
    const dry = await drAsync(t.dir, ["drill", "--dry-run", "--json"]);
    assert.equal(dry.code, 0, dry.stderr);
    const restore = JSON.parse(dry.stdout).steps.find((s: { id: string }) => s.id === "restore");
    assert.match(restore.detail, /median of the last 1 restore measured in this environment/);

    const health = await drAsync(t.dir, ["health"], { COLUMNS: "80" });
    assert.ok(health.code !== null && health.code <= 2, health.stderr);
    for (const line of health.stdout.split("\n")) assert.ok([...line].length <= 80, `wider than 80: ${line}`);
  });
});

describe("a dead object store", () => {
  test("lab status exits 1 saying so; health and a drill end within 15 s naming the store", async () => {
    const store = objectStoreInfo(t.lab.layout.objectStoreDir)!;
    assert.ok(store.pid, "the store runs");
    process.kill(store.pid, "SIGKILL");
    await until("the store is gone", () => !objectStoreInfo(t.lab.layout.objectStoreDir)!.running, 10_000);
    try {
      await deadStoreChecks(store);
    } finally {
      // Back up, so the primary's archiver (retrying its push) lets the lab stop at teardown.
      const up = await drAsync(t.dir, ["lab", "up"]);
      assert.equal(up.code, 0, up.stderr);
    }
  });
});

/** With the store dead: lab status exits 1 saying so; health and a drill end within 15 s naming it. */
async function deadStoreChecks(store: { endpoint: string }) {
  const status = await drAsync(t.dir, ["lab", "status"]);
  assert.equal(status.code, 1, status.stdout + status.stderr);
  assert.match(status.stdout, /DOWN: offsite object store/);

  let started = Date.now();
  const health = await drAsync(t.dir, ["health", "--json"]);
  const healthMs = Date.now() - started;
  assert.ok(healthMs < 15_000, `health took ${healthMs} ms`);
  const findings = JSON.parse(health.stdout).findings as { check: string; severity: string; message: string }[];
  const repo2 = findings.find((f) => f.check === "repo2-reachable");
  assert.equal(repo2?.severity, "critical", health.stdout);
  assert.match(repo2!.message, new RegExp(`repo2 is unreachable: object store ${store.endpoint.replace(/\./g, "\\.")}`));
  assert.equal(health.code, 2);

  started = Date.now();
  const drill = await drAsync(t.dir, ["drill", "--yes", "--json"]);
  const drillMs = Date.now() - started;
  assert.ok(drillMs < 15_000, `drill took ${drillMs} ms`);
  assert.notEqual(drill.code, 0);
  const run = JSON.parse(drill.stdout);
  assert.equal(run.error?.code ?? run.error, "STORE_UNREACHABLE", drill.stdout);
  assert.match(JSON.stringify(run.error), new RegExp(store.endpoint.replace(/\./g, "\\.")));
  console.log(`store killed: dr health ${healthMs} ms, dr drill ${drillMs} ms`);
  await deadStoreCommands(store);
}

/**
 * Every other command that needs the offsite repository probes it first: it fails within a few
 * seconds with STORE_UNREACHABLE naming the store (unreachable's exit status), and changes nothing.
 */
async function deadStoreCommands(store: { endpoint: string }) {
  const lab = t.lab;
  const snapshot = async () => ({ state: readFileSync(lab.layout.stateFile, "utf8"), sites: lab.siteNames().map((n) => [n, lab.site(n).cluster.state()]), active: await lab.activeSite() });
  const before = await snapshot();
  const endpoint = new RegExp(store.endpoint.replace(/\./g, "\\."));
  const timings: string[] = [];
  for (const args of [
    ["backup", "full"],
    ["backup", "list"],
    ["backup", "verify", "--repo", "2"],
    ["restore", "--dry-run"],
    ["restore", "--to", "secondary", "--overwrite", "--yes"],
    ["failover", "--scenario", "datacenter", "--dry-run"],
    ["recover-table", "--table", "app.households", "--repo", "2", "--before", new Date().toISOString(), "--dry-run"],
  ]) {
    const started = Date.now();
    const r = await drAsync(t.dir, [...args, "--json"]);
    const ms = Date.now() - started;
    timings.push(`${args.slice(0, 2).join(" ")} ${ms} ms`);
    const what = `dr ${args.join(" ")}`;
    assert.ok(ms < 10_000, `${what} took ${ms} ms`);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.error?.code, "STORE_UNREACHABLE", `${what}: ${r.stdout.slice(0, 1500)}${r.stderr}`);
    assert.match(doc.error.message, endpoint, what);
    assert.equal(r.code, 4, what);
  }
  // status reads the posture: a warning naming the repository, in seconds, not an error
  const started = Date.now();
  const status = await drAsync(t.dir, ["status", "--json"]);
  timings.push(`status ${Date.now() - started} ms`);
  assert.ok(Date.now() - started < 10_000, `status took ${Date.now() - started} ms`);
  assert.ok(status.code === 1 || status.code === 2, status.stderr);
  assert.equal(JSON.parse(status.stdout).repos.find((r: { repo: number }) => r.repo === 2).reachable, false);
  assert.deepEqual(await snapshot(), before, "nothing changed");
  console.log(`store killed: ${timings.join(", ")}`);
}
