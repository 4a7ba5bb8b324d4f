// A drill stack, configured the way `dr drill` derives it from the secondary's stack file
// (role drill, drill id and expiry, a restore request paused at a restore point, its own VPC
// range), run against mocks.
// The application network and DNS settings are deliberately left in, to prove the drill
// overrides drop them. Proves: no DNS records; no route, peering or security-group rule from
// the application network; nothing object-locked or protected to stand in the way of
// destroying it (it reads the region's production bucket and writes nothing); production's
// instance type (its RTO is the one a failover would see); drill id and expiry on every resource; the host's hardening still holds; its SSH
// goes through its own port forward, derived from the drill id.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { drillLocalPorts } from "./config/ports";
import { backupBucketName } from "./naming";
import { parseSiteOutputs } from "./outputs";
import { configFromStackFile, iniValues, installMocks, ofType, settle, standbySecrets, testAccountId, unsecret, userDataFiles, type Registered } from "./testing/mocks";
import { assertHostCannotDelete, assertHostsHardened, assertIsolationGroup, assertNoWorldOpenAdminPorts, hostPolicyOf, ingressRules } from "./testing/invariants";

const drillId = "20250901t040000";
const expiresAt = "2025-09-01T10:00:00Z";
const { config, secretKeys } = configFromStackFile(join(__dirname, "..", "Pulumi.secondary.yaml"), standbySecrets, {
  "fp-dr:role": "drill",
  "fp-dr:drill": { id: drillId, expiresAt },
  "fp-dr:network": {
    vpcCidr: "10.99.0.0/16",
    // Left over from the secondary's file on purpose: the drill role must ignore it.
    application: { cidrs: ["10.40.0.0/16"], securityGroupIds: ["sg-0123456789abcdef0"], peering: { vpcId: "vpc-0c3d4e5f60718293a", cidr: "10.40.0.0/16", routeTableIds: ["rtb-0c3d4e5f60718293a"] } },
  },
  "fp-dr:incidentManager": { enabled: false },
  // As `dr drill` writes it: paused read-only at the restore point taken on the primary.
  "fp-dr:restore": { requestId: `drill-${drillId}`, targetName: `fp-dr-drill-${drillId}`, mode: "pause", repo: 1, timeout: "2h" },
});
const h = installMocks({ stack: `drill-${drillId}`, config, secretKeys });
let outputs: Record<string, unknown>;
let instance: Registered;

before(async () => {
  const { program } = await import("./program");
  outputs = await settle(await program());
  instance = ofType(h, "aws:ec2/instance:Instance")[0];
});

test("a drill declares no DNS record and no health check", () => {
  assert.ok(h.resources.length > 20, "the drill stack declared almost nothing");
  assert.equal(h.resources.filter((r) => r.type.startsWith("aws:route53/")).length, 0);
  assert.equal(h.resources.filter((r) => r.type === "pulumi:pulumi:StackReference").length, 0);
  assert.equal(ofType(h, "aws:scheduler/schedule:Schedule").length, 0, "a drill does not schedule drills (the secondary stack does)");
});

test("no route from the application network: no peering, no route to it, no rule admitting it", () => {
  assert.equal(ofType(h, "aws:ec2/vpcPeeringConnection:VpcPeeringConnection").length, 0);
  assert.equal(ofType(h, "aws:ec2/transitGatewayVpcAttachment:TransitGatewayVpcAttachment").length, 0);
  const routes = ofType(h, "aws:ec2/route:Route");
  assert.ok(routes.length > 0);
  for (const r of routes) assert.ok(["0.0.0.0/0"].includes(String(r.inputs.destinationCidrBlock)), `route to ${String(r.inputs.destinationCidrBlock)}`);
  assert.ok(!routes.some((r) => String(r.inputs.routeTableId).startsWith("rtb-0c3d")), "a route was added to the application's route table");
  const vpcs = ofType(h, "aws:ec2/vpc:Vpc");
  assert.deepEqual(vpcs.map((v) => v.inputs.cidrBlock), ["10.99.0.0/16"]);
  const db = ofType(h, "aws:ec2/securityGroup:SecurityGroup").find((s) => s.name.endsWith("-database"))!;
  const dbRules = ingressRules(h).filter((r) => r.from.includes("-database-"));
  assert.deepEqual(dbRules, [], "the drill's database admits nobody over the network (SSM only)");
  assert.ok(db);
  assertNoWorldOpenAdminPorts(h);
  assertIsolationGroup(h);
});

