// One region's backup repository: an S3 bucket that pgBackRest writes to directly (repo1 of
// this region's site, repo2 of the other region's). Versioned and object-locked, so neither a
// compromised host nor a mistaken expire can destroy a backup inside the retention window;
// encrypted with this region's KMS key; never public; reachable over TLS only; old versions
// leave on the retention horizon.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { sealBucket } from "./sealed-bucket";
import { backupKeyAlias, breakGlassRoleName, childName } from "../naming";
import { bucketPolicy } from "../policies/documents";
import { backupKeyPolicy, maxKeyDeletionWindowDays } from "../policies/key-policy";

export interface BackupRepositoryArgs {
  /** Physical bucket name (derived in infra/naming.ts so the other region's stack knows it). Required. */
  bucketName: pulumi.Input<string>;
  /** Environment; names the key alias and the host roles the policy denies deletes to. Required. */
  environment: string;
  /** Account id, for the host-role pattern. Required. */
  accountId: pulumi.Input<string>;
  /** AWS partition. Default "aws". */
  partition?: pulumi.Input<string>;
  /** Object lock mode. Default COMPLIANCE. */
  objectLockMode?: "GOVERNANCE" | "COMPLIANCE";
  /** Days every object version is locked, and after which old versions expire. Default 35. */
  retentionDays?: number;
  /** Pulumi `protect` on the bucket and key. Default true. */
  protect?: boolean;
}

export class BackupRepository extends pulumi.ComponentResource {
  readonly bucketName: pulumi.Output<string>;
  readonly bucketArn: pulumi.Output<string>;
  readonly kmsKeyArn: pulumi.Output<string>;

  constructor(name: string, args: BackupRepositoryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fp-dr:site:BackupRepository", name, {}, opts);
    const n = (part: string) => childName(name, part);
    const protect = args.protect ?? true;
    const parent = { parent: this };
    const days = args.retentionDays ?? 35;

    const partition = args.partition ?? "aws";
    const key = new aws.kms.Key(
      n("key"),
      {
        description: `fp-dr ${args.environment} backup repository key`,
        enableKeyRotation: true,
        // The longest AWS allows; the policy's deny is what outlasts the object lock.
        deletionWindowInDays: maxKeyDeletionWindowDays,
        policy: pulumi
          .all([args.accountId, partition])
          .apply(([accountId, part]) =>
            JSON.stringify(backupKeyPolicy({ accountId, partition: part, breakGlassRoleArn: `arn:${part}:iam::${accountId}:role/${breakGlassRoleName(args.environment)}` })),
          ),
        // The deployer is not the break-glass role, so it cannot change this policy later; KMS
        // refuses such a policy unless told that this lock-out is intended.
        bypassPolicyLockoutSafetyCheck: true,
      },
      { parent: this, protect },
    );
    // Host policies match the key by alias (kms:ResourceAliases), in this region and the other.
    new aws.kms.Alias(n("key-alias"), { name: backupKeyAlias(args.environment), targetKeyId: key.keyId }, parent);

    const bucket = new aws.s3.Bucket(n("bucket"), { bucket: args.bucketName, objectLockEnabled: true, forceDestroy: false }, { parent: this, protect });
    new aws.s3.BucketObjectLockConfiguration(
      n("object-lock"),
      { bucket: bucket.id, objectLockEnabled: "Enabled", rule: { defaultRetention: { mode: args.objectLockMode ?? "COMPLIANCE", days } } },
      parent,
    );
    const publicAccess = sealBucket(n, bucket, key.arn, parent);
    new aws.s3.BucketPolicy(
      n("policy"),
      {
        bucket: bucket.id,
        policy: pulumi
          .all([bucket.arn, args.accountId, partition])
          .apply(([bucketArn, accountId, partition]) => JSON.stringify(bucketPolicy({ bucketArn, environment: args.environment, accountId, partition }))),
      },
      // S3 evaluates a new policy against the public access block: put the block first.
      { parent: this, dependsOn: [publicAccess] },
    );
    new aws.s3.BucketLifecycleConfiguration(
      n("lifecycle"),
      {
        bucket: bucket.id,
        rules: [
          {
            id: "expire-old-versions-after-retention",
            status: "Enabled",
            filter: {},
            // Current objects are pgBackRest's to expire; versions it replaced or deleted go
            // when the lock on them ends.
            noncurrentVersionExpiration: { noncurrentDays: days },
            expiration: { expiredObjectDeleteMarker: true },
          },
          { id: "abort-incomplete-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 7 } },
        ],
      },
      parent,
    );

    this.bucketName = bucket.bucket;
    this.bucketArn = bucket.arn;
    this.kmsKeyArn = key.arn;
    this.registerOutputs({ bucketName: this.bucketName, bucketArn: this.bucketArn, kmsKeyArn: this.kmsKeyArn });
  }
}
