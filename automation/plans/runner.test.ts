// Proves the runner's promises with a synthetic plan in a child process:
//   - killed (SIGKILL) before or after ANY step, `resume` finishes the run and every step's
//     action has run exactly once (finished steps are never redone);
//   - one run at a time: a live holder of the lease makes a second run fail fast, naming it; a
//     dead holder's lease is taken over with a higher epoch; a run whose lease was broken stops
//     before its next step;
//   - a failed gate stops the plan (later steps skipped, clean-up steps still run); --force
//     goes past it and is recorded; destructive steps need --yes or a confirmation;
//   - only retryable errors are retried;
//   - a stop signal mid-step ends the step's child, records the run interrupted at that step,
//     runs the clean-up, frees the lease; resume finishes the run;
//   - a shared store that stops answering (the lab's arrangement: journal copies in an object
//     store, the lease in files) costs the run one bounded wait, not one per step; it is said once,
//     and the final journal is copied once the store answers again; a store still silent at the
//     end costs one more wait for the final journal and none for the reports.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { hostname, tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import test, { describe } from "node:test";
import { parseConfig } from "../core/load-config";
import { DrError } from "../core/errors";
import { Journal } from "../core/journal";
import { FileSharedStore } from "../core/file-store";
import { RoutedSharedStore } from "../core/routed-store";
import { S3Double } from "../core/s3-double";
import { S3SharedStore } from "../core/s3-store";
import { breakLease, leaseKey, readLease } from "../core/lease";
import { Output } from "../core/output";
import type { Plan, Step } from "./plan";
import { newRecord, resumable, resumeRun, startRun } from "./runner";
import { finishRun, renderRun } from "../commands/recover";
import { datacenterPlan, drillPlan } from "./index";
import type { Engine } from "../engines/engine";
import { deliverInterrupt } from "../core/interrupt";
import { run as execRun } from "../system/exec";
import { processInfo } from "../system/leftovers";

const SCRIPT = join(__dirname, "..", "..", "test", "fixtures", "synthetic-run.ts");
const STEPS = ["s1", "s2", "s3", "s4", "s5"];

function runChild(dir: string, args: string[], fault?: string) {
  return spawnSync(process.execPath, ["--import", "tsx", SCRIPT, dir, ...args], {
    env: { ...process.env, FP_DR_FAULT: fault ?? "" },
    encoding: "utf8",
  });
}

function onlyRun(dir: string): string {
  const files = readdirSync(join(dir, "journal")).filter((f) => f.endsWith(".json"));
  assert.equal(files.length, 1);
  return files[0].replace(/\.json$/, "");
}

