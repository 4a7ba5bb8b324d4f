// The secondary stack (Pulumi.secondary.yaml as shipped, test secrets, the primary's stack
// outputs mocked), run against mocks. Proves that it holds no resource and no provider in the
// primary region (it must work while that region is down); that it owns the failover records
// (PRIMARY with a health check on the primary's alarm, SECONDARY on this host); that its bucket
// is the one the primary's repo2 names, with the same protections; that Incident Manager
// carries the runbook's escalation matrix and critical alarms start it; that the warm standby
// is restored from this region's repository; and that it declares no database objects (a
// standby is read-only).
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { monthlyCost, readmeUsage, renderCostTable } from "./cost/estimate";
import type { PolicyDocument } from "./policies/documents";
import { alarmName, backupBucketName } from "./naming";
import { parseSiteOutputs } from "./outputs";
import { configFromStackFile, iniValues, installMocks, isSecretValue, ofType, settle, standbySecrets, testAccountId, unsecret, userDataFiles, type Registered } from "./testing/mocks";
import {
  assertBucketsProtected,
  assertHostCannotDelete,
  assertHostsHardened,
  assertIsolationGroup,
  assertNoWorldOpenAdminPorts,
  assertRunbookAlarms,
  hostPolicyOf,
  assertBackupKeysGuarded,
} from "./testing/invariants";

const primaryRegion = "eu-central-1";
const primaryAddress = "10.20.7.42";
const { config, secretKeys } = configFromStackFile(join(__dirname, "..", "Pulumi.secondary.yaml"), standbySecrets);
const h = installMocks({ stack: "secondary", config, secretKeys, stackOutputs: { "acme/fp-dr/primary": { privateIp: primaryAddress, role: "primary", vpcId: "vpc-0a1b2c3d4e5f60718" } } });
let outputs: Record<string, unknown>;
let instance: Registered;

before(async () => {
  const { program } = await import("./program");
  outputs = await settle(await program());
  instance = ofType(h, "aws:ec2/instance:Instance")[0];
});

test("no provider and no resource in the primary region", () => {
  const providers = ofType(h, "pulumi:providers:aws");
  assert.equal(providers.length, 1);
  assert.equal(providers[0].inputs.region, "eu-west-1");
  const aws = h.resources.filter((r) => r.type.startsWith("aws:"));
  assert.ok(aws.length > 40, `only ${aws.length} AWS resources`);
  for (const r of aws) {
    assert.ok(r.provider?.includes("pulumi:providers:aws::secondary-aws"), `${r.type} ${r.name} does not use the site's provider`);
    assert.equal(r.region, "eu-west-1", `${r.type} ${r.name}`);
    assert.notEqual(r.inputs.region, primaryRegion, `${r.type} ${r.name} sets region ${primaryRegion}`);
  }
  // Its lookups too went to the secondary region.
  assert.ok(h.calls.includes("aws:index/getAvailabilityZones:getAvailabilityZones"));
  const subnets = ofType(h, "aws:ec2/subnet:Subnet").map((s) => String(s.inputs.availabilityZone));
  assert.ok(subnets.length > 0 && subnets.every((z) => z.startsWith("eu-west-1")));
});

