// The primary stack (Pulumi.primary.yaml as shipped, test secrets), run against mocks. Proves
// the invariants the runbook relies on: everything in eu-central-1 through one explicit
// provider; the backup bucket versioned, locked, KMS-encrypted, private, TLS-only, undeletable
// by hosts; nothing opens 5432 or 22 to the world; the host requires IMDSv2, encrypts its
// volumes, is termination-protected and can write but never delete; its pgbackrest.conf
// sends repo2 to the secondary region's bucket; every runbook alert has an alarm with the
// runbook's threshold on its severity's topic, fed by a producer that exists; no DNS here;
// database objects through an explicit provider; outputs match the shared SiteOutputs type.
import { before, test } from "node:test";
import * as mocksModule from "@pulumi/pulumi/runtime/mocks";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { monthlyCost, readmeUsage, renderCostTable } from "./cost/estimate";
import { buildMetricData } from "./alarms/publish-metrics";
import type { HealthMetrics } from "../automation/postgres/health-types";
import { eventMetricCatalogue, healthMetricCatalogue } from "./alarms/metrics";
import { cipherPassPlaceholder, type HostSpec } from "./cloud-init/host-spec";
import { renderPostgresqlConf } from "./cloud-init/postgresql-conf";
import { hostApplyDocument, hostConfigVersion } from "./host-apply";
import { backupBucketName } from "./naming";
import { parseSiteOutputs, type SiteOutputs } from "./outputs";
import { configFromStackFile, iniValues, installMocks, isSecretValue, ofType, plainStrings, settle, testAccountId, testSecrets, unsecret, userDataFiles, type Registered } from "./testing/mocks";
import {
  assertBucketsProtected,
  assertHostCannotDelete,
  assertHostsHardened,
  assertIsolationGroup,
  assertNoWorldOpenAdminPorts,
  assertRunbookAlarms,
  hostPolicyOf,
  ingressRules,
  assertBackupKeysGuarded,
} from "./testing/invariants";

/** ignoreChanges of each resource, as the program registers it (the mock runtime drops options). */
const ignoreChanges = new Map<string, string[]>();
const monitor = (mocksModule as unknown as { MockMonitor: { prototype: { registerResource(req: { getName(): string; getIgnorechangesList(): string[] }, cb: unknown): Promise<void> } } }).MockMonitor.prototype;
const register = monitor.registerResource;
monitor.registerResource = function (req, cb) {
  ignoreChanges.set(req.getName(), req.getIgnorechangesList());
  return register.call(this, req, cb);
};

const { config, secretKeys } = configFromStackFile(join(__dirname, "..", "Pulumi.primary.yaml"), testSecrets);
const h = installMocks({ stack: "primary", config, secretKeys });
let outputs: Record<string, unknown>;
let instance: Registered;
let files: Map<string, string>;

before(async () => {
  const { program } = await import("./program");
  outputs = await settle(await program());
  instance = ofType(h, "aws:ec2/instance:Instance")[0];
  files = userDataFiles(instance);
});

test("everything is in eu-central-1, through the site's one explicit provider", () => {
  const providers = ofType(h, "pulumi:providers:aws");
  assert.equal(providers.length, 1);
  assert.equal(providers[0].inputs.region, "eu-central-1");
  const tags = JSON.parse(String(providers[0].inputs.defaultTags)) as { tags: Record<string, string> };
  assert.equal(tags.tags["fp-dr:site"], "primary");
  const aws = h.resources.filter((r) => r.type.startsWith("aws:"));
  assert.ok(aws.length > 40, `only ${aws.length} AWS resources`);
  for (const r of aws) {
    assert.ok(r.provider?.includes("pulumi:providers:aws::primary-aws"), `${r.type} ${r.name} uses provider ${r.provider}`);
    assert.equal(r.region, "eu-central-1");
  }
});

test("the backup bucket is versioned, locked, KMS-encrypted, private, TLS-only and undeletable by hosts", () => {
  const buckets = assertBucketsProtected(h, { lockMode: "COMPLIANCE", lockDays: 35 });
  assert.deepEqual(
    buckets.map((b) => b.id),
    [backupBucketName("production", "eu-central-1", testAccountId)],
  );
  const alias = ofType(h, "aws:kms/alias:Alias");
  assert.deepEqual(alias.map((a) => a.inputs.name), ["alias/fp-dr-production-backups"]);
});

