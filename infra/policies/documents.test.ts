// Proves the policy documents: the bucket refuses non-TLS requests and destructive actions by
// any site's host role, and uploads naming another encryption; the host may read and (as a
// writer) put objects under its repository prefix only, use the backup keys only through S3
// of their region, publish only our metrics; a read-only host gets no write anywhere.
import { test } from "node:test";
import assert from "node:assert/strict";
import { bucketPolicy, destructiveS3Actions, ec2AssumeRolePolicy, hostPolicy, repoPrefix } from "./documents";

const bucketArn = "arn:aws:s3:::fp-dr-production-pgbackrest-eu-west-1-123456789012";

test("bucket policy: TLS only, no destruction by hosts, KMS uploads only", () => {
  const doc = bucketPolicy({ bucketArn, environment: "production", accountId: "123456789012" });
  const [tls, hosts, kms] = doc.Statement;
  assert.deepEqual([tls.Effect, tls.Principal, tls.Action, tls.Condition], ["Deny", "*", "s3:*", { Bool: { "aws:SecureTransport": "false" } }]);
  assert.deepEqual(tls.Resource, [bucketArn, `${bucketArn}/*`]);
  assert.equal(hosts.Effect, "Deny");
  assert.deepEqual(hosts.Action, destructiveS3Actions);
  assert.ok(destructiveS3Actions.includes("s3:DeleteObjectVersion") && destructiveS3Actions.includes("s3:BypassGovernanceRetention"));
  // A delete marker (expire's DeleteObject) hides a current object; only these destroy a version.
  assert.ok(!destructiveS3Actions.includes("s3:DeleteObject"));
  assert.deepEqual(hosts.Condition, { ArnLike: { "aws:PrincipalArn": "arn:aws:iam::123456789012:role/fp-dr-production-*-host" } });
  assert.equal(kms.Effect, "Deny");
  assert.deepEqual(kms.Condition, { Null: { "s3:x-amz-server-side-encryption": "false" }, StringNotEquals: { "s3:x-amz-server-side-encryption": "aws:kms" } });
});

test("writer host: list/get/put/delete-marker under the repository prefix of both buckets, keys through S3 only", () => {
  const doc = hostPolicy({
    accountId: "123456789012",
    environment: "production",
    repositories: [
      { bucket: "own", region: "eu-central-1", path: "/pgbackrest", write: true },
      { bucket: "offsite", region: "eu-west-1", path: "/pgbackrest", write: true },
    ],
    toolkitUrl: "s3://artifacts/releases/fp-dr-0.1.0.tgz",
  });
  const sid = (s: string) => doc.Statement.find((x) => x.Sid === s)!;
  assert.deepEqual(sid("ListRepository1").Condition, { StringLike: { "s3:prefix": ["pgbackrest", "pgbackrest/*"] } });
  // DeleteObject for the scheduled `pgbackrest expire`: in a versioned, locked bucket a marker only.
  assert.deepEqual(sid("ReadWriteRepository1").Action, ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]);
  assert.equal(sid("ReadWriteRepository2").Resource, "arn:aws:s3:::offsite/pgbackrest/*");
  const key = sid("UseBackupKeyeuwest1");
  assert.deepEqual(key.Action, ["kms:Decrypt", "kms:GenerateDataKey"]);
  assert.deepEqual(key.Condition, { "ForAnyValue:StringEquals": { "kms:ResourceAliases": "alias/fp-dr-production-backups" }, StringEquals: { "kms:ViaService": "s3.eu-west-1.amazonaws.com" } });
  assert.equal(sid("ReadToolkit").Resource, "arn:aws:s3:::artifacts/releases/fp-dr-0.1.0.tgz");
  const all = doc.Statement.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
  assert.ok(!all.some((a) => (/^s3:.*Delete/.test(a) && a !== "s3:DeleteObject") || /^s3:\*$|^kms:\*$/.test(a)));
});

test("read-only host (drill): no put, no data key", () => {
  const doc = hostPolicy({ accountId: "123456789012", environment: "production", repositories: [{ bucket: "prod", region: "eu-west-1", path: "/pgbackrest/", write: false }] });
  const all = doc.Statement.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
  assert.ok(!all.includes("s3:PutObject") && !all.includes("s3:DeleteObject"));
  assert.ok(!all.includes("kms:GenerateDataKey"));
  assert.ok(all.includes("s3:GetObject") && all.includes("kms:Decrypt"));
  assert.equal(repoPrefix("/pgbackrest/"), "pgbackrest");
});

test("only EC2 may assume the host role", () => {
  assert.deepEqual(ec2AssumeRolePolicy().Statement, [{ Sid: "Ec2AssumesHostRole", Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }]);
});
