// The engine's decision writes (./control-writes.ts): recorded in the control document before
// the stack config; two runs writing at once both land (a lost race is read and applied again);
// a secret passed to setConfig (a rotated password) reaches the stack config only, never the
// shared store; the run and its lease epoch are recorded with each change.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test, { after } from "node:test";
import { FileSharedStore } from "../../core/file-store";
import { ControlState, decisionsIn, withControlState } from "./control-writes";
import type { ConfigEntries, StackOps, StoredConfig } from "./stack-ops";

const dir = mkdtempSync(join(tmpdir(), "fp-dr-control-writes-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A stack-config double: keeps what was set, in the order it was set. */
function recordingOps(): StackOps & { written: string[]; config: Map<string, StoredConfig> } {
  const config = new Map<string, StoredConfig>();
  const written: string[] = [];
  const unused = async () => assert.fail("not used here");
  return {
    written,
    config,
    select: unused,
    selectOrCreate: unused,
    async getAllConfig(stack) {
      return config.get(stack) ?? {};
    },
    async setConfig(stack, entries: ConfigEntries) {
      written.push(`${stack}: ${Object.keys(entries).join(",")}`);
      const c = { ...(config.get(stack) ?? {}) };
      for (const [k, v] of Object.entries(entries)) c[k] = { value: v.value, secret: v.secret ?? false };
      config.set(stack, c);
    },
    async removeConfig(stack, keys) {
      written.push(`${stack}: -${keys.join(",")}`);
    },
    up: unused,
    outputs: unused,
    destroy: unused,
    removeStack: unused,
    listStacks: unused,
  } as StackOps & { written: string[]; config: Map<string, StoredConfig> };
}

test("decisions are recorded first, with the run and its epoch; secrets never reach the shared store", async () => {
  const store = new FileSharedStore(join(dir, "a"));
  const inner = recordingOps();
  const ops = withControlState(inner, new ControlState(store, "production"));
  process.env.FP_DR_RUN_ID = "datacenter-20261206t031500z-0001";
  process.env.FP_DR_EPOCH = "7";
  try {
    await ops.setConfig("primary", { "fp-dr:fence.mode": { value: "isolate" }, "fp-dr:fence.requestId": { value: "fence-1" } }, { path: true });
    await ops.setConfig("secondary", { "fp-dr:adminPassword": { value: "a-rotated-password-0123456789", secret: true } }, { path: false });
    await ops.setConfig("secondary", { "fp-dr:dns.activeSite": { value: "secondary" } }, { path: true });
  } finally {
    delete process.env.FP_DR_RUN_ID;
    delete process.env.FP_DR_EPOCH;
  }
  assert.deepEqual(inner.written, ["primary: fp-dr:fence.mode,fp-dr:fence.requestId", "secondary: fp-dr:adminPassword", "secondary: fp-dr:dns.activeSite"], "the stack config still gets every write");
  const doc = JSON.parse((await store.get("control/production.json"))!.body);
  assert.deepEqual(doc.stacks, { primary: { fence: { mode: "isolate", requestId: "fence-1" } }, secondary: { "dns.activeSite": "secondary" } });
  assert.deepEqual(doc.updatedBy, { by: "run datacenter-20261206t031500z-0001", runId: "datacenter-20261206t031500z-0001", epoch: 7 });
  assert.equal(doc.version, 2, "the password write made no version");
  const everything = walk(join(dir, "a")).join("\n");
  assert.ok(!everything.includes("a-rotated-password"), "a secret reached the shared store");
  // What the engine reads back is what the program will declare.
  const seen = await ops.getAllConfig("primary");
  assert.deepEqual(JSON.parse(seen["fp-dr:fence"].value!), { mode: "isolate", requestId: "fence-1" });
});

test("two runs recording at once: both decisions land, one version each", async () => {
  const store = new FileSharedStore(join(dir, "b"));
  const writers = Array.from({ length: 4 }, () => new ControlState(store, "production"));
  await Promise.all(writers.map((w, i) => w.record(`site-${i}`, { "access.hostReachable": true })));
  const doc = JSON.parse((await store.get("control/production.json"))!.body);
  assert.deepEqual(Object.keys(doc.stacks).sort(), ["site-0", "site-1", "site-2", "site-3"]);
  assert.equal(doc.version, 4);
});

test("decisionsIn: path entries become whole stored values; other keys are not decisions", () => {
  assert.deepEqual(decisionsIn({ "fp-dr:restore.repo": { value: "1" }, "fp-dr:restore.allowOverwrite": { value: "true" }, "fp-dr:host.instanceType": { value: "r6i.large" } }, true), { restore: { repo: 1, allowOverwrite: true } });
  assert.deepEqual(decisionsIn({ "fp-dr:access.hostReachable": { value: "true" } }, true), { "access.hostReachable": true });
  assert.deepEqual(decisionsIn({ "aws:region": { value: "eu-west-1" } }, false), {});
});

function walk(d: string): string[] {
  return readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [readFileSync(join(d, n), "utf8")]));
}

test("the switchover in flight: recorded with the run and its epoch, kept by the decision writes made during it, and removed (null) at its end", async () => {
  const store = new FileSharedStore(join(dir, "c"));
  const control = new ControlState(store, "production");
  const ops = withControlState(recordingOps(), control);
  const runId = "switchover-20261206t031500z-0001";
  process.env.FP_DR_RUN_ID = runId;
  process.env.FP_DR_EPOCH = "9";
  try {
    const s = { runId, epoch: 9, from: "primary", to: "secondary", phase: "token" as const, token: { lsn: "0/9000028", timeline: 1 }, startedAt: "2026-12-06T03:15:00.000Z" };
    await control.recordSwitchover(s);
    await ops.setConfig("secondary", { "fp-dr:promote.requestId": { value: "promote-1" } }, { path: true });
    assert.deepEqual(await control.switchover(), s, "the promote request's write kept it");
    const during = JSON.parse((await store.get("control/production.json"))!.body);
    assert.deepEqual([during.version, during.updatedBy.epoch, during.stacks.secondary.promote], [2, 9, { requestId: "promote-1" }]);
    await control.recordSwitchover(null);
  } finally {
    delete process.env.FP_DR_RUN_ID;
    delete process.env.FP_DR_EPOCH;
  }
  const ended = JSON.parse((await store.get("control/production.json"))!.body);
  assert.equal(ended.switchover, null);
  assert.equal(ended.version, 3);
  assert.equal(await control.switchover(), undefined);
});