test("no security group opens 5432 or 22 to the world; PostgreSQL only from the application network", () => {
  assertNoWorldOpenAdminPorts(h);
  assertIsolationGroup(h);
  const pg = ingressRules(h).filter((r) => r.fromPort <= 5432 && 5432 <= r.toPort);
  assert.ok(pg.length > 0, "no rule admits the application");
  // The application's network, and the standby site's VPC for the stream (nothing else).
  for (const r of pg) assert.deepEqual(r.cidrs, [r.from.includes("replication") ? "10.30.0.0/16" : "10.10.0.0/16"], r.from);
  assert.ok(pg.some((r) => r.from.includes("replication")), "the standby site may reach 5432 to stream");
  assert.ok(!ingressRules(h).some((r) => r.fromPort <= 22 && 22 <= r.toPort), "SSH must go through SSM");
  // The application VPC is peered and routed both ways; the secondary's peering is accepted here.
  assert.equal(ofType(h, "aws:ec2/vpcPeeringConnection:VpcPeeringConnection").length, 1);
  const accepted = ofType(h, "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter");
  assert.deepEqual(accepted.map((a) => a.inputs.vpcPeeringConnectionId), ["pcx-0a1b2c3d4e5f60718"]);
  const routes = ofType(h, "aws:ec2/route:Route").map((r) => r.inputs.destinationCidrBlock);
  assert.ok(routes.includes("10.10.0.0/16") && routes.includes("10.20.0.0/16"));
});

test("private subnets in two availability zones, endpoints for S3 and SSM", () => {
  const subnets = ofType(h, "aws:ec2/subnet:Subnet").filter((s) => s.name.includes("-private-"));
  assert.deepEqual(subnets.map((s) => s.inputs.availabilityZone).sort(), ["eu-central-1a", "eu-central-1b"]);
  for (const s of subnets) assert.notEqual(s.inputs.mapPublicIpOnLaunch, true);
  const endpoints = ofType(h, "aws:ec2/vpcEndpoint:VpcEndpoint").map((e) => e.inputs.serviceName);
  for (const svc of ["s3", "ssm", "ssmmessages", "ec2messages", "monitoring"]) assert.ok(endpoints.includes(`com.amazonaws.eu-central-1.${svc}`), svc);
});

test("this region's repository traffic stays off the NAT gateway: the S3 gateway endpoint serves the host's subnet", () => {
  const s3 = ofType(h, "aws:ec2/vpcEndpoint:VpcEndpoint").find((e) => e.inputs.serviceName === "com.amazonaws.eu-central-1.s3")!;
  assert.equal(s3.inputs.vpcEndpointType, "Gateway");
  const hostSubnet = String(instance.inputs.subnetId);
  const association = ofType(h, "aws:ec2/routeTableAssociation:RouteTableAssociation").find((a) => a.inputs.subnetId === hostSubnet);
  assert.ok(association, "the host's subnet has no route table");
  assert.ok((s3.inputs.routeTableIds as string[]).includes(String(association.inputs.routeTableId)), "the gateway endpoint is not on the host's route table: S3 would go through NAT");
});

test("the host requires IMDSv2, encrypts its volumes, is termination-protected and sized from config", () => {
  assertHostsHardened(h, { dataVolumeGiB: 500, terminationProtection: true, instanceType: "r6i.xlarge" });
  assert.equal(ofType(h, "aws:ebs/volume:Volume")[0].inputs.finalSnapshot, true);
});