test("the failover records: PRIMARY health-checked on the primary's alarm; in steady state both forced to the current primary", () => {
  const records = ofType(h, "aws:route53/record:Record");
  assert.equal(records.length, 2);
  const byRole = new Map(records.map((r) => [(r.inputs.failoverRoutingPolicies as { type: string }[])[0].type, r]));
  const checks = ofType(h, "aws:route53/healthCheck:HealthCheck");
  assert.equal(checks.length, 1);
  const check = checks[0].inputs;
  assert.equal(check.type, "CLOUDWATCH_METRIC");
  assert.equal(check.cloudwatchAlarmName, alarmName("production", "primary", "database-unavailable"));
  assert.equal(check.cloudwatchAlarmRegion, primaryRegion);
  assert.equal(check.insufficientDataHealthStatus, "Unhealthy", "a primary region that stops reporting must fail over");
  const primary = byRole.get("PRIMARY")!.inputs;
  const secondary = byRole.get("SECONDARY")!.inputs;
  for (const r of [primary, secondary]) {
    assert.equal(r.name, "db.fp.internal");
    assert.equal(r.zoneId, "Z0123456789ABCDEFGHIJ");
    assert.equal(r.type, "A");
    assert.equal(r.ttl, 30);
  }
  assert.equal(primary.healthCheckId, checks[0].id);
  assert.equal(secondary.healthCheckId, undefined);
  assert.deepEqual(primary.records, [primaryAddress], "the primary's address comes from its stack outputs");
  // activeSite primary (the shipped steady state): the SECONDARY record answers the primary
  // too, so a failing health check alone never moves clients to the unpromoted standby.
  assert.deepEqual(secondary.records, [primaryAddress], "automatic failover is opt-in: the standby is not an answer in steady state");
});

test("this region's bucket is the one the primary's repo2 names, with every protection", () => {
  const buckets = assertBucketsProtected(h, { lockMode: "COMPLIANCE", lockDays: 35 });
  assert.deepEqual(
    buckets.map((b) => b.id),
    [backupBucketName("production", "eu-west-1", testAccountId)],
  );
  const conf = iniValues(userDataFiles(instance).get("/etc/fp-dr/pgbackrest.conf.staged")!);
  assert.equal(conf.get("repo1-s3-bucket"), backupBucketName("production", "eu-west-1", testAccountId));
  // After a failover this site writes back to the primary region: by name, no provider there.
  assert.equal(conf.get("repo2-s3-bucket"), backupBucketName("production", primaryRegion, testAccountId));
  assert.equal(conf.get("repo2-s3-region"), primaryRegion);
});

test("network and host invariants hold here too", () => {
  assertNoWorldOpenAdminPorts(h);
  assertIsolationGroup(h);
  // Termination protection is the primary's; the standby is replaceable from the repository.
  assertHostsHardened(h, { dataVolumeGiB: 500, terminationProtection: false, instanceType: "r6i.xlarge" });
  // A standby (not the active site) reads the production repositories and writes none of them.
  const actions = assertHostCannotDelete(hostPolicyOf(h)).flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
  assert.ok(actions.includes("s3:GetObject"));
  for (const a of ["s3:PutObject", "s3:DeleteObject", "kms:GenerateDataKey"]) assert.ok(!actions.includes(a), `the standby may ${a}`);
});

