// IAM policy documents as plain data. Built here (not with aws.iam.getPolicyDocument) so the
// rules "hosts write but never delete", "TLS only" and "KMS only through S3" are pure
// functions with their own tests, and the stacks need no lookup to state them.
import { backupKeyAlias, hostRoleArnPattern } from "../naming";
import { metricNamespace } from "../alarms/metrics";

export interface Statement {
  Sid: string;
  Effect: "Allow" | "Deny";
  Principal?: "*" | { AWS?: string | string[]; Service?: string | string[] };
  Action: string | string[];
  /** Absent only in trust policies. */
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: Statement[];
}

/**
 * Actions that destroy or unprotect backups; denied to every host role by the bucket policy.
 * Not s3:DeleteObject: in these versioned, object-locked buckets it only writes a delete
 * marker, the object-locked version stays readable until the lock and the noncurrent-version
 * lifecycle end (retention days), and the writer's scheduled `pgbackrest expire` needs it.
 * A host can hide a current object, never destroy a version.
 */
export const destructiveS3Actions = [
  "s3:DeleteObjectVersion",
  "s3:DeleteObjectTagging",
  "s3:DeleteObjectVersionTagging",
  "s3:PutObjectRetention",
  "s3:PutObjectLegalHold",
  "s3:BypassGovernanceRetention",
  "s3:PutLifecycleConfiguration",
  "s3:PutBucketVersioning",
  "s3:PutBucketObjectLockConfiguration",
  "s3:PutBucketPolicy",
  "s3:DeleteBucketPolicy",
  "s3:DeleteBucket",
];

/** Object key prefix of a repository path: "/pgbackrest" → "pgbackrest". */
export function repoPrefix(path: string): string {
  return path.replace(/^\/+/, "").replace(/\/+$/, "");
}

/**
 * The backup bucket's policy: no request without TLS, from anyone; none of the destructive
 * actions from any site's host role (a compromised host cannot destroy its backups); uploads
 * only with SSE-KMS (a request naming another encryption is refused).
 */
export function bucketPolicy(args: { bucketArn: string; environment: string; accountId: string; partition?: string }): PolicyDocument {
  const resources = [args.bucketArn, `${args.bucketArn}/*`];
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: resources,
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
      {
        Sid: "DenyDestructiveActionsToHosts",
        Effect: "Deny",
        Principal: "*",
        Action: destructiveS3Actions,
        Resource: resources,
        // A pattern, not role ARNs: the other site's role may not exist yet, and a Principal
        // naming a missing role is rejected by S3.
        Condition: { ArnLike: { "aws:PrincipalArn": hostRoleArnPattern(args.environment, args.accountId, args.partition) } },
      },
      {
        Sid: "DenyUploadsWithoutKms",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:PutObject",
        Resource: `${args.bucketArn}/*`,
        // Requests without the header get the bucket's SSE-KMS default; those with it must ask for KMS.
        Condition: {
          Null: { "s3:x-amz-server-side-encryption": "false" },
          StringNotEquals: { "s3:x-amz-server-side-encryption": "aws:kms" },
        },
      },
    ],
  };
}

export interface HostRepositoryAccess {
  bucket: string;
  region: string;
  path: string;
  /** Put objects (repo1 and repo2 of a writer); otherwise read only. */
  write: boolean;
}

/**
 * The PostgreSQL host's permissions: list/read/write its repository prefixes (a writer may
 * also delete the current version, for its scheduled expire: a delete marker, never a version),
 * use the backup keys only through S3 of their region, publish metrics to our namespace only,
 * talk to SSM (administration without SSH from the network), read the toolkit tarball.
 */
