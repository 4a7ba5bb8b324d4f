// The shared-state bucket (secondary stack, secondary region: it must outlive the primary's
// region): the environment's lease, the journal and reports of every run, and the control state
// the program lays over each stack's declaration (infra/config/control-state.ts). Versioned, so
// every earlier control document and lease can be read back after a mistake; encrypted with a
// key of its own; never public; TLS only; hosts may never delete from it. The toolkit's
// operators and the drill runner reach it with their own roles.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { sealBucket } from "./sealed-bucket";
import { childName, hostRoleArnPattern } from "../naming";
import { destructiveS3Actions } from "../policies/documents";

export interface SharedStateArgs {
  /** Physical bucket name (infra/naming.ts sharedStateBucketName). Required. */
  bucketName: pulumi.Input<string>;
  /** Environment: names the key and the host roles denied deletes. Required. */
  environment: string;
  /** Account id, for the host-role pattern. Required. */
  accountId: pulumi.Input<string>;
  /** AWS partition. Default "aws". */
  partition?: pulumi.Input<string>;
  /** Days earlier versions (of leases, journals, control documents) are kept. Default 400. */
  historyDays?: number;
  /** Pulumi `protect` on the bucket and key. Default true. */
  protect?: boolean;
}

export class SharedState extends pulumi.ComponentResource {
  readonly bucketName: pulumi.Output<string>;
  readonly bucketArn: pulumi.Output<string>;
  readonly kmsKeyArn: pulumi.Output<string>;

  constructor(name: string, args: SharedStateArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fp-dr:site:SharedState", name, {}, opts);
    const n = (part: string) => childName(name, part);
    const protect = args.protect ?? true;
    const parent = { parent: this };
    const key = new aws.kms.Key(n("key"), { description: `fp-dr ${args.environment} shared run state key`, enableKeyRotation: true, deletionWindowInDays: 30 }, { parent: this, protect });
    const bucket = new aws.s3.Bucket(n("bucket"), { bucket: args.bucketName, forceDestroy: false }, { parent: this, protect });
    const publicAccess = sealBucket(n, bucket, key.arn, parent);
    new aws.s3.BucketPolicy(
      n("policy"),
      {
        bucket: bucket.id,
        policy: pulumi.all([bucket.arn, args.accountId, args.partition ?? "aws"]).apply(([arn, accountId, partition]) =>
          JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [arn, `${arn}/*`], Condition: { Bool: { "aws:SecureTransport": "false" } } },
              {
                Sid: "DenyDestructiveActionsToHosts",
                Effect: "Deny",
                Principal: "*",
                Action: [...destructiveS3Actions, "s3:DeleteObject"],
                Resource: [arn, `${arn}/*`],
                Condition: { ArnLike: { "aws:PrincipalArn": hostRoleArnPattern(args.environment, accountId, partition) } },
              },
            ],
          }),
        ),
      },
      { parent: this, dependsOn: [publicAccess] },
    );
    new aws.s3.BucketLifecycleConfiguration(
      n("lifecycle"),
      { bucket: bucket.id, rules: [{ id: "keep-history", status: "Enabled", filter: {}, noncurrentVersionExpiration: { noncurrentDays: args.historyDays ?? 400 } }] },
      parent,
    );
    this.bucketName = bucket.bucket;
    this.bucketArn = bucket.arn;
    this.kmsKeyArn = key.arn;
    this.registerOutputs({ bucketName: this.bucketName, bucketArn: this.bucketArn, kmsKeyArn: this.kmsKeyArn });
  }
}