test("the host writes to its backup prefixes in both regions (a delete marker for expire at most), never destroys a version", () => {
  const doc = hostPolicyOf(h);
  const allows = assertHostCannotDelete(doc);
  const own = `arn:aws:s3:::${backupBucketName("production", "eu-central-1", testAccountId)}/pgbackrest/*`;
  const offsite = `arn:aws:s3:::${backupBucketName("production", "eu-west-1", testAccountId)}/pgbackrest/*`;
  for (const resource of [own, offsite]) {
    const s = allows.find((x) => x.Resource === resource);
    assert.ok(s, `no grant on ${resource}`);
    // DeleteObject: the scheduled expire of each repository; the bucket is versioned and locked.
    assert.deepEqual(s.Action, ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]);
  }
  const kms = allows.filter((s) => String(s.Action).includes("kms:"));
  assert.deepEqual(kms.map((s) => s.Resource).sort(), [`arn:aws:kms:eu-central-1:${testAccountId}:key/*`, `arn:aws:kms:eu-west-1:${testAccountId}:key/*`]);
  for (const s of kms) assert.deepEqual(s.Condition?.["ForAnyValue:StringEquals"], { "kms:ResourceAliases": "alias/fp-dr-production-backups" });
  const metrics = allows.find((s) => s.Action === "cloudwatch:PutMetricData");
  assert.deepEqual(metrics?.Condition, { StringEquals: { "cloudwatch:namespace": "FpDr" } });
});

test("repo1 is this region's bucket and repo2 the secondary region's bucket, both encrypted with the escrowed passphrase", () => {
  const conf = iniValues(files.get("/etc/fp-dr/pgbackrest.conf.staged")!);
  assert.equal(conf.get("repo1-s3-bucket"), backupBucketName("production", "eu-central-1", testAccountId));
  assert.equal(conf.get("repo1-s3-region"), "eu-central-1");
  assert.equal(conf.get("repo2-s3-bucket"), backupBucketName("production", "eu-west-1", testAccountId));
  assert.equal(conf.get("repo2-s3-region"), "eu-west-1");
  // Not the passphrase: the bootstrap puts in the one it reads from Secrets Manager.
  assert.equal(conf.get("repo1-cipher-pass"), cipherPassPlaceholder);
  assert.equal(conf.get("repo2-cipher-pass"), cipherPassPlaceholder);
  const text = files.get("/etc/fp-dr/pgbackrest.conf.staged")!;
  assert.equal(iniValues(text, "global").get("process-max"), "4");
  assert.equal(iniValues(text, "global:restore").get("process-max"), "8", "a restore runs twice the workers");
  for (const n of [1, 2]) assert.equal(conf.get(`repo${n}-bundle`), "y", `repo${n} bundles small files`);
  const pg = iniValues(files.get("/etc/fp-dr/postgresql.conf")!);
  assert.equal(pg.get("archive_command"), "'pgbackrest --stanza=fp archive-push %p'");
  assert.equal(pg.get("archive_timeout"), "450");
});

test("secrets stay secrets: user data is a secret input and no secret value appears in plain text anywhere", () => {
  assert.ok(isSecretValue(instance.inputs.userDataBase64), "user data must be a Pulumi secret");
  const everywhere = h.resources.flatMap((r) => plainStrings(r.inputs));
  assert.ok(everywhere.length > 100);
  for (const [key, value] of Object.entries(testSecrets)) {
    assert.ok(!everywhere.some((s) => s.includes(value)), `${key} appears in plain text in a resource input`);
  }
});

test("every runbook alert has an alarm with the runbook's threshold on its severity's topic", () => {
  const alarms = assertRunbookAlarms(h, { environment: "production", site: "primary" });
  // No incident actions here: Incident Manager lives in the secondary stack.
  for (const a of alarms) for (const action of a.inputs.alarmActions as string[]) assert.match(action, /^arn:aws:sns:eu-central-1:/);
});

test("every alarm's metric has a producer: dr health --publish, a systemd event, or AWS itself", () => {
  const alarms = ofType(h, "aws:cloudwatch/metricAlarm:MetricAlarm");
  const full = Object.fromEntries(Object.keys(healthMetricCatalogue).map((k) => [k, 1])) as unknown as HealthMetrics;
  const published = buildMetricData({ site: "primary", checkedAt: new Date().toISOString(), worst: "ok", findings: [], metrics: full }, { environment: "production" });
  const units = [...files.entries()].filter(([p]) => p.startsWith("/etc/systemd/system/"));
  assert.ok(units.some(([p, c]) => p.endsWith("fp-dr-health.service") && /dr health --publish --site primary/.test(c)), "no health publisher unit");
  assert.ok(alarms.length > 0);
  for (const a of alarms) {
    const metric = String(a.inputs.metricName);
    if (a.inputs.namespace === "AWS/EC2") {
      assert.deepEqual(a.inputs.dimensions, { InstanceId: instance.id });
    } else if (metric in eventMetricCatalogue) {
      assert.ok(units.some(([, c]) => c.includes(`fp-dr-event ${metric}`)), `${metric}: no unit publishes it`);
      assert.match(files.get("/usr/local/sbin/fp-dr-event")!, /--namespace FpDr[\s\S]*Environment\\=production\\,Site\\=primary/);
    } else {
      assert.equal(published.Namespace, a.inputs.namespace);
      const datum = published.MetricData?.find((d) => d.MetricName === metric);
      assert.ok(datum, `${metric}: dr health --publish does not send it`);
      const dims = Object.fromEntries((datum.Dimensions ?? []).map((d) => [d.Name, d.Value]));
      assert.deepEqual(dims, a.inputs.dimensions, `${metric}: dimensions differ between publisher and alarm`);
    }
  }
});