test("alarms, and Incident Manager with the runbook's escalation matrix", () => {
  const alarms = assertRunbookAlarms(h, { environment: "production", site: "secondary" });
  const plans = ofType(h, "aws:ssmincidents/responsePlan:ResponsePlan");
  assert.deepEqual(plans.map((p) => [p.inputs.name, (p.inputs.incidentTemplate as { impact: number }).impact]).sort(), [
    ["fp-dr-production-secondary-critical", 1],
    ["fp-dr-production-secondary-warning", 2],
  ]);
  const criticalPlanArn = `arn:aws:ssm-incidents::${testAccountId}:response-plan/fp-dr-production-secondary-critical`;
  const critical = alarms.filter((a) => String(a.inputs.alarmDescription).includes("(runbook, critical)"));
  assert.ok(critical.length >= 5);
  for (const a of critical) assert.ok((a.inputs.alarmActions as string[]).includes(criticalPlanArn), `${a.inputs.name} does not start an incident`);
  const info = alarms.filter((a) => String(a.inputs.alarmDescription).includes("(runbook, info)"));
  for (const a of info) assert.ok(!(a.inputs.alarmActions as string[]).some((x) => x.includes("ssm-incidents")), "information alerts open no incident");

  const contacts = ofType(h, "aws:ssmcontacts/contact:Contact");
  const personal = contacts.filter((c) => c.inputs.type === "PERSONAL");
  assert.deepEqual(personal.map((c) => c.inputs.alias).sort(), ["fp-dr-executive-team", "fp-dr-it-director-business-lead", "fp-dr-oncall-dba", "fp-dr-senior-dba-dev-lead"]);
  const escalation = contacts.filter((c) => c.inputs.type === "ESCALATION");
  assert.equal(escalation.length, 1);
  const plan = ofType(h, "aws:ssmcontacts/plan:Plan").find((p) => p.inputs.contactId === `arn:aws:ssmcontacts:eu-west-1:${testAccountId}:${escalation[0].name}`);
  assert.ok(plan, "no escalation plan");
  const stages = plan.inputs.stages as { durationInMinutes: number; targets: { contactTargetInfo: { contactId: string } }[] }[];
  // Runbook: 0-15 min on-call DBA, 15-30 senior DBA + dev lead, 30-60 management, 1h+ executives.
  assert.deepEqual(stages.map((s) => s.durationInMinutes), [15, 15, 30, 0]);
  const aliasOfArn = (arn: string) => personal.find((c) => arn.endsWith(`:${c.name}`))?.inputs.alias;
  assert.deepEqual(stages.map((s) => aliasOfArn(s.targets[0].contactTargetInfo.contactId)), ["fp-dr-oncall-dba", "fp-dr-senior-dba-dev-lead", "fp-dr-it-director-business-lead", "fp-dr-executive-team"]);
  const channels = ofType(h, "aws:ssmcontacts/contactChannel:ContactChannel");
  assert.equal(channels.length, 6);
  const replication = ofType(h, "aws:ssmincidents/replicationSet:ReplicationSet");
  assert.deepEqual(replication.map((r) => r.inputs.regions), [[{ name: "eu-west-1" }]]);
});

test("the warm standby is restored from this region's repository, re-run only by a new request id", () => {
  const restores = ofType(h, "command:remote:Command").filter((c) => c.name.endsWith("-restore-pgbackrest"));
  assert.equal(restores.length, 1);
  const r = restores[0].inputs;
  assert.equal(r.create, "bash -s");
  const script = unsecret<string>(r.stdin);
  assert.match(script, /pgbackrest '--stanza=fp' '--repo=1' '--delta' '--type=standby' 'restore'/);
  assert.match(script, /refusing to restore over a running primary holding data/);
  // Exactly the triggers the standing request was created with (a changed list would restore
  // the warm standby again on the next up).
  assert.deepEqual(r.triggers, ["standby-2025-09-01", "", "", "standby", 1, instance.id]);
  const conn = unsecret<{ host: string; port: number }>(r.connection);
  assert.deepEqual([conn.host, conn.port], ["127.0.0.1", 2222]);
});

test("not fenced: the host has the database group, and runs", () => {
  const db = ofType(h, "aws:ec2/securityGroup:SecurityGroup").find((g) => g.name.endsWith("-database"))!;
  assert.deepEqual(instance.inputs.vpcSecurityGroupIds, [db.id]);
  assert.equal(ofType(h, "aws:ec2transitgateway/instanceState:InstanceState").length, 0);
  assert.equal(parseSiteOutputs(outputs).fence, undefined);
});

test("a standby declares no database objects (it is read-only; the primary's come with the restore)", () => {
  assert.equal(h.resources.filter((r) => r.type.startsWith("postgresql:") || r.type === "pulumi:providers:postgresql").length, 0);
  const gate = ofType(h, "command:remote:Command").filter((c) => c.name.endsWith("-ready-gate"));
  assert.equal(gate.length, 1);
  assert.doesNotMatch(unsecret<string>(gate[0].inputs.stdin), /ALTER ROLE/);
});

test("the outputs are the shared SiteOutputs, with the DNS the automation swaps", () => {
  const site = parseSiteOutputs(outputs);
  assert.equal(site.role, "secondary");
  assert.equal(site.dns?.serviceName, "db.fp.internal");
  assert.equal(site.dns?.activeSite, "primary");
  assert.equal(site.dns?.primaryAddress, primaryAddress);
  assert.equal(site.repositories.repo2?.region, primaryRegion);
  assert.equal(site.restore?.requestId, "standby-2025-09-01");
  assert.ok(site.incidentManager?.responsePlans.critical.endsWith("secondary-critical"));
});

