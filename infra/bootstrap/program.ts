// The bootstrap stack: what the sites' stacks stand on and must outlive a region. The Pulumi
// state backend's bucket (versioned, encrypted, TLS-only, replicated to the other region) and
// the secrets provider's key (multi-Region, with a replica over there, guarded like the backup
// keys). Losing either would make every stack unmanageable and every stack secret unreadable;
// the repository passphrase is escrowed separately (infra/components/passphrase-escrow.ts).
// Deployed once per environment, by hand, with a local backend first (`pulumi login --local`),
// then its state is moved into the bucket it created.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { z } from "zod";
import { awsRegion as regionSchema } from "../config/schema";
import { breakGlassRoleName, secretsKeyAlias, stateBucketName } from "../naming";
import type { PolicyDocument } from "../policies/documents";
import { backupKeyPolicy, maxKeyDeletionWindowDays } from "../policies/key-policy";

export const bootstrapConfigSchema = z
  .object({
    environment: z.string().regex(/^[a-z][a-z0-9-]{1,20}$/),
    /** Region of the backend and the key's primary (usually the primary site's). */
    region: regionSchema,
    /** Region of the replicas (usually the secondary site's). */
    replicaRegion: regionSchema,
  })
  .strict()
  .refine((c) => c.region !== c.replicaRegion, { message: "the replica must be in another region", path: ["replicaRegion"] });

export interface BootstrapOutputs {
  /** `pulumi login` URL of the state backend. */
  backendUrl: pulumi.Output<string>;
  /** `--secrets-provider` of the sites' stacks. */
  secretsProvider: pulumi.Output<string>;
  replicaBucket: pulumi.Output<string>;
}

/** Deny every request that is not TLS (both buckets). */
function tlsOnly(bucketArn: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [bucketArn, `${bucketArn}/*`], Condition: { Bool: { "aws:SecureTransport": "false" } } },
    ],
  };
}

/** What S3 replication may do: read versions here, write replicas there, with each region's key. */
export function replicationPolicy(a: { source: string; destination: string; sourceKeyArn: string; destinationKeyArn: string }): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "ReadSource", Effect: "Allow", Action: ["s3:GetReplicationConfiguration", "s3:ListBucket"], Resource: a.source },
      { Sid: "ReadSourceVersions", Effect: "Allow", Action: ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"], Resource: `${a.source}/*` },
      { Sid: "WriteReplicas", Effect: "Allow", Action: ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"], Resource: `${a.destination}/*` },
      { Sid: "DecryptSource", Effect: "Allow", Action: "kms:Decrypt", Resource: a.sourceKeyArn },
      { Sid: "EncryptReplicas", Effect: "Allow", Action: ["kms:Encrypt", "kms:GenerateDataKey"], Resource: a.destinationKeyArn },
    ],
  };
}

