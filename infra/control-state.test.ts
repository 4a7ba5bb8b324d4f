// The control state at `pulumi up`, under the mock runtime: a failover recorded in the shared
// store (the primary fenced, the service name forced to the secondary) is declared by the
// program from the control document, although the operator's checked-in stack files say
// otherwise (no fence, activeSite primary). Without fp-dr:sharedState the declaration alone
// applies. The document holds decisions only: a secret key is refused before it is written.
// A switchover in flight recorded there makes every update but the run's own refuse.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileSharedStore } from "../automation/core/file-store";
import { changedDocument, controlKey, overlayControl, withSwitchover } from "./config/control-state";
import { DrError } from "../automation/core/errors";
import { parseSiteOutputs } from "./outputs";
import { configFromStackFile, installMocks, ofType, settle, standbySecrets, testSecrets, type Harness } from "./testing/mocks";

const dir = mkdtempSync(join(tmpdir(), "fp-dr-control-"));
const requestId = "fence-20261206t031500z-0001";
const primaryAddress = "10.20.7.42";
const runs: Record<string, { h: Harness; outputs: Record<string, unknown> }> = {};

before(async () => {
  // What a failover run wrote (automation/engines/pulumi/control-writes.ts does it the same way).
  let doc = changedDocument(undefined, "production", "primary", { fence: { mode: "isolate", requestId } }, { by: "run datacenter-x", runId: "datacenter-x", epoch: 3 });
  doc = changedDocument(doc, "production", "secondary", { "dns.activeSite": "secondary" }, { by: "run datacenter-x", runId: "datacenter-x", epoch: 3 });
  assert.ok(await new FileSharedStore(dir).create(controlKey("production"), JSON.stringify(doc)));

  const { program } = await import("./program");
  const primaryFile = join(__dirname, "..", "Pulumi.primary.yaml");
  const secondaryFile = join(__dirname, "..", "Pulumi.secondary.yaml");
  const cases = [
    ["primary-declaration", "primary", primaryFile, testSecrets, {}],
    ["primary-controlled", "primary", primaryFile, testSecrets, { "fp-dr:sharedState": { dir } }],
    ["secondary-controlled", "secondary", secondaryFile, standbySecrets, { "fp-dr:sharedState": { dir } }],
  ] as const;
  for (const [name, stack, file, secrets, overrides] of cases) {
    const { config, secretKeys } = configFromStackFile(file, secrets, overrides);
    const h = installMocks({ stack, config, secretKeys, stackOutputs: { "acme/fp-dr/primary": { privateIp: primaryAddress, role: "primary", vpcId: "vpc-0a1b2c3d4e5f60718" } } });
    runs[name] = { h, outputs: await settle(await program()) };
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

const groupsOf = (h: Harness) => ofType(h, "aws:ec2/instance:Instance")[0].inputs.vpcSecurityGroupIds;
const groupId = (h: Harness, suffix: string) => ofType(h, "aws:ec2/securityGroup:SecurityGroup").find((s) => s.name.endsWith(suffix))!.id;

test("an operator's `pulumi up` after a recorded failover keeps the old primary fenced", () => {
  const plain = runs["primary-declaration"];
  assert.deepEqual(groupsOf(plain.h), [groupId(plain.h, "-database")], "the declaration alone: not fenced");
  const controlled = runs["primary-controlled"];
  assert.deepEqual(groupsOf(controlled.h), [groupId(controlled.h, "-isolation")], "the control state's fence is declared");
  assert.deepEqual(parseSiteOutputs(controlled.outputs).fence, { mode: "isolate", requestId });
});

test("and keeps the service name on the new primary, although the stack file says activeSite primary", () => {
  const { h, outputs } = runs["secondary-controlled"];
  assert.equal(parseSiteOutputs(outputs).dns?.activeSite, "secondary");
  const records = ofType(h, "aws:route53/record:Record");
  const secondary = records.find((r) => (r.inputs.failoverRoutingPolicies as { type: string }[])[0].type === "SECONDARY")!;
  assert.notDeepEqual(secondary.inputs.records, [primaryAddress], "the standby-turned-primary answers, not the fenced one");
});

test("the control document holds decisions only: a secret key, an unknown key or a bad stack name is refused", () => {
  for (const bad of [{ repoCipherPass: "x".repeat(24) }, { adminPassword: "y".repeat(20) }, JSON.parse('{"__proto__": {"polluted": true}}'), { role: "drill" }]) {
    assert.throws(() => changedDocument(undefined, "production", "primary", bad as never, { by: "t" }), /not decision keys, refused/);
  }
  assert.throws(() => changedDocument(undefined, "production", "../primary", { fence: null }, { by: "t" }));
  assert.equal(({} as { polluted?: boolean }).polluted, undefined);
});

test("a removed decision (null) lets the declaration's own value apply again", () => {
  const raw = { values: { dns: { activeSite: "primary", zoneId: "Z1" }, fence: { mode: "stop", requestId } }, secret: new Set<string>() };
  const doc = changedDocument(undefined, "production", "secondary", { fence: null, "dns.activeSite": "secondary" }, { by: "t" });
  const over = overlayControl(raw, doc, "secondary");
  assert.deepEqual(over.values, { dns: { activeSite: "secondary", zoneId: "Z1" } });
  assert.deepEqual(raw.values.dns, { activeSite: "primary", zoneId: "Z1" }, "the declaration itself is not changed");
  assert.equal(overlayControl(raw, doc, "primary"), raw, "another stack's decisions do not apply");
});

test("during a switchover in flight an operator's `pulumi up` refuses, naming the run and `dr resume`; the run's own update, a later run's (newer lease epoch) and any update after it ended declare as usual", async () => {
  const inFlight = join(dir, "switchover");
  const store = new FileSharedStore(inFlight);
  const runId = "switchover-20261206t031500z-0001";
  const by = { by: `run ${runId}`, runId, epoch: 4 };
  let doc = withSwitchover(undefined, "production", { runId, epoch: 4, from: "primary", to: "secondary", phase: "token", token: { lsn: "0/9000028", timeline: 1 }, startedAt: "2026-12-06T03:15:00.000Z" }, by);
  // The run's promote request, written during the switchover, keeps it recorded.
  doc = changedDocument(doc, "production", "secondary", { promote: { requestId: "promote-20261206t031501z-0002", waitSeconds: 60 } }, by);
  assert.equal(doc.switchover?.token?.lsn, "0/9000028");
  assert.ok(await store.create(controlKey("production"), JSON.stringify(doc)));
  const { program } = await import("./program");
  const up = async (stack: "primary" | "secondary") => {
    const file = join(__dirname, "..", `Pulumi.${stack}.yaml`);
    const { config, secretKeys } = configFromStackFile(file, stack === "primary" ? testSecrets : standbySecrets, { "fp-dr:sharedState": { dir: inFlight } });
    const h = installMocks({ stack, config, secretKeys, stackOutputs: { "acme/fp-dr/primary": { privateIp: primaryAddress, role: "primary", vpcId: "vpc-0a1b2c3d4e5f60718" } } });
    return { h, outputs: await settle(await program()) };
  };
  const saved = process.env.FP_DR_RUN_ID;
  try {
    delete process.env.FP_DR_RUN_ID;
    for (const stack of ["primary", "secondary"] as const) {
      await assert.rejects(up(stack), (e: unknown) => {
        assert.ok(e instanceof DrError && e.code === "SWITCHOVER_IN_FLIGHT", String(e));
        assert.equal(e.message, `switchover ${runId} from primary to secondary is in flight (step token, demotion token 0/9000028 on timeline 1, started 2026-12-06T03:15:00.000Z): an update now could undo it`);
        assert.match(e.hint!, new RegExp(`\`dr resume ${runId}\` finishes it`));
        return true;
      });
    }
    // Another run (a stale environment variable) is not this one; nor is one whose lease epoch
    // is not newer than the switchover's.
    process.env.FP_DR_RUN_ID = "failover-20261206t031500z-0009";
    await assert.rejects(up("secondary"), /is in flight/);
    process.env.FP_DR_EPOCH = "4";
    await assert.rejects(up("secondary"), /is in flight/);
    // A later run holding the lease with a newer epoch (a failover during an outage, the
    // reprotect the switchover's hint names) goes through: the switchover's run no longer acts.
    process.env.FP_DR_EPOCH = "5";
    const later = await up("secondary");
    assert.ok(ofType(later.h, "aws:route53/record:Record").length > 0, "the later run's update declares");
    delete process.env.FP_DR_EPOCH;
    // The switchover's own update (dr's process carries its run id to the program).
    process.env.FP_DR_RUN_ID = runId;
    const own = await up("secondary");
    assert.ok(ofType(own.h, "command:remote:Command").some((c) => c.name.endsWith("-pg-promote")), "the run's promote request is declared");
  } finally {
    if (saved === undefined) delete process.env.FP_DR_RUN_ID;
    else process.env.FP_DR_RUN_ID = saved;
    delete process.env.FP_DR_EPOCH;
  }
  // The switchover's own decisions keep the record, and so do a run's with an epoch not newer;
  // the first decision of a later run (newer epoch) ends it.
  const mine = changedDocument(doc, "production", "secondary", { "dns.activeSite": "secondary" }, by);
  assert.equal(mine.switchover?.runId, runId);
  const stale = changedDocument(doc, "production", "primary", { fence: { mode: "stop", requestId: "fence-1" } }, { by: "run failover-y", runId: "failover-y", epoch: 4 });
  assert.equal(stale.switchover?.runId, runId);
  const later = changedDocument(doc, "production", "primary", { fence: { mode: "stop", requestId: "fence-1" } }, { by: "run failover-y", runId: "failover-y", epoch: 5 });
  assert.equal(later.switchover, null);
  // Ended (set to null): everyone's update declares again.
  const cur = await store.get(controlKey("production"));
  assert.ok(await store.replace(controlKey("production"), JSON.stringify(withSwitchover(doc, "production", null, by)), cur!.etag));
  delete process.env.FP_DR_RUN_ID;
  const after = await up("primary");
  assert.ok(ofType(after.h, "aws:ec2/instance:Instance").length === 1);
  if (saved !== undefined) process.env.FP_DR_RUN_ID = saved;
});

test("the switchover record holds its run, sites, step and token only: a secret or an unknown field is refused", () => {
  const base = { runId: "switchover-x", from: "primary", to: "secondary", phase: "demote", startedAt: "2026-12-06T03:15:00.000Z" } as const;
  for (const bad of [{ ...base, replicationPassword: "z".repeat(24) }, { ...base, token: { lsn: "0/1", timeline: 1, password: "p" } }, { ...base, phase: "anything" }]) {
    assert.throws(() => withSwitchover(undefined, "production", bad as never, { by: "t" }));
  }
});
