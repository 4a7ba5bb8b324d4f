// Fencing (fp-dr:fence) on the primary stack, run against mocks three times in this file: as
// shipped, fenced with mode isolate, fenced with mode stop. Proves: while fenced, the host's
// security groups are exactly [the isolation group], and that group has no rule at all; without
// a fence, the database group; "stop" also stops the instance (gracefully) and "isolate" does
// not; the fence request is tagged on the instance and reported in the outputs; and nothing
// else changes: the same resources with the same inputs, the data volume and its attachment,
// the repository, the restore and readiness commands included (evidence is never destroyed).
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseSiteOutputs } from "./outputs";
import { configFromStackFile, installMocks, ofType, settle, testSecrets, type Harness, type Registered } from "./testing/mocks";
import { assertIsolationGroup } from "./testing/invariants";

const stackFile = join(__dirname, "..", "Pulumi.primary.yaml");
const requestId = "fence-20250901t120000z-0001";

interface Run {
  h: Harness;
  outputs: Record<string, unknown>;
  instance: Registered;
}
const runs: Record<"shipped" | "isolate" | "stop", Run> = {} as Record<"shipped" | "isolate" | "stop", Run>;

before(async () => {
  const { program } = await import("./program");
  for (const [name, fence] of [["shipped", undefined], ["isolate", { mode: "isolate", requestId }], ["stop", { mode: "stop", requestId }]] as const) {
    const { config, secretKeys } = configFromStackFile(stackFile, testSecrets, fence ? { "fp-dr:fence": fence } : {});
    const h = installMocks({ stack: "primary", config, secretKeys });
    const outputs = await settle(await program());
    runs[name] = { h, outputs, instance: ofType(h, "aws:ec2/instance:Instance")[0] };
  }
});

const group = (h: Harness, suffix: string) => ofType(h, "aws:ec2/securityGroup:SecurityGroup").find((s) => s.name.endsWith(suffix))!;
const instanceStates = (h: Harness) => ofType(h, "aws:ec2transitgateway/instanceState:InstanceState");

test("without a fence the host has the database group; with one, exactly the isolation group, which has no rule", () => {
  const { shipped, isolate, stop } = runs;
  assert.deepEqual(shipped.instance.inputs.vpcSecurityGroupIds, [group(shipped.h, "-database").id]);
  for (const fenced of [isolate, stop]) {
    assert.deepEqual(fenced.instance.inputs.vpcSecurityGroupIds, [group(fenced.h, "-isolation").id]);
    assertIsolationGroup(fenced.h);
    const iso = group(fenced.h, "-isolation");
    assert.equal(iso.inputs.description, "incident isolation: no ingress, no egress");
  }
  assert.deepEqual(instanceStates(shipped.h), []);
});

test("stop also stops the instance, gracefully; isolate leaves it running", () => {
  assert.deepEqual(instanceStates(runs.isolate.h), []);
  const states = instanceStates(runs.stop.h);
  assert.equal(states.length, 1);
  assert.deepEqual(states[0].inputs, { instanceId: runs.stop.instance.id, state: "stopped", force: false });
  assert.equal(states[0].name, "primary-host-state");
  assert.ok(states[0].provider?.includes("pulumi:providers:aws::primary-aws"), "the site's provider, in its region");
});

test("the fence request is tagged on the instance and reported in the outputs", () => {
  assert.deepEqual(runs.shipped.instance.inputs.tags, { Name: "primary-host-instance" });
  assert.equal(parseSiteOutputs(runs.shipped.outputs).fence, undefined);
  for (const mode of ["isolate", "stop"] as const) {
    assert.deepEqual(runs[mode].instance.inputs.tags, { Name: "primary-host-instance", "fp-dr:fence-mode": mode, "fp-dr:fenced-by": requestId });
    assert.deepEqual(parseSiteOutputs(runs[mode].outputs).fence, { mode, requestId });
  }
});

test("nothing else changes: the same resources with the same inputs, the data volume and repository included", () => {
  const key = (r: Registered) => `${r.type} ${r.name}`;
  const shipped = new Map(runs.shipped.h.resources.map((r) => [key(r), r]));
  assert.ok(shipped.size > 60, `only ${shipped.size} resources: the comparison would prove little`);
  for (const mode of ["isolate", "stop"] as const) {
    const fenced = runs[mode].h.resources;
    const extra = fenced.filter((r) => !shipped.has(key(r))).map(key);
    assert.deepEqual(extra, mode === "stop" ? ["aws:ec2transitgateway/instanceState:InstanceState primary-host-state"] : []);
    const missing = [...shipped.keys()].filter((k) => !fenced.some((r) => key(r) === k));
    assert.deepEqual(missing, [], `${mode}: resources that would be deleted`);
    for (const r of fenced) {
      const before = shipped.get(key(r));
      if (!before) continue;
      if (r.type === "aws:ec2/instance:Instance") {
        // Only the groups and the fence tags differ; the user data (and so the host) stays.
        const { vpcSecurityGroupIds: _a, tags: _b, ...rest } = r.inputs;
        const { vpcSecurityGroupIds: _c, tags: _d, ...restBefore } = before.inputs;
        assert.deepEqual(rest, restBefore, `${mode}: the instance changed beyond its groups and tags`);
        continue;
      }
      assert.deepEqual(r.inputs, before.inputs, `${mode}: ${key(r)} changed`);
    }
  }
  for (const t of ["aws:ebs/volume:Volume", "aws:ec2/volumeAttachment:VolumeAttachment", "aws:s3/bucket:Bucket", "aws:kms/key:Key"]) {
    assert.equal(ofType(runs.stop.h, t).length, 1, `${t} kept`);
  }
});