test("the backup key: only the break-glass role may delete, disable or re-policy it, and trying pages the critical topic", () => {
  const keys = assertBackupKeysGuarded(h, { environment: "production", accountId: testAccountId });
  assert.deepEqual(keys.map((k) => k.region), ["eu-west-1"]);
});

test("the standby reads the escrowed passphrase from the replica in its own region, and declares no secret of its own", () => {
  assert.equal(ofType(h, "aws:secretsmanager/secret:Secret").length, 0, "the primary stack owns the escrow");
  const read = hostPolicyOf(h).Statement.find((s) => s.Action === "secretsmanager:GetSecretValue");
  assert.equal(read?.Resource, `arn:aws:secretsmanager:eu-west-1:${testAccountId}:secret:fp-dr/production/repository-cipher-pass-??????`);
  assert.match(userDataFiles(instance).get("/usr/local/sbin/fp-dr-bootstrap")!, /get-secret-value --region eu-west-1 /);
});

test("the README's monthly cost table of the secondary stack is what its declared resources cost", () => {
  const table = renderCostTable("secondary", monthlyCost(h.resources, readmeUsage(false)));
  const readme = readFileSync(join(__dirname, "..", "README.md"), "utf8");
  assert.ok(readme.includes(table), `README.md must hold this table (regenerate it from this test):\n${table}`);
});