test("the primary stack holds no DNS record: the secondary owns them", () => {
  assert.equal(ofType(h, "aws:route53/record:Record").length, 0);
  assert.equal(ofType(h, "aws:route53/healthCheck:HealthCheck").length, 0);
});

test("database objects: explicit provider settings, the three roles and the replication role, both extensions, the standby's slot, after the readiness gate", () => {
  const providers = ofType(h, "pulumi:providers:postgresql");
  assert.equal(providers.length, 1);
  const p = providers[0].inputs;
  assert.equal(p.sslmode, "require");
  assert.equal(p.superuser, "true");
  assert.equal(p.host, "127.0.0.1");
  assert.equal(p.port, "15432");
  assert.equal(p.username, "fp_admin");
  assert.deepEqual(ofType(h, "postgresql:index/role:Role").map((r) => r.inputs.name).sort(), ["fp_app", "fp_backup", "fp_replication", "fp_verifier"]);
  const replication = ofType(h, "postgresql:index/role:Role").find((r) => r.inputs.name === "fp_replication")!.inputs;
  assert.equal(String(replication.replication), "true");
  assert.ok(isSecretValue(replication.password) && unsecret(replication.password) === testSecrets.replicationPassword, "its own secret, not the admin's");
  assert.deepEqual(ofType(h, "postgresql:index/physicalReplicationSlot:PhysicalReplicationSlot").map((r) => r.inputs.name), ["fp_standby"]);
  assert.deepEqual(ofType(h, "postgresql:index/extension:Extension").map((r) => r.inputs.name).sort(), ["amcheck", "pg_stat_statements"]);
  assert.deepEqual(ofType(h, "postgresql:index/database:Database").map((r) => r.inputs.name), ["financial_planning"]);
  for (const r of h.resources.filter((x) => x.type.startsWith("postgresql:index/"))) assert.ok(r.provider?.includes("pulumi:providers:postgresql::"), `${r.name} uses the default provider`);
  const gate = ofType(h, "command:remote:Command").filter((c) => c.name.endsWith("-ready-gate"));
  assert.equal(gate.length, 1);
  assert.equal(gate[0].inputs.create, "bash -s");
  assert.ok(isSecretValue(gate[0].inputs.stdin), "the gate's script holds the admin password: secret");
  assert.match(unsecret<string>(gate[0].inputs.stdin), /cloud-init status --wait[\s\S]*pg_isready[\s\S]*ALTER ROLE fp_admin WITH LOGIN SUPERUSER PASSWORD/);
  const conn = unsecret<{ host: string; port: number; user: string; privateKey: unknown }>(gate[0].inputs.connection);
  assert.deepEqual([conn.host, conn.port, conn.user], ["127.0.0.1", 2222, "admin"]);
});

test("the outputs are the shared SiteOutputs the automation reads", () => {
  const site: SiteOutputs = parseSiteOutputs(outputs);
  assert.equal(site.role, "primary");
  assert.equal(site.region, "eu-central-1");
  assert.equal(site.instanceId, instance.id);
  assert.equal(site.repositories.repo2?.region, "eu-west-1");
  assert.equal(site.repositories.repo1.kmsKeyArn?.startsWith("arn:aws:kms:eu-central-1:"), true);
  assert.equal(site.alarms.length, ofType(h, "aws:cloudwatch/metricAlarm:MetricAlarm").length);
  assert.ok(site.topics?.critical.endsWith(":fp-dr-production-primary-critical"));
  assert.equal(site.dns, undefined);
});