export function bootstrapProgram(): BootstrapOutputs {
  const parsed = bootstrapConfigSchema.safeParse({
    environment: new pulumi.Config("fp-dr-bootstrap").require("environment"),
    region: new pulumi.Config("fp-dr-bootstrap").require("region"),
    replicaRegion: new pulumi.Config("fp-dr-bootstrap").require("replicaRegion"),
  });
  if (!parsed.success) throw new Error(`invalid bootstrap config: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  const cfg = parsed.data;
  const tags = { "fp-dr:environment": cfg.environment, "fp-dr:role": "bootstrap", "managed-by": "pulumi/fp-dr" };
  const home = new aws.Provider("bootstrap-aws", { region: cfg.region, defaultTags: { tags } });
  const away = new aws.Provider("bootstrap-aws-replica", { region: cfg.replicaRegion, defaultTags: { tags } });
  const accountId = aws.getCallerIdentityOutput({}, { provider: home }).accountId;
  const keyPolicy = accountId.apply((a) =>
    JSON.stringify(backupKeyPolicy({ accountId: a, breakGlassRoleArn: `arn:aws:iam::${a}:role/${breakGlassRoleName(cfg.environment)}` })),
  );

  // 1. The secrets provider's key: multi-Region, so the replica decrypts stack secrets while the
  //    home region is down; guarded by the same policy as the backup keys.
  const keyArgs = { deletionWindowInDays: maxKeyDeletionWindowDays, policy: keyPolicy, bypassPolicyLockoutSafetyCheck: true };
  const key = new aws.kms.Key(
    "secrets-key",
    { description: `fp-dr ${cfg.environment} Pulumi secrets provider`, enableKeyRotation: true, multiRegion: true, ...keyArgs },
    { provider: home, protect: true },
  );
  const replicaKey = new aws.kms.ReplicaKey("secrets-key-replica", { primaryKeyArn: key.arn, description: `fp-dr ${cfg.environment} Pulumi secrets provider (replica)`, ...keyArgs }, { provider: away, protect: true });
  new aws.kms.Alias("secrets-key-alias", { name: secretsKeyAlias(cfg.environment), targetKeyId: key.keyId }, { provider: home });
  new aws.kms.Alias("secrets-key-replica-alias", { name: secretsKeyAlias(cfg.environment), targetKeyId: replicaKey.keyId }, { provider: away });

  // 2. The state bucket and its replica: versioned (a bad `pulumi up` or a deleted checkpoint
  //    is recoverable), encrypted with the region's copy of the key, private, TLS only.
  const bucket = (name: string, bucketName: pulumi.Input<string>, kmsKeyArn: pulumi.Input<string>, provider: aws.Provider) => {
    const b = new aws.s3.Bucket(name, { bucket: bucketName, forceDestroy: false }, { provider, protect: true });
    const versioning = new aws.s3.BucketVersioning(`${name}-versioning`, { bucket: b.id, versioningConfiguration: { status: "Enabled" } }, { provider });
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      { bucket: b.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: kmsKeyArn }, bucketKeyEnabled: true }] },
      { provider },
    );
    const pab = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access`,
      { bucket: b.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      { provider },
    );
    new aws.s3.BucketPolicy(`${name}-policy`, { bucket: b.id, policy: b.arn.apply((arn) => JSON.stringify(tlsOnly(arn))) }, { provider, dependsOn: [pab] });
    return { bucket: b, versioning };
  };
  const state = bucket("state", accountId.apply((a) => stateBucketName(cfg.environment, cfg.region, a)), key.arn, home);
  const replica = bucket("state-replica", accountId.apply((a) => stateBucketName(cfg.environment, cfg.replicaRegion, a)), replicaKey.arn, away);

  // 3. Replication of every version, delete markers included, re-encrypted with the replica key.
  const role = new aws.iam.Role(
    "state-replication-role",
    {
      assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "s3.amazonaws.com" }, Action: "sts:AssumeRole" }] }),
      description: "fp-dr: replicates the Pulumi state bucket",
    },
    { provider: home },
  );
  new aws.iam.RolePolicy(
    "state-replication-policy",
    {
      role: role.id,
      policy: pulumi
        .all([state.bucket.arn, replica.bucket.arn, key.arn, replicaKey.arn])
        .apply(([source, destination, sourceKeyArn, destinationKeyArn]) => JSON.stringify(replicationPolicy({ source, destination, sourceKeyArn, destinationKeyArn }))),
    },
    { provider: home },
  );
  new aws.s3.BucketReplicationConfig(
    "state-replication",
    {
      bucket: state.bucket.id,
      role: role.arn,
      rules: [
        {
          id: "state-to-replica-region",
          status: "Enabled",
          filter: {},
          deleteMarkerReplication: { status: "Enabled" },
          sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: "Enabled" } },
          destination: { bucket: replica.bucket.arn, encryptionConfiguration: { replicaKmsKeyId: replicaKey.arn } },
        },
      ],
    },
    // S3 refuses replication before versioning is on at both ends.
    { provider: home, dependsOn: [state.versioning, replica.versioning] },
  );

  return {
    backendUrl: pulumi.interpolate`s3://${state.bucket.bucket}`,
    secretsProvider: pulumi.output(`awskms://${secretsKeyAlias(cfg.environment)}?region=${cfg.region}`),
    replicaBucket: replica.bucket.bucket,
  };
}
