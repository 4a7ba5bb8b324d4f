// Proves the end-to-end part of the benchmark's result and its tables, on recorded runs (no
// timing is asserted): a run record's steps are kept with whether they are part of the RTO and
// their parts (the restore's files and replay, the gate's checks); the switchover's write
// downtime is last old write → first new write; a sweep prints RTO against size and seconds per
// GB per step, and how each path's RTO moved from the smallest database to the largest.
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import type { RunRecord, StepRecord } from "../core/run-record";
import { benchRun } from "./runs";
import { AUDIT_PREFIX } from "../plans/drill-steps";
import { floorRatios, mergeOrder, runStepRows, runSummaryRows, sideBySideRows, sweepGrowth, sweepRtoRows, sweepStepRows } from "./run-table";
import { writeDowntimeMs } from "./standby-figures";
import type { BenchResult, BenchRun } from "./types";

const at = (s: number) => new Date(Date.UTC(2026, 11, 6, 12, 0, 0) + s * 1000).toISOString();

function step(id: string, from: number, to: number): StepRecord {
  return { id, name: `${id} step`, status: "done", startedAt: at(from), finishedAt: at(to), durationMs: Math.round((to - from) * 1000), attempts: 1, detail: `${id} detail` };
}

/** A restore-path failover as the runner records it: outage at 0, declared at 0.5, first write at 30. */
const restoreRecord: RunRecord = {
  runId: "datacenter-r1",
  scenario: "datacenter",
  objectiveScenario: "datacenter",
  environment: "lab",
  engine: "local",
  declaredAt: at(0.5),
  outageAt: at(0),
  status: "succeeded",
  dryRun: false,
  forced: false,
  options: {},
  steps: [step("assess", 0.5, 1), step("restore", 1, 21), step("verify", 21, 29), step("first-write", 29, 30.01), step("post-checks", 30.01, 40), step("report", 40, 40.1)],
  facts: { path: "restore", pathReason: "--from-backup: restoring as asked", restore: { set: "s", repo: 2, filesMs: 12_000, recoveryMs: 5_000, parts: { "plan, stop, start and open": 1_500, "newest commit the copy holds": 500 } }, firstWriteAt: at(30) },
  measurements: { rto: { achieved: 30, objective: 14400, basis: "" }, rpo: { achieved: 4.2, objective: 3600, basis: "" } },
  verification: { ok: true, checks: [{ name: "amcheck", ok: true, detail: "", durationMs: 5000 }, { name: "row counts", ok: true, detail: "", durationMs: 3000 }] },
  notes: [],
};

function result(scale: number, gb: number, promoteRto: number, restoreRto: number, restoreStepMs: number): BenchResult {
  const run = (id: string, rto: number, steps: BenchRun["steps"], extra: Partial<BenchRun> = {}): BenchRun => ({ id, label: id, runId: `${id}-${scale}`, scenario: "datacenter", status: "succeeded", rtoSeconds: rto, rpoSeconds: 0.1, steps, ...extra });
  const s = (id: string, ms: number): BenchRun["steps"][number] => ({ id, name: `${id} step`, status: "done", durationMs: ms, inRto: true });
  return {
    scale,
    database: "fp",
    databaseBytes: gb * 1024 ** 3,
    machine: { cpus: 2, cpuModel: "x", memoryBytes: 1, kernel: "k" },
    loadAverage: { atStart: 1, atEnd: 1 },
    pgbackrest: { compressType: "lz4", processMax: 2, bufferSize: 1048576 } as BenchResult["pgbackrest"],
    labDir: "/tmp/x",
    kept: false,
    startedAt: at(0),
    totalMs: 1,
    rows: [{ id: "raw-copy", label: "raw copy", kind: "copy", method: "raw", wallMs: restoreRto * 250 }],
    replayLag: { samples: 25, source: "stream", medianReplayMs: 12, maxReplayMs: 30, medianBytes: 0, maxBytes: 400, medianSeconds: 0, maxSeconds: 0.1, windowMs: 5000 },
    runs: [
      run("switchover-1", 1.5, [s("promote", 300)], { writeDowntimeMs: 900 }),
      run("failover-promote", promoteRto, [s("promote", 400)], { path: "promote" }),
      run("failover-restore", restoreRto, [s("restore", restoreStepMs)], { path: "restore" }),
    ],
    notes: [],
  };
}

