// Scenario: what an operator meets at a terminal and when they stop a run, on one real lab.
// Proves:
//   - under a pseudo-terminal, a failover's confirmation shows `[y/N]` with the live display
//     paused and the cursor shown; declining records the run as cancelled (not failed), and
//     without a terminal and without --yes the run is refused before it starts;
//   - a drill's report says who ran it with which tool, commit, PostgreSQL and pgBackRest, its
//     gate's "N checks passed" is the report's N/N, its RTO basis names the copy; the summary
//     counts the steps instead of repeating them; the next drill's restore estimate comes from
//     the drill just measured; `dr health` fits 80 columns;
//   - `dr host apply` on a site: a dry run changes nothing; a changed setting is written, the
//     server reloaded and the value visible in pg_settings; a second run finds nothing to do; a
//     setting that needs a restart is reported pending (--no-restart) then restarted for; a
//     value the server rejects is put back; pgbackrest.conf follows the config, never shown;
//   - the offsite store killed: `dr lab status` exits 1 saying it is down, `dr health` and
//     `dr drill` end within 15 s naming the store;
//   - SIGTERM, SIGINT and SIGHUP stop a failover or a drill cleanly: exit 130, `interrupted: <scenario>
//     run <id> at step <step>` and its hint (`dr resume <id>` only when resumable), the journal, its
//     shared copy and `dr report list` say interrupted, the lease is released, no process or restore
//     lock is left and the drill's site is gone (the next drill takes the same address); a site a
//     live run holds is not removable; a drill killed -9 leaves one that `dr lab status` lists and
//     `dr lab remove-site --yes` removes.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { objectStoreInfo } from "../automation/engines/local/object-store";
import { stringify } from "yaml";
import type { HostApplyResult } from "../automation/host-config/apply";
import { processInfo } from "../automation/system/leftovers";
import { AUDIT_PREFIX } from "../automation/plans/drill-steps";
import { drAsync, drChild, drOnTerminal, until } from "./harness/cli";
import { sharedDocuments, startTestLab, type TestLab } from "./harness/lab";

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
    // The audit after the RTO adds its own checks (amcheck and orphans on the copy) to the report's.
    const audited = run.verification.checks.filter((c: { name: string }) => c.name.startsWith(AUDIT_PREFIX)).length;
    assert.equal(n + audited, run.verification.checks.length, `the gate's "${gate.detail}" plus the audit's ${audited} are the report's count`);
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