test("the backup key: only the break-glass role may delete, disable or re-policy it, and trying pages the critical topic", () => {
  const keys = assertBackupKeysGuarded(h, { environment: "production", accountId: testAccountId });
  assert.deepEqual(keys.map((k) => k.region), ["eu-central-1"]);
});

test("the repository passphrase is escrowed in Secrets Manager, replicated to the secondary region, readable by the host in its region only", () => {
  const [escrow] = ofType(h, "aws:secretsmanager/secret:Secret");
  assert.ok(escrow, "no escrow secret");
  assert.equal(escrow.inputs.name, "fp-dr/production/repository-cipher-pass");
  assert.equal(escrow.region, "eu-central-1");
  assert.deepEqual(escrow.inputs.replicas, [{ region: "eu-west-1" }]);
  assert.equal(escrow.inputs.recoveryWindowInDays, 30);
  const [version] = ofType(h, "aws:secretsmanager/secretVersion:SecretVersion");
  assert.ok(isSecretValue(version.inputs.secretString), "the passphrase stays a Pulumi secret");
  assert.equal(unsecret(version.inputs.secretString), testSecrets.repoCipherPass);
  const read = hostPolicyOf(h).Statement.find((s) => s.Action === "secretsmanager:GetSecretValue");
  assert.equal(read?.Resource, `arn:aws:secretsmanager:eu-central-1:${testAccountId}:secret:fp-dr/production/repository-cipher-pass-??????`);
  assert.match(files.get("/usr/local/sbin/fp-dr-bootstrap")!, /get-secret-value --region eu-central-1 --secret-id fp-dr\/production\/repository-cipher-pass /);
});

test("the README's monthly cost table of the primary stack is what its declared resources cost", () => {
  const table = renderCostTable("primary", monthlyCost(h.resources, readmeUsage(true)));
  const readme = readFileSync(join(__dirname, "..", "README.md"), "utf8");
  assert.ok(readme.includes(table), `README.md must hold this table (regenerate it from this test):\n${table}`);
});

test("a config change reaches the running host through SSM: the spec in a parameter, an association running dr host apply when its version changes", () => {
  const [parameter] = ofType(h, "aws:ssm/parameter:Parameter");
  assert.equal(parameter.inputs.name, "/fp-dr-production/primary/host-spec");
  assert.equal(parameter.inputs.type, "String");
  // The provider keeps a parameter's value secret in state; it holds no secret of ours.
  const value = unsecret<string>(parameter.inputs.value);
  const spec = JSON.parse(value) as HostSpec;
  // The same spec the user data was rendered from, with the data volume's id.
  assert.equal(files.get("/etc/fp-dr/postgresql.conf"), renderPostgresqlConf(spec));
  assert.ok(!value.includes(testSecrets.repoCipherPass), "the passphrase stays out of the parameter");

  const [document] = ofType(h, "aws:ssm/document:Document");
  assert.equal(document.inputs.name, "fp-dr-production-primary-host-apply");
  assert.equal(document.inputs.documentType, "Command");
  assert.deepEqual(JSON.parse(String(document.inputs.content)), hostApplyDocument("eu-central-1"));

  const [association] = ofType(h, "aws:ssm/association:Association");
  assert.equal(association.inputs.name, document.inputs.name);
  assert.deepEqual(association.inputs.targets, [{ key: "InstanceIds", values: [instance.id] }]);
  assert.deepEqual(association.inputs.parameters, { specParameter: "/fp-dr-production/primary/host-spec", configVersion: hostConfigVersion(spec) });

  // A new user data would stop and start the database host (and cloud-init would not run it
  // again); the host keeps the one it booted with.
  assert.deepEqual(ignoreChanges.get("primary-host-instance"), ["ami", "userDataBase64"]);

  const read = hostPolicyOf(h).Statement.find((s) => s.Sid === "ReadHostSpec");
  assert.deepEqual(read, { Sid: "ReadHostSpec", Effect: "Allow", Action: "ssm:GetParameter", Resource: `arn:aws:ssm:eu-central-1:${testAccountId}:parameter/fp-dr-production/primary/host-spec` });
});