describe("bench: runs kept from their records", () => {
  it("keeps every step, marks those the RTO is made of, and the parts each recorded", () => {
    const r = benchRun(restoreRecord, { id: "failover-restore", label: "by restore", commits: { acknowledged: 120, lost: 3 } });
    assert.equal(r.path, "restore");
    assert.equal(r.detectionMs, 500);
    assert.deepEqual(r.steps.map((s) => [s.id, s.inRto]), [["assess", true], ["restore", true], ["verify", true], ["first-write", true], ["post-checks", false], ["report", false]]);
    assert.deepEqual(r.steps[1].sub, [{ name: "files", ms: 12_000 }, { name: "replay", ms: 5_000 }, { name: "plan, stop, start and open", ms: 1_500 }, { name: "newest commit the copy holds", ms: 500 }, { name: "unaccounted", ms: 1_000 }]);
    assert.deepEqual(r.steps[2].sub, [{ name: "amcheck", ms: 5000 }, { name: "row counts", ms: 3000 }]);
    assert.equal(r.steps[0].sub, undefined);
    const cells = runStepRows(r);
    assert.deepEqual(cells[1], ["restore step", "20s", "yes", "12s files\n5s replay\n1.5s plan, stop, start and open\n500ms newest commit the copy holds\n1s unaccounted", "restore detail"]);
    assert.equal(cells[4][2], "");
    assert.deepEqual(runSummaryRows([r])[0], ["by restore", "restore", "30.00s", "4.20s", "500ms", "3 of 120", "", "datacenter-r1"]);
  });

  it("a drill's audit checks are the audit step's parts, outside the RTO, not the gate's", () => {
    const drill: RunRecord = {
      ...restoreRecord,
      runId: "drill-d1",
      scenario: "drill",
      steps: [step("restore", 1, 21), step("verify", 21, 29), step("open", 29, 30.01), step("audit", 30.01, 38), step("destroy", 38, 39)],
      verification: { ok: true, checks: [{ name: "row checksums", ok: true, detail: "", durationMs: 6000 }, { name: `${AUDIT_PREFIX}amcheck`, ok: true, detail: "", durationMs: 7000 }, { name: `${AUDIT_PREFIX}orphans`, ok: true, detail: "", durationMs: 900 }] },
    };
    const r = benchRun(drill, { id: "drill", label: "drill" });
    const byId = Object.fromEntries(r.steps.map((s) => [s.id, s]));
    assert.deepEqual(byId.verify.sub, [{ name: "row checksums", ms: 6000 }]);
    assert.deepEqual(byId.audit.sub, [{ name: "amcheck", ms: 7000 }, { name: "orphans", ms: 900 }]);
    assert.deepEqual([byId.verify.inRto, byId.audit.inRto], [true, false]);
  });

  it("puts no step in the RTO of a run that never wrote", () => {
    const failed = { ...restoreRecord, status: "failed" as const, measurements: { ...restoreRecord.measurements, rto: { objective: 1, basis: "" } } };
    assert.ok(benchRun(failed, { id: "x", label: "x" }).steps.every((s) => !s.inRto));
  });
});

describe("bench: failover by promotion beside failover by restore", () => {
  it("orders both plans' steps around the ones they share", () => {
    const promote = ["assess", "fence", "catch-up", "gate", "promote", "swap-dns", "first-write", "post-checks", "report"];
    const restore = ["assess", "fence", "bring-up", "restore", "verify", "open", "swap-dns", "first-write", "post-checks", "report"];
    assert.deepEqual(mergeOrder(promote, restore), ["assess", "fence", "catch-up", "gate", "promote", "bring-up", "restore", "verify", "open", "swap-dns", "first-write", "post-checks", "report"]);
    assert.deepEqual(mergeOrder(["a"], ["b", "c"]), ["a", "b", "c"]);
  });

  it("prints each step's time on each path, what is after the RTO, and both RTOs", () => {
    const restore = benchRun(restoreRecord, { id: "failover-restore", label: "r" });
    const promote = benchRun(
      { ...restoreRecord, steps: [step("assess", 0.1, 0.2), step("promote", 0.2, 0.5), step("first-write", 0.5, 0.61), step("report", 0.61, 0.7)], facts: { firstWriteAt: at(0.6) }, declaredAt: at(0.1), measurements: { rto: { achieved: 0.6, objective: 1, basis: "" }, rpo: { achieved: 0, objective: 1, basis: "" } } },
      { id: "failover-promote", label: "p" },
    );
    const rows = sideBySideRows(promote, restore);
    assert.deepEqual(rows[0], ["outage → declared", "100ms", "500ms"]);
    assert.deepEqual(rows.find((r) => r[0] === "promote step"), ["promote step", "300ms", "—"]);
    assert.deepEqual(rows.find((r) => r[0] === "restore step"), ["restore step", "—", "20s"]);
    assert.deepEqual(rows.find((r) => r[0] === "report step"), ["report step", "90ms (after RTO)", "100ms (after RTO)"]);
    assert.deepEqual(rows.at(-2), ["RTO: outage → first write through the service name", "0.60s", "30.00s"]);
  });
});