describe("dr host apply: a config change reaches a running site without a rebuild", () => {
  /** A dr config file for this lab (the lab's own defaults plus `extra`), for `--config`. */
  function configWith(name: string, extra: Record<string, unknown>): string {
    const file = join(t.dir, `${name}.yaml`);
    writeFileSync(file, stringify({ lab: { dir: t.dir }, ...extra }));
    return file;
  }
  async function apply(config: string, ...flags: string[]) {
    const r = await drAsync(t.dir, ["--config", config, "host", "apply", "--site", "primary", "--json", ...flags]);
    return { ...r, result: r.code === 0 ? (JSON.parse(r.stdout) as HostApplyResult) : undefined };
  }
  async function setting(name: string): Promise<{ setting: string; pending_restart: boolean }> {
    const c = await t.lab.connect("primary", "postgres");
    try {
      return (await c.query("select setting, pending_restart from pg_settings where name = $1", [name])).rows[0];
    } finally {
      await c.end();
    }
  }
  const statusOf = (r: HostApplyResult, file: string) => r.files.find((f) => f.path.endsWith(`/${file}`))?.status;

  test("dry run changes nothing; apply writes what changed and reloads; a second run finds nothing to do", async () => {
    const dataDir = t.lab.layout.dataDir("primary");
    const hostConf = join(dataDir, "fp-dr-host.conf");
    const a = configWith("host-a", { alerts: { slowQuery: "7s" }, serverSettings: { work_mem: "8MB" } });
    const confBefore = readFileSync(join(dataDir, "postgresql.conf"), "utf8");

    const dry = await apply(a, "--dry-run");
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(statusOf(dry.result!, "fp-dr-host.conf"), "created");
    assert.equal(statusOf(dry.result!, "postgresql.conf"), "changed");
    assert.equal(dry.result!.files.find((f) => f.path === t.lab.site("primary").configPath)?.status, "unchanged", "pgbackrest.conf as lab up wrote it");
    assert.equal(dry.result!.postgres.action, "reload");
    assert.equal(existsSync(hostConf), false, "a dry run writes nothing");
    assert.equal(readFileSync(join(dataDir, "postgresql.conf"), "utf8"), confBefore);
    assert.equal((await setting("work_mem")).setting, "4096", "nor reloads anything");

    const applied = await apply(a);
    assert.equal(applied.code, 0, applied.stderr);
    const r = applied.result!;
    assert.deepEqual(r.files.find((f) => f.path === hostConf)?.settings, ["log_min_duration_statement", "work_mem"]);
    assert.equal(statusOf(r, "postgresql.conf"), "changed");
    assert.equal(r.postgres.reloaded, true);
    assert.deepEqual(r.postgres.pendingRestart, []);
    assert.equal((await setting("log_min_duration_statement")).setting, "7000");
    assert.equal((await setting("work_mem")).setting, "8192", "8MB, in kB");
    const st = statSync(hostConf);
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(st.uid, t.lab.user.uid, "owned by the service user");

    const again = await apply(a);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(again.result!.files.every((f) => f.status === "unchanged"), JSON.stringify(again.result!.files));
    assert.equal(again.result!.postgres.action, "none");
    const text = await drAsync(t.dir, ["--config", a, "host", "apply", "--site", "primary"]);
    assert.match(text.stdout, /primary: 0 of 3 files unchanged: nothing to do/);
  });

  test("a setting that needs a restart is reported pending, then restarted for; a rejected value is put back", async () => {
    const b = configWith("host-b", { alerts: { slowQuery: "7s" }, serverSettings: { work_mem: "8MB", max_wal_senders: 12 } });
    const held = await apply(b, "--no-restart");
    assert.equal(held.code, 0, held.stderr);
    assert.deepEqual(held.result!.postgres.pendingRestart, ["max_wal_senders"]);
    assert.equal(held.result!.postgres.restarted, false);
    assert.deepEqual(await setting("max_wal_senders"), { setting: "10", pending_restart: true });

    const restarted = await apply(b);
    assert.equal(restarted.code, 0, restarted.stderr);
    assert.ok(restarted.result!.files.every((f) => f.status === "unchanged"));
    assert.equal(restarted.result!.postgres.restarted, true);
    assert.deepEqual(await setting("max_wal_senders"), { setting: "12", pending_restart: false });

    const hostConf = join(t.lab.layout.dataDir("primary"), "fp-dr-host.conf");
    const good = readFileSync(hostConf, "utf8");
    const bad = await apply(configWith("host-bad", { alerts: { slowQuery: "7s" }, serverSettings: { work_mem: "plenty", max_wal_senders: 12 } }));
    assert.equal(bad.code, 6, bad.stdout + bad.stderr);
    const error = JSON.parse(bad.stdout).error as { code: string; message: string };
    assert.equal(error.code, "HOST_CONFIG_REJECTED");
    assert.match(error.message, /^the server of primary rejected its new configuration \(.*fp-dr-host\.conf:\d+: .*work_mem.*\); the previous files are back in place and reloaded/);
    assert.equal(readFileSync(hostConf, "utf8"), good, "the file as it was");
    assert.equal((await setting("work_mem")).setting, "8192");

    // pgBackRest's file follows the config too; its passphrases are never shown.
    const c = await apply(configWith("host-c", { alerts: { slowQuery: "7s" }, serverSettings: { work_mem: "8MB", max_wal_senders: 12 }, pgbackrest: { processMax: 3 } }));
    assert.equal(c.code, 0, c.stderr);
    const pgb = c.result!.files.find((f) => f.path === t.lab.site("primary").configPath)!;
    // process-max, and the restore's own (twice it) with it.
    assert.deepEqual([pgb.status, pgb.added, pgb.removed], ["changed", 2, 2]);
    assert.equal(c.result!.postgres.action, "none", "no server file changed: no reload");
    assert.match(readFileSync(t.lab.site("primary").configPath, "utf8"), /^process-max=3$/m);
    assert.match(readFileSync(t.lab.site("primary").configPath, "utf8"), /^\[global:restore\]\nprocess-max=6$/m);
    for (const secret of [t.lab.secrets.repo1CipherPass, t.lab.secrets.repo2CipherPass]) assert.ok(!c.stdout.includes(secret));
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
      // Starting the store loads the AWS SDK, which warns about its own future Node requirement:
      // nothing an operator can act on mid-run, so dr keeps it off their screen.
      assert.doesNotMatch(up.stderr, /NodeVersionSupportWarning|Warning:/, up.stderr);
    }
  });
});

