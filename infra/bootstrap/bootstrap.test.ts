// Proves the bootstrap stack, from its example stack file, on the mock runtime: the state
// bucket is versioned, KMS-encrypted, private and TLS-only, and every version (delete markers
// too) replicates to a bucket with the same protections in the other region, re-encrypted with
// the replica key; the secrets key is multi-Region with a replica there, both guarded like the
// backup keys; the outputs are what `pulumi login` and `--secrets-provider` take.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import type { PolicyDocument } from "../policies/documents";
import { keyDestructiveActions } from "../policies/key-policy";
import { installMocks, ofType, settle, testAccountId, type Registered } from "../testing/mocks";

const file = parse(readFileSync(join(__dirname, "Pulumi.production.yaml"), "utf8")) as { config: Record<string, string> };
const h = installMocks({ stack: "production", config: file.config, secretKeys: [] });
let outputs: Record<string, unknown>;

before(async () => {
  const { bootstrapProgram } = await import("./program");
  outputs = await settle(bootstrapProgram() as unknown as Record<string, import("@pulumi/pulumi").Output<unknown>>);
});

const forBucket = (type: string, b: Registered) => ofType(h, type).filter((r) => r.inputs.bucket === b.id);

test("the state bucket and its replica: one per region, versioned, KMS-encrypted with that region's key, private, TLS only", () => {
  const buckets = ofType(h, "aws:s3/bucket:Bucket");
  assert.deepEqual(
    buckets.map((b) => [b.id, b.region]),
    [
      [`fp-dr-production-pulumi-state-eu-central-1-${testAccountId}`, "eu-central-1"],
      [`fp-dr-production-pulumi-state-eu-west-1-${testAccountId}`, "eu-west-1"],
    ],
  );
  const keys = [...ofType(h, "aws:kms/key:Key"), ...ofType(h, "aws:kms/replicaKey:ReplicaKey")];
  for (const b of buckets) {
    assert.notEqual(b.inputs.forceDestroy, true);
    assert.equal((forBucket("aws:s3/bucketVersioning:BucketVersioning", b)[0].inputs.versioningConfiguration as { status: string }).status, "Enabled", b.id);
    const sse = (forBucket("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", b)[0].inputs.rules as { applyServerSideEncryptionByDefault: { kmsMasterKeyId: string } }[])[0];
    const arn = sse.applyServerSideEncryptionByDefault.kmsMasterKeyId;
    const key = keys.find((k) => arn.endsWith(`/${k.id}`) || arn.endsWith(`:${k.name}`));
    assert.equal(key?.region, b.region, `${b.id}: encrypted with its own region's key`);
    const pab = forBucket("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", b)[0].inputs;
    assert.deepEqual([pab.blockPublicAcls, pab.blockPublicPolicy, pab.ignorePublicAcls, pab.restrictPublicBuckets], [true, true, true, true]);
    const policy = JSON.parse(String(forBucket("aws:s3/bucketPolicy:BucketPolicy", b)[0].inputs.policy)) as PolicyDocument;
    assert.deepEqual(policy.Statement[0].Condition, { Bool: { "aws:SecureTransport": "false" } });
  }
});

test("every version of the state, delete markers too, replicates to the other region, re-encrypted with the replica key", () => {
  const [config] = ofType(h, "aws:s3/bucketReplicationConfig:BucketReplicationConfig");
  assert.ok(config, "no replication");
  assert.equal(config.inputs.bucket, `fp-dr-production-pulumi-state-eu-central-1-${testAccountId}`);
  const [rule] = config.inputs.rules as { status: string; deleteMarkerReplication: { status: string }; sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: string } }; destination: { bucket: string; encryptionConfiguration: { replicaKmsKeyId: string } } }[];
  assert.equal(rule.status, "Enabled");
  assert.equal(rule.deleteMarkerReplication.status, "Enabled");
  assert.equal(rule.sourceSelectionCriteria.sseKmsEncryptedObjects.status, "Enabled", "KMS-encrypted state is replicated at all only with this");
  assert.equal(rule.destination.bucket, `arn:aws:s3:::fp-dr-production-pulumi-state-eu-west-1-${testAccountId}`);
  assert.match(rule.destination.encryptionConfiguration.replicaKmsKeyId, /secrets-key-replica$/);
  const policy = JSON.parse(String(ofType(h, "aws:iam/rolePolicy:RolePolicy")[0].inputs.policy)) as PolicyDocument;
  const actions = policy.Statement.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
  assert.ok(actions.includes("s3:ReplicateObject") && actions.includes("s3:GetObjectVersionForReplication"));
  assert.ok(!actions.some((a) => a.endsWith("*") || a.startsWith("s3:Delete")), "replication needs no wildcard and no delete");
});

test("the secrets key is multi-Region with a replica in the other region, both guarded by the break-glass policy", () => {
  const [key] = ofType(h, "aws:kms/key:Key");
  const [replica] = ofType(h, "aws:kms/replicaKey:ReplicaKey");
  assert.equal(key.inputs.multiRegion, true);
  assert.equal(key.inputs.enableKeyRotation, true);
  assert.deepEqual([key.region, replica.region], ["eu-central-1", "eu-west-1"]);
  for (const k of [key, replica]) {
    assert.equal(k.inputs.deletionWindowInDays, 30);
    const deny = (JSON.parse(String(k.inputs.policy)) as PolicyDocument).Statement.find((s) => s.Effect === "Deny")!;
    assert.deepEqual(deny.Action, keyDestructiveActions);
    assert.deepEqual(deny.Condition, { ArnNotEquals: { "aws:PrincipalArn": `arn:aws:iam::${testAccountId}:role/fp-dr-production-break-glass` } });
  }
  assert.deepEqual(
    ofType(h, "aws:kms/alias:Alias").map((a) => [a.inputs.name, a.region]),
    [
      ["alias/fp-dr-production-pulumi-secrets", "eu-central-1"],
      ["alias/fp-dr-production-pulumi-secrets", "eu-west-1"],
    ],
  );
});

test("the outputs are what the sites' stacks are created with", () => {
  assert.equal(outputs.backendUrl, `s3://fp-dr-production-pulumi-state-eu-central-1-${testAccountId}`);
  assert.equal(outputs.secretsProvider, "awskms://alias/fp-dr-production-pulumi-secrets?region=eu-central-1");
});