describe("bench: switchover write downtime", () => {
  const ack = (id: number, s: number) => ({ id, at: new Date(at(s)) });
  it("runs from the last write acknowledged before the old primary's shutdown to the first after it", () => {
    const acks = [ack(1, 0), ack(2, 0.1), ack(3, 0.2), ack(4, 1.45), ack(5, 1.55)];
    assert.equal(writeDowntimeMs(acks, at(0.7)), 1250);
  });
  it("is unknown until a write came after the shutdown, or when none came before", () => {
    assert.equal(writeDowntimeMs([ack(1, 0)], at(0.7)), undefined);
    assert.equal(writeDowntimeMs([ack(1, 1)], at(0.7)), undefined);
  });
});

describe("bench: a --scales sweep", () => {
  const sweep = [result(1, 0.05, 1.0, 10, 4_000), result(20, 1, 1.1, 40, 30_000), result(80, 4, 1.2, 160, 120_000)];

  it("prints RTO against size: promotion beside restore, their ratio and the raw copy", () => {
    const rows = sweepRtoRows(sweep);
    assert.deepEqual(rows[1], ["20", "1 GiB", "1.10s", "40.00s", "36×", "", "10s", "4.0×", "900ms", "12ms"]);
    assert.equal(rows.length, 3);
  });

  it("prints every step's time and seconds per GB at each scale", () => {
    const rows = sweepStepRows(sweep);
    assert.deepEqual(rows.find((r) => r[0] === "failover-restore"), ["failover-restore", "restore step", "4s (80.0 s/GB)", "30s (30.0 s/GB)", "2m (30.0 s/GB)"]);
    assert.deepEqual(rows.find((r) => r[0] === "failover-promote"), ["failover-promote", "promote step", "400ms (8.0 s/GB)", "400ms (0.4 s/GB)", "400ms (0.1 s/GB)"]);
    assert.equal(rows[0][0], "measurement");
  });

  it("says how each path's RTO moved from the smallest database to the largest", () => {
    const lines = sweepGrowth([sweep[2], sweep[0]]);
    assert.match(lines[0], /^promotion RTO at scale 80 ÷ at scale 1: 1\.2× \(4 GiB ÷ 51\.2 MiB = 80× the data\)$/);
    assert.match(lines[1], /^restore RTO at scale 80 ÷ at scale 1: 16× /);
    assert.match(lines[2], /^drill RTO .*not measured/);
    assert.deepEqual(sweepGrowth([sweep[0]]), []);
  });

  it("sets each restore-path run against the floor: the raw copy plus the WAL that run replayed (goals 2× and 2.5×)", () => {
    const r = result(20, 1, 1, 6, 4000);
    r.rows = [{ id: "raw-copy", label: "raw copy", kind: "copy", method: "raw", wallMs: 2_500 }];
    const restoreStep = (replay: number) => [{ id: "restore", name: "restore step", status: "done", durationMs: 4000, inRto: true, sub: [{ name: "files", ms: 3000 }, { name: "replay", ms: replay }] }];
    r.runs = [
      { ...r.runs[2], rtoSeconds: 6, steps: restoreStep(500) },
      { id: "drill", label: "drill", runId: "drill-1", scenario: "drill", status: "succeeded", rtoSeconds: 9, steps: restoreStep(1_000) },
    ];
    assert.deepEqual(floorRatios(r), [
      "failover by restore: RTO 6s against raw copy 2.5s + its WAL replay 500ms = 3s: 2.0× (goal ≤ 2×: met)",
      "drill: RTO 9s against raw copy 2.5s + its WAL replay 1s = 3.5s: 2.6× (goal ≤ 2.5×: not met)",
    ]);
    r.rows = [];
    assert.deepEqual(floorRatios(r), [], "without the raw copy there is no floor");
  });
});