describe("killed at any step boundary, a run resumes without redoing anything", () => {
  for (const when of ["before", "after"]) {
    for (const id of STEPS) {
      test(`kill -9 ${when} ${id}`, async () => {
        const dir = mkdtempSync(join(tmpdir(), "fp-dr-runner-"));
        try {
          const first = runChild(dir, ["start"], `kill-${when}:${id}`);
          assert.equal(first.signal, "SIGKILL", first.stderr);
          const runId = onlyRun(dir);
          const journal = new Journal(join(dir, "journal")).load(runId);
          assert.equal(journal.status, "running", "the journal shows a run that did not finish");
          const second = runChild(dir, ["resume", runId]);
          assert.equal(second.status, 0, second.stderr);
          const ran = readFileSync(join(dir, "effects.log"), "utf8").trim().split("\n");
          assert.deepEqual(ran, STEPS, "every step ran exactly once, in order");
          const done = new Journal(join(dir, "journal")).load(runId);
          assert.equal(done.status, "succeeded");
          assert.ok(done.steps.every((s) => s.status === "done"));
          assert.ok(done.notes.some((n) => n.startsWith("resumed at")));
          assert.ok((await readLease(new FileSharedStore(join(dir, "shared")), "lab"))?.doc.released, "the lease is released");
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    }
  }
});

function inProcessDeps(dir: string, confirm?: (q: string) => Promise<boolean>) {
  return {
    engine: { name: "local" } as unknown as Engine,
    config: parseConfig({ lab: { dir } }),
    out: new Output({ json: true }),
    journal: new Journal(join(dir, "journal")),
    store: new FileSharedStore(join(dir, "shared")),
    retryDelayMs: 5,
    confirm,
  };
}

const opts = { dryRun: false, yes: true, force: false };

describe("one run at a time", () => {
  test("a live holder: the second run fails fast and names it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fp-dr-lock-"));
    const holder = spawn("sleep", ["30"]);
    try {
      await writeLease(dir, { runId: "datacenter-x-1", scenario: "datacenter", pid: holder.pid! });
      const started = Date.now();
      const r = runChild(dir, ["start"]);
      assert.equal(r.status, 3);
      assert.match(r.stderr, /RUN_LOCKED another run holds the lab lease: datacenter run datacenter-x-1 \(pid \d+ of \S+@\S+, since .*, epoch 4\)/);
      assert.ok(Date.now() - started < 10_000, "fails fast");
      assert.ok(!existsSync(join(dir, "effects.log")), "nothing ran");
    } finally {
      holder.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a dead holder's lease is taken over with a higher epoch, and the run says so", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fp-dr-lock-"));
    try {
      const deps = inProcessDeps(dir);
      const dead = spawnSync("true").pid!;
      await writeLease(dir, { runId: "drill-old-1", scenario: "drill", pid: dead });
      const plan: Plan = { scenario: "drill", title: "t", runbook: "t", steps: [{ id: "a", name: "a", run: async () => undefined }] };
      const printed: string[] = [];
      const stderr = new Writable({ write: (c, _e, cb) => void (printed.push(String(c)), cb()) });
      const r = await startRun(plan, { ...deps, out: new Output({ json: false, stderr, stdout: stderr }) }, opts);
      assert.equal(r.status, "succeeded");
      assert.ok(r.notes.some((n) => /took over the lease \(epoch 5\) from run drill-old-1/.test(n)));
      assert.equal(r.facts.leaseEpoch, 5);
      assert.match(printed.join(""), /warning: took over the lease \(epoch 5\) from run drill-old-1 \(pid \d+ on .*: gone or expired\)/, "the takeover is said out loud, not only recorded");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a run whose lease was broken stops before its next step and changes nothing more", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fp-dr-lock-"));
    try {
      const deps = inProcessDeps(dir);
      const effects: string[] = [];
      const plan: Plan = {
        scenario: "datacenter",
        title: "t",
        runbook: "t",
        steps: [
          { id: "fence", name: "fence", run: async () => void effects.push("fence") },
          { id: "wait", name: "wait", run: async () => void (await breakLease(deps.store, "lab"), effects.push("wait")) },
          { id: "swap-dns", name: "swap-dns", destructive: true, run: async () => void effects.push("swap-dns") },
        ],
      };
      const r = await startRun(plan, deps, opts);
      assert.equal(r.status, "failed");
      assert.equal(r.error?.code, "LEASE_LOST");
      assert.match(r.error!.message, /lease \(epoch 1\) is no longer current: it was released by dr lease break by \S+@\S+/);
      assert.deepEqual(effects, ["fence", "wait"], "DNS was never swapped by the run that lost its lease");
      const lease = await readLease(deps.store, "lab");
      assert.equal(lease?.doc.epoch, 2, "the break raised the epoch");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A lease held by another process (epoch 4), as that process would have written it. */
async function writeLease(dir: string, who: { runId: string; scenario: string; pid: number }) {
  const now = new Date();
  const doc = {
    environment: "lab",
    epoch: 4,
    runId: who.runId,
    scenario: who.scenario,
    holder: { user: "operator", host: hostname(), pid: who.pid },
    acquiredAt: "2026-11-26T03:00:00Z",
    renewedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + 60_000).toISOString(),
  };
  assert.ok(await new FileSharedStore(join(dir, "shared")).create(leaseKey("lab"), JSON.stringify(doc)));
}

describe("gates, clean-up, confirmation and retries", () => {
  const effects: string[] = [];
  const s = (id: string, extra: Partial<Step> = {}): Step => ({ id, name: id, run: async () => void effects.push(id), ...extra });
  const gate = s("verify", {
    gate: true,
    run: async () => {
      effects.push("verify");
      throw new DrError("GATE_FAILED", "checksums differ", { hint: "x" });
    },
  });
  const plan: Plan = { scenario: "datacenter", title: "t", runbook: "t", steps: [s("restore"), gate, s("swap-dns", { destructive: true }), s("report", { always: true })] };

  test("a failed gate stops the plan; later steps are skipped but clean-up runs", async () => {
    effects.length = 0;
    const dir = mkdtempSync(join(tmpdir(), "fp-dr-gate-"));
    const r = await startRun(plan, inProcessDeps(dir), opts);
    assert.equal(r.status, "failed");
    assert.equal(r.error?.code, "GATE_FAILED");
    assert.deepEqual(effects, ["restore", "verify", "report"], "DNS was never swapped");
    assert.equal(r.steps.find((x) => x.id === "swap-dns")?.status, "skipped");
    rmSync(dir, { recursive: true, force: true });
  });

  test("--force goes past the gate, loudly and on the record", async () => {
    effects.length = 0;
    const dir = mkdtempSync(join(tmpdir(), "fp-dr-gate-"));
    const r = await startRun(plan, inProcessDeps(dir), { ...opts, force: true });
    assert.equal(r.status, "succeeded");
    assert.equal(r.forced, true);
    assert.equal(r.steps.find((x) => x.id === "verify")?.forced, true);
    assert.ok(r.notes.some((n) => n.startsWith("--force")));
    assert.deepEqual(effects, ["restore", "verify", "swap-dns", "report"]);
    rmSync(dir, { recursive: true, force: true });
  });

  test("a destructive step needs --yes or a person's confirmation", async () => {
    effects.length = 0;
    const dir = mkdtempSync(join(tmpdir(), "fp-dr-confirm-"));
    const p2: Plan = { ...plan, steps: [s("restore"), s("swap-dns", { destructive: true }), s("report", { always: true })] };
    // Nobody to ask and no --yes: refused before anything runs, no journal written.
    await assert.rejects(startRun(p2, inProcessDeps(dir), { ...opts, yes: false }), (e: DrError) => e.code === "NOT_CONFIRMED" && /nothing was started/.test(e.message));
    assert.deepEqual(effects, []);
    assert.equal(existsSync(join(dir, "journal")), false);
    const asked: string[] = [];
    const yes = await startRun(p2, inProcessDeps(dir, async (q) => (asked.push(q), true)), { ...opts, yes: false });
    assert.equal(yes.status, "succeeded");
    assert.match(asked[0], /about to swap-dns/);
    rmSync(dir, { recursive: true, force: true });
  });

  test("a declined confirmation cancels the run (not a failure); resume asks again and finishes it", async () => {
    effects.length = 0;
    const dir = mkdtempSync(join(tmpdir(), "fp-dr-decline-"));
    const p2: Plan = { ...plan, steps: [s("restore"), s("swap-dns", { destructive: true }), s("report", { always: true })] };
    const no = await startRun(p2, inProcessDeps(dir, async () => false), { ...opts, yes: false });
    assert.equal(no.status, "cancelled");
    assert.equal(no.error?.code, "NOT_CONFIRMED");
    assert.deepEqual(effects, ["restore", "report"], "nothing of the declined step ran; the report did");
    effects.length = 0;
    const again = await resumeRun(no.runId, () => p2, inProcessDeps(dir, async () => true));
    assert.equal(again.status, "succeeded");
    assert.deepEqual(effects, ["swap-dns", "report"]);
    rmSync(dir, { recursive: true, force: true });
  });

  test("a failed run resumes: the failed step and the ones it held back run, clean-up runs again", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fp-dr-resume-failed-"));
    const ran: string[] = [];
    let attempts = 0;
    const p4: Plan = {
      scenario: "datacenter",
      title: "t",
      runbook: "t",
      steps: [
        s("a", { run: async () => void ran.push("a") }),
        s("b", { run: async () => { ran.push("b"); if (++attempts === 1) throw new DrError("WAL_GAP", "gap", { hint: "x" }); } }),
        s("c", { run: async () => void ran.push("c") }),
        s("report", { always: true, run: async () => void ran.push("report") }),
      ],
    };
    const deps = inProcessDeps(dir);
    const first = await startRun(p4, deps, opts);
    assert.equal(first.status, "failed");
    assert.deepEqual(ran, ["a", "b", "report"]);
    const second = await resumeRun(first.runId, () => p4, deps);
    assert.equal(second.status, "succeeded");
    assert.deepEqual(ran, ["a", "b", "report", "b", "c", "report"], "a is not redone; b, c and the report run");
    rmSync(dir, { recursive: true, force: true });
  });

  test("a failed run of a plan marked not resumable after failure is refused; the same run of a plan without the mark resumes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fp-dr-not-resumable-"));
    const ran: string[] = [];
    let attempts = 0;
    const steps = [
      s("create", { run: async () => void ran.push("create") }),
      s("use", { run: async () => { ran.push("use"); if (++attempts === 1) throw new DrError("WAL_GAP", "gap", { hint: "x" }); } }),
      s("destroy", { always: true, run: async () => void ran.push("destroy") }),
    ];
    const marked: Plan = { scenario: "deletion", title: "t", runbook: "t", steps, notResumableAfterFailure: { why: "its copy was removed", hint: "start again" } };
    const unmarked: Plan = { ...marked, notResumableAfterFailure: undefined };
    const deps = inProcessDeps(dir);
    const first = await startRun(marked, deps, opts);
    assert.equal(first.status, "failed");
    assert.deepEqual(ran, ["create", "use", "destroy"]);
    await assert.rejects(resumeRun(first.runId, () => marked, deps), (e: unknown) => {
      assert.ok(e instanceof DrError);
      assert.equal(e.code, "RUN_FINISHED");
      assert.equal(e.message, `deletion ${first.runId} failed and its copy was removed`);
      assert.equal(e.hint, "start again");
      return true;
    });
    assert.deepEqual(ran, ["create", "use", "destroy"], "nothing ran on the refused resume");
    assert.equal(deps.journal.load(first.runId).status, "failed", "the journal is left as it was");
    const second = await resumeRun(first.runId, () => unmarked, deps);
    assert.equal(second.status, "succeeded");
    assert.deepEqual(ran, ["create", "use", "destroy", "use", "destroy"], "without the mark the failed step and the clean-up run again");
    rmSync(dir, { recursive: true, force: true });
  });

  test("what the engine opened during a step (its notes) is kept in the run's notes, once each", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fp-dr-engine-notes-"));
    const pending: string[] = [];
    const deps = { ...inProcessDeps(dir), engine: { name: "pulumi", takeNotes: () => pending.splice(0) } as unknown as Engine };
    const p5: Plan = {
      ...plan,
      steps: [
        s("probe", { run: async () => void pending.push("opened ssm port forward for primary: 127.0.0.1:15432 → i-1:5432 (eu-west-1, pid 7)") }),
        s("restore", { run: async () => void pending.push("opened ssm port forward for secondary: 127.0.0.1:25432 → i-2:5432 (eu-central-1, pid 8)") }),
        s("report", { always: true }),
      ],
    };
    const r = await startRun(p5, deps, opts);
    assert.equal(r.status, "succeeded");
    assert.deepEqual(r.notes.filter((n) => n.startsWith("opened ssm")), [
      "opened ssm port forward for primary: 127.0.0.1:15432 → i-1:5432 (eu-west-1, pid 7)",
      "opened ssm port forward for secondary: 127.0.0.1:25432 → i-2:5432 (eu-central-1, pid 8)",
    ]);
    assert.deepEqual(deps.journal.load(r.runId).notes, r.notes, "and in the journal, so the report shows them");
    rmSync(dir, { recursive: true, force: true });
  });

  test("retryable errors are retried, others are not", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fp-dr-retry-"));
    let flaky = 0;
    let fatal = 0;
    const p3: Plan = {
      ...plan,
      steps: [
        s("flaky", { run: async () => void (++flaky < 3 && (() => { throw new DrError("STORE_UNREACHABLE", "store busy", { hint: "x" }); })()) }),
        s("fatal", { run: async () => void (++fatal && (() => { throw new DrError("WAL_GAP", "gap", { hint: "x" }); })()) }),
      ],
    };
    const r = await startRun(p3, inProcessDeps(dir), opts);
    assert.equal(flaky, 3, "retried until it worked");
    assert.equal(fatal, 1, "a non-retryable error is not retried");
    assert.equal(r.error?.code, "WAL_GAP");
    rmSync(dir, { recursive: true, force: true });
  });
});

