// Invariants every stack role must satisfy, asserted on the resources the mocks recorded.
// Each check first asserts that it found something to check, so none can pass vacuously.
import assert from "node:assert/strict";
import { isWorldOpen } from "../network/cidr";
import { destructiveS3Actions, type PolicyDocument, type Statement } from "../policies/documents";
import { keyDestructiveActions } from "../policies/key-policy";
import { ofType, unsecret, type Harness, type Registered } from "./mocks";

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const byBucket = (h: Harness, type: string, bucket: string) => ofType(h, type).filter((r) => r.inputs.bucket === bucket);

/** Every bucket: versioned, object-locked, SSE-KMS with a key of this stack, non-public, TLS only, hosts cannot delete. */
export function assertBucketsProtected(h: Harness, expect: { lockMode: string; lockDays: number }): Registered[] {
  // Backup repositories only: the shared-state bucket (leases, journals) has its own test.
  const buckets = ofType(h, "aws:s3/bucket:Bucket").filter((b) => !b.name.includes("-shared-state-"));
  assert.ok(buckets.length > 0, "no bucket declared");
  const keys = ofType(h, "aws:kms/key:Key");
  for (const b of buckets) {
    const name = b.id;
    assert.equal(b.inputs.objectLockEnabled, true, `${name}: object lock not enabled at creation`);
    assert.notEqual(b.inputs.forceDestroy, true, `${name}: forceDestroy would delete locked backups`);
    const versioning = byBucket(h, "aws:s3/bucketVersioning:BucketVersioning", name);
    assert.equal(versioning.length, 1, `${name}: versioning`);
    assert.equal((versioning[0].inputs.versioningConfiguration as { status: string }).status, "Enabled");

    const lock = byBucket(h, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", name);
    assert.equal(lock.length, 1, `${name}: object lock configuration`);
    const retention = (lock[0].inputs.rule as { defaultRetention: { mode: string; days: number } }).defaultRetention;
    assert.deepEqual(retention, { mode: expect.lockMode, days: expect.lockDays }, `${name}: default retention`);

    const sse = byBucket(h, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", name);
    assert.equal(sse.length, 1, `${name}: encryption`);
    const rule = (sse[0].inputs.rules as { applyServerSideEncryptionByDefault: { sseAlgorithm: string; kmsMasterKeyId: string } }[])[0];
    assert.equal(rule.applyServerSideEncryptionByDefault.sseAlgorithm, "aws:kms");
    const key = keys.find((k) => rule.applyServerSideEncryptionByDefault.kmsMasterKeyId.endsWith(`key/${k.id}`));
    assert.ok(key, `${name}: encrypted with a key this stack does not declare`);
    assert.equal(key.region, b.region, `${name}: the key must be in the bucket's region`);
    assert.equal(key.inputs.enableKeyRotation, true);

    const pab = byBucket(h, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", name);
    assert.equal(pab.length, 1, `${name}: public access block`);
    for (const flag of ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"]) assert.equal(pab[0].inputs[flag], true, `${name}: ${flag}`);

    const policies = byBucket(h, "aws:s3/bucketPolicy:BucketPolicy", name);
    assert.equal(policies.length, 1, `${name}: bucket policy`);
    const doc = JSON.parse(String(policies[0].inputs.policy)) as PolicyDocument;
    const tls = doc.Statement.find((s) => s.Effect === "Deny" && asArray(s.Action).includes("s3:*") && s.Condition?.Bool?.["aws:SecureTransport"] === "false");
    assert.ok(tls, `${name}: no deny of non-TLS requests`);
    assert.equal(tls.Principal, "*");
    assert.deepEqual(asArray(tls.Resource).sort(), [`arn:aws:s3:::${name}`, `arn:aws:s3:::${name}/*`]);
    const deletes = doc.Statement.find((s) => s.Effect === "Deny" && asArray(s.Action).includes("s3:DeleteObjectVersion"));
    assert.ok(deletes, `${name}: hosts are not denied deletes`);
    for (const a of ["s3:DeleteObjectVersion", "s3:BypassGovernanceRetention", "s3:PutLifecycleConfiguration", "s3:PutBucketVersioning"]) assert.ok(asArray(deletes.Action).includes(a), `${name}: ${a}`);
    assert.match(String(deletes.Condition?.ArnLike?.["aws:PrincipalArn"]), /:role\/fp-dr-production-\*-host$/);

    const lifecycle = byBucket(h, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", name);
    assert.equal(lifecycle.length, 1, `${name}: lifecycle`);
    const rules = lifecycle[0].inputs.rules as { status: string; noncurrentVersionExpiration?: { noncurrentDays: number }; expiration?: { days?: number } }[];
    assert.ok(rules.some((r) => r.status === "Enabled" && r.noncurrentVersionExpiration?.noncurrentDays === expect.lockDays), `${name}: old versions must expire on the retention horizon`);
    assert.ok(!rules.some((r) => r.expiration?.days !== undefined), `${name}: current backups must never expire by lifecycle (pgBackRest owns them)`);
  }
  return buckets;
}

interface Ingress {
  from: string;
  protocol: string;
  fromPort: number;
  toPort: number;
  cidrs: string[];
  securityGroup?: string;
}

/** Every ingress rule of the stack, inline or standalone. */
export function ingressRules(h: Harness): Ingress[] {
  const rules: Ingress[] = [];
  for (const sg of ofType(h, "aws:ec2/securityGroup:SecurityGroup")) {
    for (const r of asArray(sg.inputs.ingress as Record<string, unknown>[] | undefined)) {
      rules.push({ from: sg.name, protocol: String(r.protocol), fromPort: Number(r.fromPort), toPort: Number(r.toPort), cidrs: [...asArray(r.cidrBlocks as string[]), ...asArray(r.ipv6CidrBlocks as string[])] });
    }
  }
  for (const r of ofType(h, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")) {
    rules.push({
      from: r.name,
      protocol: String(r.inputs.ipProtocol),
      fromPort: Number(r.inputs.fromPort ?? 0),
      toPort: Number(r.inputs.toPort ?? 65535),
      cidrs: [r.inputs.cidrIpv4, r.inputs.cidrIpv6].filter((c): c is string => typeof c === "string"),
      securityGroup: typeof r.inputs.referencedSecurityGroupId === "string" ? r.inputs.referencedSecurityGroupId : undefined,
    });
  }
  for (const r of ofType(h, "aws:ec2/securityGroupRule:SecurityGroupRule").filter((x) => x.inputs.type === "ingress")) {
    rules.push({ from: r.name, protocol: String(r.inputs.protocol), fromPort: Number(r.inputs.fromPort), toPort: Number(r.inputs.toPort), cidrs: asArray(r.inputs.cidrBlocks as string[]) });
  }
  return rules;
}

const covers = (r: Ingress, port: number) => r.protocol === "-1" || r.protocol === "all" || (r.fromPort <= port && port <= r.toPort);

/** No security group lets the world reach PostgreSQL or SSH. */
export function assertNoWorldOpenAdminPorts(h: Harness): void {
  assert.ok(ofType(h, "aws:ec2/securityGroup:SecurityGroup").length > 0, "no security group declared");
  for (const r of ingressRules(h)) {
    for (const port of [5432, 22]) {
      if (!covers(r, port)) continue;
      for (const c of r.cidrs) assert.ok(!isWorldOpen(c), `${r.from} opens ${port} to ${c}`);
    }
  }
}

/** The isolation group exists and has no rule at all. */
export function assertIsolationGroup(h: Harness): void {
  const iso = ofType(h, "aws:ec2/securityGroup:SecurityGroup").filter((s) => s.name.endsWith("-isolation"));
  assert.equal(iso.length, 1, "one isolation security group");
  assert.deepEqual(iso[0].inputs.ingress, []);
  assert.deepEqual(iso[0].inputs.egress, []);
  const standalone = [...ofType(h, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"), ...ofType(h, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")];
  assert.ok(!standalone.some((r) => r.inputs.securityGroupId === iso[0].id), "a rule was attached to the isolation group");
}

/** Hosts: IMDSv2 only, encrypted root and data volumes. */
export function assertHostsHardened(h: Harness, expect: { dataVolumeGiB: number; terminationProtection: boolean; instanceType: string }): Registered[] {
  const instances = ofType(h, "aws:ec2/instance:Instance");
  assert.ok(instances.length > 0, "no instance declared");
  for (const i of instances) {
    const md = i.inputs.metadataOptions as { httpTokens: string; httpPutResponseHopLimit: number };
    assert.equal(md.httpTokens, "required", `${i.name}: IMDSv2 not required`);
    assert.equal(md.httpPutResponseHopLimit, 1);
    assert.equal((i.inputs.rootBlockDevice as { encrypted: boolean }).encrypted, true, `${i.name}: root volume not encrypted`);
    assert.notEqual(i.inputs.associatePublicIpAddress, true);
    assert.equal(Boolean(i.inputs.disableApiTermination), expect.terminationProtection, `${i.name}: termination protection`);
    assert.equal(i.inputs.instanceType, expect.instanceType);
    assert.ok(i.inputs.userDataBase64 !== undefined);
  }
  const volumes = ofType(h, "aws:ebs/volume:Volume");
  assert.ok(volumes.length > 0, "no data volume declared");
  for (const v of volumes) {
    assert.equal(v.inputs.encrypted, true, `${v.name}: not encrypted`);
    assert.equal(v.inputs.type, "gp3");
    assert.equal(v.inputs.size, expect.dataVolumeGiB);
  }
  const attachments = ofType(h, "aws:ec2/volumeAttachment:VolumeAttachment");
  assert.equal(attachments.length, volumes.length);
  return instances;
}

/** The host role's inline policy, parsed. */
export function hostPolicyOf(h: Harness): PolicyDocument {
  // The host's role policy (PostgresHost "<site>-host-role-policy"); other roles have their own.
  const policies = ofType(h, "aws:iam/rolePolicy:RolePolicy").filter((p) => p.name.endsWith("-host-role-policy"));
  assert.equal(policies.length, 1, "one host role policy");
  return JSON.parse(String(unsecret(policies[0].inputs.policy))) as PolicyDocument;
}

/**
 * The host may never destroy a backup version, never use wildcards on S3 or KMS. The one delete
 * it has, a writer's s3:DeleteObject for expire, only writes a marker in a versioned, locked bucket.
 */
export function assertHostCannotDelete(doc: PolicyDocument): Statement[] {
  const allows = doc.Statement.filter((s) => s.Effect === "Allow");
  assert.ok(allows.length > 0);
  for (const s of allows) {
    for (const a of asArray(s.Action)) {
      assert.ok(!/^s3:\*|^kms:\*|^\*$/.test(a), `${s.Sid}: wildcard action ${a}`);
      if (a.startsWith("s3:") || a.startsWith("kms:")) {
        assert.ok(a === "s3:DeleteObject" || !/Delete|BypassGovernance|PutLifecycle|PutBucket|PutObjectRetention|ScheduleKeyDeletion|DisableKey/.test(a), `${s.Sid}: ${a} lets the host destroy backups`);
      }
      assert.ok(!destructiveS3Actions.includes(a), `${s.Sid}: ${a}`);
    }
  }
  return allows;
}

/**
 * Every backup key: only the break-glass role may schedule its deletion, disable it or change
 * its policy; the longest deletion window AWS allows; and an EventBridge rule on those calls
 * for this key publishing to the critical topic, which admits EventBridge.
 */
export function assertBackupKeysGuarded(h: Harness, expect: { environment: string; accountId: string }): Registered[] {
  const keys = ofType(h, "aws:kms/key:Key").filter((k) => !k.name.includes("-shared-state-"));
  assert.ok(keys.length > 0, "no backup key declared");
  const rules = ofType(h, "aws:cloudwatch/eventRule:EventRule");
  const targets = ofType(h, "aws:cloudwatch/eventTarget:EventTarget");
  const topics = ofType(h, "aws:sns/topic:Topic");
  for (const key of keys) {
    assert.equal(key.inputs.deletionWindowInDays, 30, `${key.name}: the longest pending-deletion window`);
    const doc = JSON.parse(String(key.inputs.policy)) as PolicyDocument;
    const deny = doc.Statement.find((s) => s.Effect === "Deny" && asArray(s.Action).includes("kms:ScheduleKeyDeletion"));
    assert.ok(deny, `${key.name}: nothing denies ScheduleKeyDeletion`);
    assert.equal(deny.Principal, "*");
    assert.deepEqual([...asArray(deny.Action)].sort(), [...keyDestructiveActions].sort());
    assert.deepEqual(deny.Condition, { ArnNotEquals: { "aws:PrincipalArn": `arn:aws:iam::${expect.accountId}:role/fp-dr-${expect.environment}-break-glass` } });
    assert.ok(!doc.Statement.some((s) => s.Effect === "Allow" && s.Principal === "*"), `${key.name}: no allow to everyone`);
    const keyArn = `arn:aws:kms:${key.region}:${expect.accountId}:key/${key.id}`;
    const rule = rules.find((r) => JSON.stringify(JSON.parse(String(r.inputs.eventPattern)).detail?.resources?.ARN) === JSON.stringify([keyArn]));
    assert.ok(rule, `${key.name}: no EventBridge rule watches it`);
    const pattern = JSON.parse(String(rule.inputs.eventPattern)) as { detail: { eventName: string[] } };
    assert.ok(pattern.detail.eventName.includes("ScheduleKeyDeletion") && pattern.detail.eventName.includes("DisableKey"));
    const target = targets.find((t) => t.inputs.rule === rule.id || t.inputs.rule === rule.inputs.name || String(t.inputs.rule).startsWith(rule.name));
    assert.ok(target, `${key.name}: the rule has no target`);
    const topic = topics.find((t) => String(target.inputs.arn).endsWith(`:${t.inputs.name}`));
    assert.ok(topic && String(topic.inputs.name).endsWith("-critical"), `${key.name}: the rule must page the critical topic, not ${String(target.inputs.arn)}`);
    const topicPolicy = ofType(h, "aws:sns/topicPolicy:TopicPolicy").find((p) => p.inputs.arn === target.inputs.arn);
    assert.ok(topicPolicy, "the critical topic has no policy admitting EventBridge");
    const admits = (JSON.parse(String(topicPolicy.inputs.policy)) as PolicyDocument).Statement.find(
      (s) => s.Effect === "Allow" && typeof s.Principal === "object" && s.Principal.Service === "events.amazonaws.com",
    );
    assert.ok(admits, "EventBridge may not publish to the critical topic");
  }
  return keys;
}

/** Resources grouped by type, for readable failure messages. */
export function countByType(h: Harness): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of h.resources) out[r.type] = (out[r.type] ?? 0) + 1;
  return out;
}

/**
 * The runbook's "Automated Monitoring Alerts", written out here independently of the alarm
 * table: metric, comparison, threshold (the runbook's number or the config default it
 * implies) and the severity topic each must reach.
 */
export const runbookExpectations: { alert: string; metric: string; comparison: string; threshold: number; severity: "critical" | "warning" | "info" }[] = [
  { alert: "database unavailable", metric: "DatabaseUp", comparison: "LessThanThreshold", threshold: 1, severity: "critical" },
  { alert: "database unavailable (host hardware)", metric: "StatusCheckFailed", comparison: "GreaterThanOrEqualToThreshold", threshold: 1, severity: "critical" },
  { alert: "backup failure (any backup older than 7h)", metric: "BackupAgeSeconds", comparison: "GreaterThanThreshold", threshold: 7 * 3600, severity: "critical" },
  { alert: "backup failure (full backup older than 26h)", metric: "FullBackupAgeSeconds", comparison: "GreaterThanThreshold", threshold: 26 * 3600, severity: "critical" },
  { alert: "disk space > 90%", metric: "DiskUsagePercent", comparison: "GreaterThanThreshold", threshold: 90, severity: "critical" },
  { alert: "replication lag > 1 hour", metric: "ReplicationLagSeconds", comparison: "GreaterThanThreshold", threshold: 3600, severity: "critical" },
  { alert: "archive lag > 1 hour", metric: "ArchiveAgeSeconds", comparison: "GreaterThanThreshold", threshold: 3600, severity: "critical" },
  { alert: "slow query detected", metric: "SlowQueries", comparison: "GreaterThanThreshold", threshold: 0, severity: "warning" },
  { alert: "connection pool utilization > 80%", metric: "ConnectionUtilisationPercent", comparison: "GreaterThanThreshold", threshold: 80, severity: "warning" },
  { alert: "failed login attempts > threshold (10/h)", metric: "FailedLogins", comparison: "GreaterThanThreshold", threshold: 10, severity: "warning" },
  { alert: "backup completed successfully", metric: "BackupCompleted", comparison: "GreaterThanOrEqualToThreshold", threshold: 1, severity: "info" },
  { alert: "maintenance tasks completed", metric: "MaintenanceCompleted", comparison: "GreaterThanOrEqualToThreshold", threshold: 1, severity: "info" },
];

/** Every runbook alert has its alarm, with the runbook's threshold, routed to its severity's topic. */
export function assertRunbookAlarms(h: Harness, site: { environment: string; site: string }): Registered[] {
  const alarms = ofType(h, "aws:cloudwatch/metricAlarm:MetricAlarm");
  const topics = ofType(h, "aws:sns/topic:Topic");
  assert.ok(alarms.length >= runbookExpectations.length, `only ${alarms.length} alarms`);
  assert.deepEqual(topics.map((t) => t.inputs.name).sort(), ["critical", "info", "warning"].map((s) => `fp-dr-${site.environment}-${site.site}-${s}`));
  const topicArn = (severity: string) => `arn:aws:sns:${topics[0].region}:${"123456789012"}:fp-dr-${site.environment}-${site.site}-${severity}`;
  for (const e of runbookExpectations) {
    const matching = alarms.filter((a) => a.inputs.metricName === e.metric);
    assert.equal(matching.length, 1, `${e.alert}: expected one alarm on ${e.metric}`);
    const a = matching[0].inputs;
    assert.equal(a.comparisonOperator, e.comparison, e.alert);
    assert.equal(a.threshold, e.threshold, e.alert);
    assert.equal(a.actionsEnabled, true, e.alert);
    const actions = asArray(a.alarmActions as string[]);
    assert.ok(actions.includes(topicArn(e.severity)), `${e.alert}: not routed to the ${e.severity} topic (actions: ${actions.join(", ")})`);
    for (const other of ["critical", "warning", "info"].filter((s) => s !== e.severity)) {
      assert.ok(!actions.includes(topicArn(other)), `${e.alert}: also routed to ${other}`);
    }
    if (a.namespace === "FpDr") assert.deepEqual(a.dimensions, { Environment: site.environment, Site: site.site }, e.alert);
  }
  return alarms;
}