test("the drill runs on schedule and expired drills are reaped: EventBridge Scheduler starts Fargate tasks running dr drill / dr drill reap, with a role bounded to drill-tagged resources", () => {
  const schedules = ofType(h, "aws:scheduler/schedule:Schedule");
  const schedule = schedules.find((x) => x.inputs.name === "fp-dr-production-drill")!;
  assert.ok(schedule, "no drill schedule");
  assert.equal(schedule.region, "eu-west-1");
  assert.equal(schedule.inputs.scheduleExpression, "cron(0 4 1 * ? *)", "schedules.drill, the runbook's monthly drill");
  const target = schedule.inputs.target as { arn: string; roleArn: string; retryPolicy: { maximumRetryAttempts: number }; ecsParameters: { launchType: string; taskDefinitionArn: string; networkConfiguration: { assignPublicIp: boolean; subnets: string[] } } };
  assert.equal(target.ecsParameters.launchType, "FARGATE");
  assert.equal(target.ecsParameters.networkConfiguration.assignPublicIp, false);
  assert.equal(target.retryPolicy.maximumRetryAttempts, 0);
  const containerOf = (family: string) =>
    (JSON.parse(String(ofType(h, "aws:ecs/taskDefinition:TaskDefinition").find((t) => t.inputs.family === family)!.inputs.containerDefinitions)) as { image: string; command: string[]; environment: { name: string; value: string }[] }[])[0];
  const container = containerOf("fp-dr-production-drill");
  assert.deepEqual(container.command, ["dr", "drill", "--yes", "--json"]);
  // The reaper: hourly, the same image and role, destroying drill stacks past their expiry.
  const reaper = schedules.find((x) => x.inputs.name === "fp-dr-production-drill-reap")!;
  assert.equal(reaper.inputs.scheduleExpression, "rate(1 hour)");
  assert.deepEqual(containerOf("fp-dr-production-drill-reap").command, ["dr", "drill", "reap", "--json"]);
  assert.equal(container.image, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fp-dr:0.1.0");
  assert.ok(container.environment.some((e) => e.name === "FP_DR_ENGINE" && e.value === "pulumi"));

  const policy = JSON.parse(String(ofType(h, "aws:iam/rolePolicy:RolePolicy").find((p) => p.name.endsWith("drill-runner-task-policy"))!.inputs.policy)) as PolicyDocument;
  const sid = (s: string) => policy.Statement.find((x) => x.Sid === s)!;
  assert.deepEqual(sid("CreateOnlyTaggedDrillResources").Condition, { StringEquals: { "aws:RequestTag/fp-dr:role": "drill" } });
  assert.ok((sid("ChangeOnlyDrillResources").Action as string[]).includes("ec2:DeleteSnapshot"), "the reaper deletes loose drill snapshots");
  assert.deepEqual(sid("ChangeOnlyDrillResources").Condition, { StringEquals: { "aws:ResourceTag/fp-dr:role": "drill" } });
  const deny = sid("NeverTouchUntaggedResources");
  assert.equal(deny.Effect, "Deny");
  for (const a of ["ec2:TerminateInstances", "ec2:DeleteVolume", "ec2:DeleteSnapshot", "ec2:StopInstances", "ec2:ModifyInstanceAttribute", "ec2:AuthorizeSecurityGroupIngress"]) assert.ok((deny.Action as string[]).includes(a), a);
  // Production's backups: read, never written or deleted; state: drill stacks' only.
  const all = policy.Statement.filter((s) => s.Effect === "Allow");
  const backupGrants = all.filter((s) => JSON.stringify(s.Resource).includes("pgbackrest"));
  assert.deepEqual(backupGrants.map((s) => s.Action), [["s3:GetObject", "s3:ListBucket"]]);
  for (const r of [sid("PulumiStateWriteDrillStacksOnly").Resource].flat() as string[]) assert.match(r, /\/\.pulumi\/(stacks|history|backups)\/fp-dr\/drill-\*$|\/\.pulumi\/locks\/\*$/);
  assert.equal(sid("DrillHostRolesOnly").Resource, `arn:aws:iam::${testAccountId}:role/fp-dr-production-drill-*`);
  assert.ok(!all.some((s) => [s.Action].flat().some((a) => a === "*" || a === "ec2:*" || a === "iam:*" || a === "s3:*")), "no wildcard service grants");
});

test("the standby streams: peering requested to the primary's VPC, route and 5432 to that VPC only, scram pg_hba for the replication role, conninfo from its own secret", () => {
  const pcx = ofType(h, "aws:ec2/vpcPeeringConnection:VpcPeeringConnection").filter((p) => p.name === "secondary-replication-peering");
  assert.equal(pcx.length, 1);
  assert.deepEqual([pcx[0].inputs.peerVpcId, pcx[0].inputs.peerRegion], ["vpc-0a1b2c3d4e5f60718", primaryRegion], "the primary's VPC from its stack outputs; accepted over there");
  assert.equal(pcx[0].inputs.autoAccept, undefined, "cross-region peering is accepted by the primary stack, not here");
  const route = ofType(h, "aws:ec2/route:Route").find((r) => r.name === "secondary-replication-route")!;
  assert.deepEqual([route.inputs.destinationCidrBlock, route.inputs.vpcPeeringConnectionId], ["10.20.0.0/16", pcx[0].id]);
  for (const type of ["aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"]) {
    const rules = ofType(h, type).filter((r) => r.name.startsWith("secondary-replication-"));
    assert.deepEqual(rules.map((r) => [r.inputs.cidrIpv4, r.inputs.fromPort, r.inputs.toPort]), [["10.20.0.0/16", 5432, 5432]], type);
  }
  const files = userDataFiles(instance);
  assert.match(files.get("/etc/fp-dr/pg_hba.conf")!, /^hostssl\s+replication\s+fp_replication\s+10\.20\.0\.0\/16\s+scram-sha-256$/m);
  assert.doesNotMatch(files.get("/etc/fp-dr/pg_hba.conf")!, /replication\s+\S+\s+(?!10\.20\.0\.0\/16)\S+\s+scram/, "replication from nowhere else");
  assert.match(files.get("/etc/fp-dr/postgresql.conf")!, /^track_commit_timestamp = on/m, "the recovery-state query reads the last commit time");
  assert.match(files.get("/etc/fp-dr/postgresql.conf")!, /^wal_retrieve_retry_interval = '1s'/m, "the standby asks the archive for the next segment every second");
  assert.equal(iniValues(files.get("/etc/fp-dr/pgbackrest.conf.staged")!).get("archive-push-queue-max"), "20GiB", "this site can become primary: its archive queue is bounded");
  const stream = ofType(h, "command:remote:Command").filter((c) => c.name === "secondary-stream-conninfo");
  assert.equal(stream.length, 1);
  const s = stream[0].inputs;
  assert.ok(isSecretValue(s.stdin), "the script carries the replication password: secret");
  const script = unsecret<string>(s.stdin);
  assert.match(script, new RegExp(`primary_conninfo = 'host=${primaryAddress.replace(/\./g, "\\.")} port=5432 user=fp_replication passfile=/var/lib/postgresql/\\.fp-replication\\.pgpass sslmode=require application_name=secondary'`));
  assert.match(script, /primary_slot_name = 'fp_standby'/);
  assert.ok(script.includes(`${primaryAddress}:5432:replication:fp_replication:${standbySecrets.replicationPassword}`), "the passfile line");
  assert.doesNotMatch(script.split("FP_DR_PASS")[2] ?? "", new RegExp(standbySecrets.replicationPassword), "the password only in the passfile");
  // Re-run after each restore (which rewrites the recovery settings), not on every up.
  assert.deepEqual(s.triggers, [primaryAddress, "fp_replication", "fp_standby", "standby-2025-09-01", instance.id]);
  assert.equal(parseSiteOutputs(outputs).replication?.primaryHost, primaryAddress);
});

test("the shared-state bucket (leases, journals, control state): here in the secondary region, versioned, own key, private, TLS only, hosts never delete", () => {
  const buckets = ofType(h, "aws:s3/bucket:Bucket").filter((b) => b.name.endsWith("-shared-state-bucket"));
  assert.equal(buckets.length, 1);
  assert.equal(buckets[0].inputs.bucket, `fp-dr-production-shared-eu-west-1-${testAccountId}`);
  const of = (type: string) => ofType(h, type).find((r) => r.name.startsWith("secondary-shared-state-"))!;
  assert.deepEqual(of("aws:s3/bucketVersioning:BucketVersioning").inputs.versioningConfiguration, { status: "Enabled" });
  const sse = (of("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs.rules as { applyServerSideEncryptionByDefault: { sseAlgorithm: string } }[])[0];
  assert.equal(sse.applyServerSideEncryptionByDefault.sseAlgorithm, "aws:kms");
  const block = of("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs;
  assert.deepEqual([block.blockPublicAcls, block.blockPublicPolicy, block.ignorePublicAcls, block.restrictPublicBuckets], [true, true, true, true]);
  const policy = JSON.parse(of("aws:s3/bucketPolicy:BucketPolicy").inputs.policy as string) as PolicyDocument;
  const sids = policy.Statement.map((s) => s.Sid);
  assert.deepEqual(sids, ["DenyInsecureTransport", "DenyDestructiveActionsToHosts"]);
  assert.ok((policy.Statement[1].Action as string[]).includes("s3:DeleteObject"));
  assert.ok(of("aws:kms/key:Key").inputs.enableKeyRotation);
  // The scheduled drill takes the environment's lease there: read and write, never delete.
  const runner = ofType(h, "aws:iam/rolePolicy:RolePolicy").find((r) => r.name.endsWith("drill-runner-task-policy"))!;
  const shared = (JSON.parse(runner.inputs.policy as string) as PolicyDocument).Statement.find((st) => st.Sid === "SharedRunState")!;
  assert.deepEqual(shared.Action, ["s3:GetObject", "s3:PutObject", "s3:ListBucket"]);
  assert.deepEqual(shared.Resource, [`arn:aws:s3:::fp-dr-production-shared-eu-west-1-${testAccountId}`, `arn:aws:s3:::fp-dr-production-shared-eu-west-1-${testAccountId}/*`]);
});