/** With the store dead: lab status exits 1 saying so; health and a drill end within 15 s naming it. */
async function deadStoreChecks(store: { endpoint: string }) {
  const status = await drAsync(t.dir, ["lab", "status"]);
  assert.equal(status.code, 1, status.stdout + status.stderr);
  assert.match(status.stdout, /DOWN: offsite object store/);
  assert.match(status.stdout, new RegExp(`shared store: runs/ in s3://fp-dr-shared/fp-dr/, the rest in ${t.dir}/shared`));

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
  // Its journal copies (in the dead store) failed once, said once; the run did not wait per step.
  const journal = JSON.parse(readFileSync(join(t.dir, "journal", `${run.runId}.json`), "utf8")) as { notes: string[] };
  const notCopied = journal.notes.filter((n) => n.startsWith("journal not copied to the shared store"));
  assert.equal(notCopied.length, 1, journal.notes.join("\n"));
  assert.match(notCopied[0], /the shared store s3:\/\/fp-dr-shared\/fp-dr\/ did not answer writing runs\/lab\/drill-.*: ECONNREFUSED/);
  // The reports of the runs are still listed (from this machine), the store's silence said.
  started = Date.now();
  const list = await drAsync(t.dir, ["report", "list", "--json"]);
  const listMs = Date.now() - started;
  assert.equal(list.code, 0, list.stderr);
  assert.ok(JSON.parse(list.stdout).reports.some((r: { runId: string }) => r.runId === run.runId));
  assert.ok(listMs < 10_000, `report list took ${listMs} ms`);
  const said = await drAsync(t.dir, ["report", "list"]);
  assert.equal(said.code, 0, said.stderr);
  assert.match(said.stderr, /warning: runs in the shared store not read: the shared store s3:\/\/fp-dr-shared\/fp-dr\/ did not answer listing runs\/lab\/: ECONNREFUSED/);
  console.log(`store killed: dr health ${healthMs} ms, dr drill ${drillMs} ms, dr report list ${listMs} ms`);
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

describe("interruptions", () => {
  /** Starts `dr <args> --json` with a fault, waits for its mark, signals it; its result, stdout parsed. */
  async function interrupted(args: string[], fault: string, signal: NodeJS.Signals) {
    const mark = join(t.dir, `fault-${signal}.mark`);
    const run = drChild(t.dir, [...args, "--json"], { FP_DR_FAULT: fault, FP_DR_FAULT_MARK: mark });
    await until(`${fault} reached`, () => existsSync(mark), 120_000);
    // The mark is written just before the process stops itself: a signal sent in between would be
    // taken before the stop, and the SIGCONT after it would find nothing to continue.
    if (fault.startsWith("stop-before:")) await until("the process stopped", () => processInfo(run.child.pid!)?.state === "T", 10_000);
    // The test runs it as root: the interrupted line and the run id must come out whatever it was doing.
    run.child.kill(signal);
    // A stop-before fault stopped the process itself: the signal waits until it is continued.
    if (fault.startsWith("stop-before:")) run.child.kill("SIGCONT");
    const r = await run.result;
    // A run that did not succeed prints the failure envelope, the run record under `result`.
    const doc = JSON.parse(r.stdout) as { result?: unknown };
    return { ...r, run: (doc.result ?? doc) as { runId: string; status: string; error?: { code: string; message: string }; steps: { id: string; status: string; detail?: string }[] } };
  }

  /** Everything left running or locked in the lab by a drill site or a restore. */
  function leftBehind(): string[] {
    const procs = readdirSync("/proc")
      .filter((p) => /^\d+$/.test(p))
      .map((p) => {
        try {
          return `${p}: ${readFileSync(`/proc/${p}/cmdline`, "utf8").replace(/\0/g, " ")}`;
        } catch {
          return "";
        }
      })
      .filter((c) => c.includes(`${t.dir}/sites/drill-`) || (c.includes("pgbackrest") && c.includes(t.dir)));
    const locks = readdirSync(join(t.dir, "sites"), { recursive: true }).map(String).filter((f) => f.endsWith(".restore.lock"));
    return [...procs, ...locks];
  }

  async function assertCleanedUp(runId: string, status = "interrupted") {
    const journal = JSON.parse(readFileSync(join(t.dir, "journal", `${runId}.json`), "utf8"));
    assert.equal(journal.status, status);
    assert.equal(journal.error?.code, "INTERRUPTED");
    const shared = JSON.parse(sharedDocuments(t).get(`runs/${t.config.environment}/${runId}.json`) ?? "{}");
    assert.equal(shared.status, status, "the shared store's copy says so too");
    assert.equal((await reportList()).find((s) => s.runId === runId)?.status, status, "listed by dr report list");
    const lease = JSON.parse(readFileSync(join(t.dir, "shared", "lease", `${t.config.environment}.json`), "utf8"));
    assert.equal(lease.runId, runId);
    assert.ok(lease.released, "the lease was released, not left to expire");
    assert.deepEqual(leftBehind(), []);
    assert.deepEqual(Object.keys(t.lab.state.sites).filter((s) => s.startsWith("drill-")), [], "no drill site left in lab.json");
  }

  test("SIGTERM, SIGINT, SIGHUP in a failover and in drills: journaled interrupted, listed, cleaned up; a drill killed -9 leaves a site that status lists and remove-site removes", async (tc) => {
    // A failover stopped as it begins (nothing changed yet): resumable, so the hint is `dr resume <id>`.
    let started = Date.now();
    const failover = await interrupted(["failover", "--scenario", "datacenter", "--yes"], "stop-before:assess", "SIGTERM");
    assert.equal(failover.code, 130, failover.stderr);
    assert.match(failover.stderr, new RegExp(`^interrupted: datacenter run ${failover.run.runId} at step assess$`, "m"));
    assert.match(failover.stderr, new RegExp(`^hint: dr resume ${failover.run.runId}$`, "m"));
    assert.equal(failover.run.status, "interrupted");
    await assertCleanedUp(failover.run.runId);
    assert.equal(await t.lab.activeSite(), "primary", "nothing was failed over");
    tc.diagnostic(`failover SIGTERM at assess: ${Date.now() - started} ms`);

    // A drill frozen before its gate holds its site: neither listed as a leftover nor removable.
    // Its terminal goes away (SIGHUP): the drill's running cluster is stopped and its site removed;
    // a Ctrl-C during that clean-up does not cut it short.
    started = Date.now();
    const mark = join(t.dir, "fault-held.mark");
    const held = drChild(t.dir, ["drill", "--json"], { FP_DR_FAULT: "stop-before:verify", FP_DR_FAULT_MARK: mark });
    await until("the drill stopped before its gate", () => existsSync(mark) && processInfo(held.child.pid!)?.state === "T", 120_000);
    const site = Object.keys(t.lab.state.sites).find((s) => s.startsWith("drill-"))!;
    const address = t.lab.state.sites[site].address;
    assert.equal(t.lab.site(site).cluster.state(), "running");
    const refused = await drAsync(t.dir, ["lab", "remove-site", site, "--yes"]);
    assert.equal(refused.code, 5, refused.stderr);
    assert.match(refused.stderr, new RegExp(`error\\[SITE_IN_USE\\]: refusing to remove site ${site}: run drill-\\S+ holds it`));
    // Both wait for the process to continue, then come one after the other: the second arrives
    // during the clean-up the first began, is said, and changes nothing of it.
    held.child.kill("SIGHUP");
    held.child.kill("SIGINT");
    held.child.kill("SIGCONT");
    const drill = await held.result;
    const doc = JSON.parse(drill.stdout);
    const run = doc.result ?? doc;
    assert.equal(drill.code, 130, drill.stderr);
    assert.match(drill.stderr, new RegExp(`^interrupted: drill run ${run.runId} at step verify$`, "m"));
    // Two signals pending on a stopped process arrive in an order the kernel picks: whichever
    // came first interrupts the run, the other is said during the clean-up.
    const first = /^interrupted by (SIGHUP|SIGINT) at step verify$/.exec(run.error.message)?.[1];
    assert.ok(first, `the run names the signal that interrupted it: ${run.error.message}`);
    const second = first === "SIGHUP" ? "SIGINT" : "SIGHUP";
    assert.match(drill.stderr, new RegExp(`^interrupted: ${second} during the clean-up: it goes on`, "m"));
    assert.doesNotMatch(drill.stderr, /dr resume/, "a drill that removed its site is not resumable");
    assert.match(drill.stderr, /^hint: start a new drill/m);
    assert.equal(run.steps.find((s: { id: string }) => s.id === "destroy")?.status, "done");
    await assertCleanedUp(run.runId);
    tc.diagnostic(`drill SIGHUP before verify: ${Date.now() - started} ms`);

    // Ctrl-C at a terminal while pgBackRest copies (frozen mid-copy): its processes are ended, not
    // orphaned, and the live display gives the cursor back.
    started = Date.now();
    const copying = join(t.dir, "fault-copying.mark");
    const term = drOnTerminal(t.dir, ["drill"], { FP_DR_FAULT: "stop-during:restore", FP_DR_FAULT_MARK: copying });
    await until("pgBackRest frozen mid-copy", () => existsSync(copying), 120_000);
    assert.ok(term.output.lastIndexOf("\x1b[?25l") > term.output.lastIndexOf("\x1b[?25h"), "the live display hides the cursor");
    term.type("\x03");
    assert.equal(await term.exited, 130, term.output);
    const text = term.output.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
    const runId = /interrupted: drill run (\S+) at step restore\r?\n/.exec(text)?.[1];
    assert.ok(runId, term.output);
    assert.ok(term.output.lastIndexOf("\x1b[?25h") > term.output.lastIndexOf("\x1b[?25l"), "the cursor is shown again");
    const ctrlC = JSON.parse(readFileSync(join(t.dir, "journal", `${runId}.json`), "utf8"));
    assert.match(ctrlC.steps.find((s: { id: string }) => s.id === "restore").detail, /^interrupted by SIGINT/);
    // The next drill took the same address: the interrupted one left nothing to push it along.
    assert.match(ctrlC.steps.find((s: { id: string }) => s.id === "create-site").detail, new RegExp(`at ${address.replace(/\./g, "\\.")}:`));
    await assertCleanedUp(runId);
    tc.diagnostic(`drill Ctrl-C during the restore's copy: ${Date.now() - started} ms`);

    // kill -9 leaves its site: listed by `dr lab status`, refused without --yes, removed with it.
    const killed = await drAsync(t.dir, ["drill", "--json"], { FP_DR_FAULT: "kill-after:create-site" });
    assert.equal(killed.signal, "SIGKILL");
    const left = Object.keys(t.lab.state.sites).find((s) => s.startsWith("drill-"))!;
    assert.equal(t.lab.state.sites[left].address, address);
    const status = await drAsync(t.dir, ["lab", "status", "--json"]);
    assert.deepEqual(JSON.parse(status.stdout).leftovers, [left], status.stdout);
    const primary = await drAsync(t.dir, ["lab", "remove-site", "primary", "--yes"]);
    assert.match(primary.stderr, /error\[SITE_IN_USE\]: refusing to remove site primary: it is the lab's primary/);
    const unconfirmed = await drAsync(t.dir, ["lab", "remove-site", left]);
    assert.match(unconfirmed.stderr, /error\[NOT_CONFIRMED\]/);
    assert.ok(t.lab.state.sites[left], "nothing removed without confirmation");
    const removed = await drAsync(t.dir, ["lab", "remove-site", left, "--yes"]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(t.lab.state.sites[left], undefined);
  });
});