test("the resume line is printed only for a run `dr resume` takes up (not a failed drill)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fp-dr-resumable-"));
  const failing: Plan = { ...drillPlan, steps: [{ id: "restore", name: "restore", run: async () => { throw new DrError("WAL_GAP", "gap", { hint: "x" }); } }] };
  const r = await startRun(failing, inProcessDeps(dir), opts);
  assert.equal(r.status, "failed");
  assert.equal(resumable(r, drillPlan), false);
  assert.doesNotMatch(renderRun(r), /resume with/);
  await assert.rejects(resumeRun(r.runId, () => failing, inProcessDeps(dir)), (e: DrError) => e.code === "RUN_FINISHED");
  const failover = await startRun({ ...failing, scenario: "datacenter", notResumableAfterFailure: undefined }, inProcessDeps(dir), opts);
  assert.match(renderRun(failover), new RegExp(`resume with: dr resume ${failover.runId}`));
  rmSync(dir, { recursive: true, force: true });
});

test("a dry run lists every problem at once: each failing check is recorded and the run fails naming them all", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fp-dr-dry-"));
  try {
    const ok = (id: string): Step => ({ id, name: id, explain: async () => `${id} is fine`, run: async () => undefined });
    const bad = (id: string, code: "BACKUP_NONE" | "SITE_UNKNOWN", why: string): Step => ({
      id,
      name: id,
      explain: async () => {
        throw new DrError(code, why, { hint: `fix ${id}` });
      },
      run: async () => undefined,
    });
    const plan: Plan = { scenario: "drill", title: "t", runbook: "t", steps: [ok("assess"), bad("restore", "BACKUP_NONE", "no backup in repo2"), ok("verify"), bad("swap-dns", "SITE_UNKNOWN", "no site drill-x"), ok("report")] };
    const r = await startRun(plan, inProcessDeps(dir), { ...opts, dryRun: true });
    assert.equal(r.status, "failed");
    assert.deepEqual(r.steps.map((s) => s.status), ["skipped", "failed", "skipped", "failed", "skipped"], "the checks after a problem still ran");
    assert.equal(r.steps[2].detail, "verify is fine");
    assert.equal(r.error?.code, "BACKUP_NONE", "the first problem's code gives the exit class");
    assert.match(r.error!.message, /2 problems: \(1\) restore: BACKUP_NONE no backup in repo2; \(2\) swap-dns: SITE_UNKNOWN no site drill-x/);
    assert.match(r.error!.hint!, /fix restore; fix swap-dns/);
    assert.match(renderRun(r), /5 steps checked, 2 problems found, nothing changed/);
    assert.equal(existsSync(join(dir, "journal")), false, "a dry run still writes nothing");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a new run records who started it and with what, and a drill's RTO basis names its copy, not the service name", () => {
  const dir = mkdtempSync(join(tmpdir(), "fp-dr-prov-"));
  try {
    const deps = inProcessDeps(dir);
    const drill = newRecord(drillPlan, deps, opts);
    assert.match(drill.measurements.rto.basis, /first successful write to the restored copy/);
    assert.doesNotMatch(drill.measurements.rto.basis, /service name/);
    assert.match(newRecord(datacenterPlan, deps, opts).measurements.rto.basis, /through the service name/);
    const p = drill.provenance!;
    assert.equal(p.operator, `${userInfo().username}@${hostname()}`);
    assert.equal(p.toolVersion, JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8")).version);
    assert.match(p.commit ?? "", /^[0-9a-f]{12}(-dirty)?$/, "this checkout's commit");
    assert.match(p.postgres ?? "", /^15\.\d+/, "the PostgreSQL 15 binaries' version");
    assert.match(p.pgbackrest ?? "", /^2\.\d+/, "pgBackRest's version");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a run's summary counts its steps instead of repeating the lines printed as they ended", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fp-dr-summary-"));
  try {
    const plan: Plan = { scenario: "drill", title: "t", runbook: "t", steps: [
      { id: "a", name: "restore the copy", run: async () => ({ detail: "set 20261206-1200F, files 6.9s" }) },
      { id: "b", name: "verify the copy", run: async () => { throw new DrError("GATE_FAILED", "checksums differ", { hint: "x" }); } },
      { id: "c", name: "destroy", always: true, run: async () => undefined },
    ] };
    const r = await startRun(plan, inProcessDeps(dir), opts);
    const text = renderRun(r);
    assert.match(text, /^steps: 2 done, 1 failed \(verify the copy\)$/m);
    assert.doesNotMatch(text, /set 20261206-1200F/, "a step's detail is not printed twice");
    assert.doesNotMatch(text, /┌/, "no step table");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// (one per process: only the first stop signal interrupts, core/interrupt.ts)
test("a stop signal mid-step: the child it runs is ended, the run is interrupted with its step named, clean-up runs, the lease is freed, and resume finishes it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fp-dr-interrupt-"));
  const ran: string[] = [];
  let sleeper: number | undefined;
  const plan: Plan = {
    scenario: "datacenter",
    title: "t",
    runbook: "t",
    steps: [
      { id: "a", name: "a", run: async () => void ran.push("a") },
      {
        id: "b",
        name: "b",
        run: async () => {
          ran.push("b");
          // The first time, a child that would run for a minute; the resume's is quick.
          await execRun("sleep", [ran.filter((x) => x === "b").length === 1 ? "60" : "0"], { onSpawn: (pid) => (sleeper ??= pid) });
        },
      },
      { id: "c", name: "c", run: async () => void ran.push("c") },
      { id: "clean", name: "clean", always: true, run: async () => void ran.push("clean") },
    ],
  };
  try {
    const deps = inProcessDeps(dir);
    const started = Date.now();
    const running = startRun(plan, deps, opts);
    while (sleeper === undefined) await new Promise((r) => setTimeout(r, 20));
    assert.equal(deliverInterrupt("SIGINT"), true, "the run took the signal");
    const r = await running;
    assert.ok(Date.now() - started < 10_000, "not left to the child's minute");
    assert.equal(processInfo(sleeper), undefined, "the step's child was ended");
    assert.equal(r.status, "interrupted");
    assert.deepEqual(r.error, { code: "INTERRUPTED", message: "interrupted by SIGINT at step b", hint: `dr resume ${r.runId}` });
    assert.deepEqual(r.steps.map((s) => [s.id, s.status]), [["a", "done"], ["b", "failed"], ["c", "skipped"], ["clean", "done"]]);
    assert.match(r.steps[1].detail ?? "", /^interrupted by SIGINT/);
    assert.ok(r.notes.some((n) => n.startsWith(`ended pid ${sleeper} sleep 60`)), r.notes.join("\n"));
    assert.equal(deps.journal.load(r.runId).status, "interrupted");
    assert.ok((await readLease(deps.store, "lab"))?.doc.released, "the lease is released");
    assert.match(renderRun(r), new RegExp(`datacenter run ${r.runId}: INTERRUPTED$`));

    const resumed = await resumeRun(r.runId, () => plan, inProcessDeps(dir));
    assert.equal(resumed.status, "succeeded");
    assert.deepEqual(ran, ["a", "b", "clean", "b", "c", "clean"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * The lab's routed shared store with its documents in an S3 double that stalls every request
 * (the lease stays in files), a 500 ms bound per request, and a run of ten empty steps.
 */
function stalledDocumentsStore(dir: string, double: S3Double, endpoint: string) {
  const boundMs = 500;
  const documents = new S3SharedStore({ bucket: "fp-dr-shared", region: "us-east-1", prefix: "fp-dr/", endpoint, timeoutMs: boundMs, credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "test-secret" } });
  const store = new RoutedSharedStore({ conditional: new FileSharedStore(join(dir, "shared")), documents: { where: documents.where, open: () => documents }, documentPrefixes: ["runs"] });
  const deps = { ...inProcessDeps(dir), store, journal: new Journal(join(dir, "journal")).share(store, "lab") };
  double.stallMs = 5_000;
  const steps = Array.from({ length: 10 }, (_, i): Step => ({ id: `s${i}`, name: `s${i}`, run: async () => undefined }));
  return { boundMs, store, deps, steps };
}

test("a shared store that stops answering costs a run one bounded wait, not one per step; the final journal is copied once it answers", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fp-dr-dead-store-"));
  const double = new S3Double();
  const endpoint = await double.start();
  try {
    const { boundMs, store, deps, steps } = stalledDocumentsStore(dir, double, endpoint);
    // The store answers again during the last step: only the final copy can land.
    steps[9].run = async () => void (double.stallMs = 0);
    const started = Date.now();
    const r = await startRun({ scenario: "drill", title: "t", runbook: "t", steps }, deps, opts);
    const ms = Date.now() - started;
    assert.equal(r.status, "succeeded");
    // Each of the 12 saves waiting its bound would take 6 s.
    assert.ok(ms < 3 * boundMs, `one bounded wait (${ms} ms for 10 steps)`);
    const notes = r.notes.filter((n) => n.startsWith("journal not copied to the shared store"));
    assert.equal(notes.length, 1, r.notes.join("\n"));
    assert.match(notes[0], /s3:\/\/fp-dr-shared\/fp-dr\//);
    const copy = double.objects.get(`fp-dr-shared/fp-dr/runs/lab/${r.runId}.json`);
    assert.ok(copy, "the final journal was copied");
    assert.equal(JSON.parse(copy.body).status, "succeeded");
    assert.deepEqual(JSON.parse(copy.body), JSON.parse(readFileSync(join(dir, "journal", `${r.runId}.json`), "utf8")), "the copy is the final journal");
    assert.ok((await readLease(store, "lab"))?.doc.released, "the lease (in files) is released");
    console.log(`10 steps with the shared store stalled: the run took ${ms} ms (bound ${boundMs} ms per copy)`);
  } finally {
    await double.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

function capture(into: string[]): Writable {
  return new Writable({
    write(chunk, _enc, cb) {
      into.push(String(chunk));
      cb();
    },
  });
}

test("a shared store silent to the end: the run's end waits once for the final journal, and not again for its reports", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fp-dr-silent-store-"));
  const double = new S3Double();
  const endpoint = await double.start();
  try {
    const { boundMs, deps, steps } = stalledDocumentsStore(dir, double, endpoint);
    const started = Date.now();
    const r = await startRun({ scenario: "drill", title: "t", runbook: "t", steps }, deps, opts);
    const runMs = Date.now() - started;
    const said: string[] = [];
    await finishRun({ config: deps.config, out: new Output({ json: false, stdout: capture(said), stderr: capture(said) }) }, r, deps);
    const finishMs = Date.now() - started - runMs;
    assert.equal(r.status, "succeeded");
    assert.ok(runMs < 3 * boundMs, `the first copy and the final one: ${runMs} ms`);
    assert.ok(finishMs < boundMs, `the reports did not wait for the store (${finishMs} ms)`);
    assert.match(said.join(""), /warning: the report was not copied to the shared store runs\/ in s3:\/\/fp-dr-shared\/fp-dr\/, the rest in .*: it did not take the run's journal either/);
    assert.ok(existsSync(join(dir, "reports", r.runId, "report.json")), "the local report is written");
    assert.equal(r.notes.filter((n) => n.startsWith("journal not copied to the shared store")).length, 1);
    console.log(`10 steps with the shared store silent to the end: the run took ${runMs} ms, its reports ${finishMs} ms (bound ${boundMs} ms per copy)`);
  } finally {
    await double.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
