// Hardware failure (fp-dr:replacement) on the primary stack, run against mocks three times:
// fenced as a failover leaves it, then with a replacement declared (not yet reachable), then
// reachable. Proves: the replacement is a second host in the site's other availability zone
// with its own new data volume and role, in the database group; the fenced old host keeps the
// isolation group and everything it had (nothing of it is deleted or replaced); until the
// replacement is reachable nothing bound to the site's host moves; once it is, readiness, the
// restore, the host-apply association, the alarms and the outputs (instanceId, privateIp) are
// the replacement's, and the outputs name it; a later fence (another request) isolates the
// replacement too.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseSiteOutputs, type SiteOutputs } from "./outputs";
import { configFromStackFile, installMocks, ofType, settle, testSecrets, type Harness } from "./testing/mocks";

const stackFile = join(__dirname, "..", "Pulumi.primary.yaml");
const fence = { mode: "isolate", requestId: "fence-20250901t120000z-0001" };
const restore = { requestId: "restore-20250901t120000z-0002", mode: "standby", repo: 1, allowOverwrite: true };
type Name = "fenced" | "declared" | "reachable" | "refenced";
const runs = {} as Record<Name, { h: Harness; outputs: SiteOutputs }>;

before(async () => {
  const { program } = await import("./program");
  const cases: [Name, Record<string, unknown>][] = [
    ["fenced", { "fp-dr:fence": fence, "fp-dr:restore": restore }],
    ["declared", { "fp-dr:fence": fence, "fp-dr:restore": restore, "fp-dr:replacement": { id: "kx3j2", oldHostFence: fence.requestId } }],
    ["reachable", { "fp-dr:fence": fence, "fp-dr:restore": restore, "fp-dr:replacement": { id: "kx3j2", reachable: true, oldHostFence: fence.requestId } }],
    // A later failover fences the site again: another request.
    ["refenced", { "fp-dr:fence": { mode: "isolate", requestId: "fence-20251001t120000z-0007" }, "fp-dr:restore": restore, "fp-dr:replacement": { id: "kx3j2", reachable: true, oldHostFence: fence.requestId } }],
  ];
  for (const [name, overrides] of cases) {
    const { config, secretKeys } = configFromStackFile(stackFile, testSecrets, overrides);
    const h = installMocks({ stack: "primary", config, secretKeys });
    const out = await settle(await program());
    runs[name] = { h, outputs: parseSiteOutputs(out) };
  }
});

const byName = (h: Harness, type: string, name: string) => ofType(h, type).find((r) => r.name === name);
const instance = (h: Harness, name: string) => byName(h, "aws:ec2/instance:Instance", name)!;
const group = (h: Harness, suffix: string) => ofType(h, "aws:ec2/securityGroup:SecurityGroup").find((s) => s.name.endsWith(suffix))!.id;
const subnets = (h: Harness) => ofType(h, "aws:ec2/subnet:Subnet").filter((s) => s.name.includes("private")).map((s) => s.id);

test("the replacement is a second host in the other availability zone, on a new volume, with its own role, in the database group", () => {
  const { h } = runs.declared;
  assert.equal(ofType(runs.fenced.h, "aws:ec2/instance:Instance").length, 1);
  const old = instance(h, "primary-host-instance");
  const repl = instance(h, "primary-replacement-instance");
  assert.deepEqual(repl.inputs.vpcSecurityGroupIds, [group(h, "-database")]);
  assert.deepEqual(old.inputs.vpcSecurityGroupIds, [group(h, "-isolation")], "the old host stays fenced");
  assert.notEqual(repl.inputs.subnetId, old.inputs.subnetId);
  assert.ok(subnets(h).includes(String(repl.inputs.subnetId)));
  const volumes = ofType(h, "aws:ebs/volume:Volume");
  assert.deepEqual(volumes.map((v) => v.name).sort(), ["primary-host-data", "primary-replacement-data"]);
  assert.notEqual(volumes[0].inputs.availabilityZone, volumes[1].inputs.availabilityZone);
  assert.deepEqual(ofType(h, "aws:iam/role:Role").map((r) => r.inputs.name).filter((n) => String(n).endsWith("-host")).sort(), ["fp-dr-production-primary-host", "fp-dr-production-primary-replacement-host"]);
  // The old host's resources are exactly as the fenced run declared them.
  for (const r of runs.fenced.h.resources.filter((x) => x.name.startsWith("primary-host-"))) {
    assert.deepEqual(byName(h, r.type, r.name)?.inputs, r.inputs, `${r.name} changed`);
  }
});

test("until the replacement is reachable nothing bound to the site's host moves; then all of it does", () => {
  const oldId = instance(runs.declared.h, "primary-host-instance").id;
  const replId = instance(runs.reachable.h, "primary-replacement-instance").id;
  const boundTo = (h: Harness) => ({
    ready: (byName(h, "command:remote:Command", "primary-ready-gate")?.inputs.triggers as unknown[] | undefined)?.[0],
    restore: (byName(h, "command:remote:Command", "primary-restore-pgbackrest")?.inputs.triggers as unknown[]).at(-1),
    association: (byName(h, "aws:ssm/association:Association", "primary-host-config-association")!.inputs.targets as { values: string[] }[])[0].values[0],
    alarm: ofType(h, "aws:cloudwatch/metricAlarm:MetricAlarm").find((a) => (a.inputs.dimensions as Record<string, string> | undefined)?.InstanceId)?.inputs.dimensions,
  });
  const declared = boundTo(runs.declared.h);
  assert.deepEqual([declared.ready, declared.restore, declared.association, declared.alarm], [oldId, oldId, oldId, { InstanceId: oldId }]);
  assert.equal(runs.declared.outputs.instanceId, oldId);
  assert.deepEqual(runs.declared.outputs.replacement, { id: "kx3j2", reachable: false, instanceId: instance(runs.declared.h, "primary-replacement-instance").id, privateIp: runs.declared.outputs.replacement!.privateIp });

  const reachable = boundTo(runs.reachable.h);
  assert.deepEqual([reachable.ready, reachable.restore, reachable.association, reachable.alarm], [replId, replId, replId, { InstanceId: replId }]);
  assert.equal(runs.reachable.outputs.instanceId, replId);
  assert.equal(runs.reachable.outputs.privateIp, runs.reachable.outputs.replacement!.privateIp);
  assert.equal(runs.reachable.outputs.replacement!.reachable, true);
  assert.deepEqual(runs.reachable.outputs.fence, fence, "the fence is still reported: it stays on the old host");
});

test("the fence the old host was failed away with stays on it; a later fence isolates the replacement too", () => {
  for (const name of ["declared", "reachable"] as const) {
    assert.deepEqual(instance(runs[name].h, "primary-replacement-instance").inputs.vpcSecurityGroupIds, [group(runs[name].h, "-database")], name);
  }
  const { h } = runs.refenced;
  for (const host of ["primary-host-instance", "primary-replacement-instance"]) assert.deepEqual(instance(h, host).inputs.vpcSecurityGroupIds, [group(h, "-isolation")], host);
  assert.equal((instance(h, "primary-replacement-instance").inputs.tags as Record<string, string>)["fp-dr:fenced-by"], "fence-20251001t120000z-0007");
});