test("safe to destroy: no bucket, no key, nothing locked; the host only reads production's repository", () => {
  assert.equal(ofType(h, "aws:s3/bucket:Bucket").length, 0);
  assert.equal(ofType(h, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration").length, 0);
  assert.equal(ofType(h, "aws:kms/key:Key").length, 0);
  const volume = ofType(h, "aws:ebs/volume:Volume")[0];
  assert.equal(volume.inputs.finalSnapshot, false);
  const doc = hostPolicyOf(h);
  const allows = assertHostCannotDelete(doc);
  const actions = allows.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
  assert.ok(!actions.includes("s3:PutObject"), "a drill must not write into production's repository");
  assert.ok(!actions.includes("kms:GenerateDataKey"));
  const read = allows.find((s) => s.Sid === "ReadRepository1");
  assert.equal(read?.Resource, `arn:aws:s3:::${backupBucketName("production", "eu-west-1", testAccountId)}/pgbackrest/*`);
});

test("a smaller instance without termination protection, still hardened", () => {
  assertHostsHardened(h, { dataVolumeGiB: 500, terminationProtection: false, instanceType: "r6i.xlarge" });
});

test("every resource carries the drill id and expiry (provider default tags)", () => {
  const providers = ofType(h, "pulumi:providers:aws");
  assert.equal(providers.length, 1);
  const tags = (JSON.parse(String(providers[0].inputs.defaultTags)) as { tags: Record<string, string> }).tags;
  assert.equal(tags["fp-dr:drill-id"], drillId);
  assert.equal(tags["fp-dr:expires-at"], expiresAt);
  assert.equal(tags["fp-dr:site"], `drill-${drillId}`);
  for (const r of h.resources.filter((x) => x.type.startsWith("aws:"))) assert.ok(r.provider?.includes(`pulumi:providers:aws::drill-${drillId}-aws`), `${r.name}`);
});

test("no alarms, topics or paging for a drill", () => {
  for (const t of ["aws:cloudwatch/metricAlarm:MetricAlarm", "aws:sns/topic:Topic", "aws:ssmcontacts/contact:Contact", "aws:ssmincidents/responsePlan:ResponsePlan"]) {
    assert.equal(ofType(h, t).length, 0, t);
  }
});

test("the drill host restores to the requested restore point and pauses there, reads one repository, archives nothing", () => {
  const files = userDataFiles(instance);
  const conf = iniValues(files.get("/etc/fp-dr/pgbackrest.conf.staged")!);
  assert.equal(conf.get("repo1-s3-bucket"), backupBucketName("production", "eu-west-1", testAccountId));
  assert.ok(![...conf.keys()].some((k) => k.startsWith("repo2-")));
  assert.equal(iniValues(files.get("/etc/fp-dr/postgresql.conf")!).get("archive_mode"), "off");
  const timers = [...files.keys()].filter((p) => p.endsWith(".timer"));
  assert.deepEqual(timers, ["/etc/systemd/system/fp-dr-health.timer"]);
  const restore = ofType(h, "command:remote:Command").find((c) => c.name.endsWith("-restore-pgbackrest"));
  assert.ok(restore);
  assert.match(unsecret<string>(restore.inputs.stdin), new RegExp(`'--type=name' '--target=fp-dr-drill-${drillId}' '--target-action=pause' 'restore'`));
  assert.deepEqual(restore.inputs.triggers, [`drill-${drillId}`, "", "", "pause", 1, instance.id, `name:fp-dr-drill-${drillId}`]);
});

test("the drill's port forwards are its own, derived from its id, not the secondary's", () => {
  const ports = drillLocalPorts(drillId);
  assert.ok(ports.ssh >= 22000 && ports.ssh < 23000 && ports.postgres === ports.ssh + 3000, JSON.stringify(ports));
  for (const c of ofType(h, "command:remote:Command")) {
    const conn = unsecret<{ host: string; port: number }>(c.inputs.connection);
    assert.deepEqual([conn.host, conn.port], ["127.0.0.1", ports.ssh], c.name);
  }
});

test("the outputs name the drill for the automation that destroys it", () => {
  const site = parseSiteOutputs(outputs);
  assert.equal(site.role, "drill");
  assert.deepEqual(site.drill, { id: drillId, expiresAt });
  assert.equal(site.dns, undefined);
  assert.equal(site.topics, undefined);
  assert.equal(site.repositories.repo2, undefined);
  assert.equal(site.restore?.requestId, `drill-${drillId}`);
});