export function hostPolicy(args: {
  partition?: string;
  accountId: string;
  environment: string;
  repositories: HostRepositoryAccess[];
  /** s3://bucket/key of the toolkit, if it comes from S3. */
  toolkitUrl?: string;
  /** The escrowed repository passphrase: read in the host's own region only. */
  cipherPassSecret?: { name: string; region: string };
  /** The host's own spec parameter, which `dr host apply` renders from (SSM document). */
  hostSpecParameter?: { name: string; region: string };
}): PolicyDocument {
  const partition = args.partition ?? "aws";
  const s3 = (bucket: string) => `arn:${partition}:s3:::${bucket}`;
  const statements: Statement[] = [];
  args.repositories.forEach((r, i) => {
    const prefix = repoPrefix(r.path);
    statements.push(
      {
        Sid: `ListRepository${i + 1}`,
        Effect: "Allow",
        Action: "s3:ListBucket",
        Resource: s3(r.bucket),
        Condition: { StringLike: { "s3:prefix": [prefix, `${prefix}/*`] } },
      },
      {
        Sid: `${r.write ? "ReadWrite" : "Read"}Repository${i + 1}`,
        Effect: "Allow",
        Action: r.write ? ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"] : ["s3:GetObject"],
        Resource: `${s3(r.bucket)}/${prefix}/*`,
      },
    );
  });
  const regions = [...new Set(args.repositories.map((r) => r.region))];
  for (const region of regions) {
    const write = args.repositories.some((r) => r.region === region && r.write);
    statements.push({
      Sid: `UseBackupKey${region.replace(/-/g, "")}`,
      Effect: "Allow",
      Action: write ? ["kms:Decrypt", "kms:GenerateDataKey"] : ["kms:Decrypt"],
      Resource: `arn:${partition}:kms:${region}:${args.accountId}:key/*`,
      Condition: {
        "ForAnyValue:StringEquals": { "kms:ResourceAliases": backupKeyAlias(args.environment) },
        StringEquals: { "kms:ViaService": `s3.${region}.amazonaws.com` },
      },
    });
  }
  statements.push(
    {
      Sid: "PublishMetrics",
      Effect: "Allow",
      Action: "cloudwatch:PutMetricData",
      Resource: "*",
      Condition: { StringEquals: { "cloudwatch:namespace": metricNamespace } },
    },
    {
      Sid: "SessionManager",
      Effect: "Allow",
      Action: [
        "ssm:UpdateInstanceInformation",
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
        "ec2messages:AcknowledgeMessage",
        "ec2messages:DeleteMessage",
        "ec2messages:FailMessage",
        "ec2messages:GetEndpoint",
        "ec2messages:GetMessages",
        "ec2messages:SendReply",
      ],
      Resource: "*",
    },
  );
  if (args.cipherPassSecret) {
    const { name, region } = args.cipherPassSecret;
    statements.push({
      Sid: "ReadRepositoryPassphrase",
      Effect: "Allow",
      Action: "secretsmanager:GetSecretValue",
      // Secrets Manager appends six random characters to a secret's ARN.
      Resource: `arn:${partition}:secretsmanager:${region}:${args.accountId}:secret:${name}-??????`,
    });
  }
  if (args.hostSpecParameter) {
    const { name, region } = args.hostSpecParameter;
    statements.push({ Sid: "ReadHostSpec", Effect: "Allow", Action: "ssm:GetParameter", Resource: `arn:${partition}:ssm:${region}:${args.accountId}:parameter/${name.replace(/^\//, "")}` });
  }
  const toolkit = args.toolkitUrl ? /^s3:\/\/([^/]+)\/(.+)$/.exec(args.toolkitUrl) : null;
  if (toolkit) {
    statements.push({ Sid: "ReadToolkit", Effect: "Allow", Action: "s3:GetObject", Resource: `${s3(toolkit[1])}/${toolkit[2]}` });
  }
  return { Version: "2012-10-17", Statement: statements };
}

/** Trust policy: only EC2 may assume the host role. */
export function ec2AssumeRolePolicy(): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [{ Sid: "Ec2AssumesHostRole", Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
  };
}
