// What every bucket of ours has, whatever it holds: versioning (an overwritten or deleted
// object can be read back), encryption with the given KMS key, and no way to become public.
// Returned: the public access block, which a bucket policy must come after (S3 checks a new
// policy against it).
import type * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";

export function sealBucket(n: (part: string) => string, bucket: aws.s3.Bucket, keyArn: pulumi.Input<string>, parent: { parent: pulumi.Resource }): aws.s3.BucketPublicAccessBlock {
  new aws.s3.BucketVersioning(n("versioning"), { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } }, parent);
  new aws.s3.BucketServerSideEncryptionConfiguration(
    n("encryption"),
    { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: keyArn }, bucketKeyEnabled: true }] },
    parent,
  );
  return new aws.s3.BucketPublicAccessBlock(
    n("public-access"),
    { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
    parent,
  );
}
