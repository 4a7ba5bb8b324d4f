// What the scheduled drill runner may do: create and destroy a drill-<id> stack's resources and
// nothing else. Creation must carry the drill tag (aws:RequestTag), changes and deletion need
// it on the resource (aws:ResourceTag), and an explicit deny covers every untagged resource, so
// a bug or a compromised runner cannot touch production. It reads production only where a drill
// must: the stacks' state and config, the backup key through S3, the escrowed passphrase.
import type { PolicyDocument } from "../policies/documents";

export const drillTag = { key: "fp-dr:role", value: "drill" } as const;

/** EC2 actions a drill stack's create and destroy use on its own resources. */
const ec2Mutations = [
  "ec2:RunInstances",
  "ec2:TerminateInstances",
  "ec2:StopInstances",
  "ec2:StartInstances",
  "ec2:ModifyInstanceAttribute",
  "ec2:CreateVolume",
  "ec2:DeleteVolume",
  // The reaper's sweep of loose drill snapshots (automation/engines/pulumi/loose-drill-resources.ts).
  "ec2:DeleteSnapshot",
  "ec2:AttachVolume",
  "ec2:DetachVolume",
  "ec2:CreateVpc",
  "ec2:DeleteVpc",
  "ec2:ModifyVpcAttribute",
  "ec2:CreateSubnet",
  "ec2:DeleteSubnet",
  "ec2:CreateRouteTable",
  "ec2:DeleteRouteTable",
  "ec2:AssociateRouteTable",
  "ec2:DisassociateRouteTable",
  "ec2:CreateRoute",
  "ec2:DeleteRoute",
  "ec2:CreateInternetGateway",
  "ec2:DeleteInternetGateway",
  "ec2:AttachInternetGateway",
  "ec2:DetachInternetGateway",
  "ec2:CreateNatGateway",
  "ec2:DeleteNatGateway",
  "ec2:AllocateAddress",
  "ec2:ReleaseAddress",
  "ec2:CreateSecurityGroup",
  "ec2:DeleteSecurityGroup",
  "ec2:AuthorizeSecurityGroupIngress",
  "ec2:AuthorizeSecurityGroupEgress",
  "ec2:RevokeSecurityGroupIngress",
  "ec2:RevokeSecurityGroupEgress",
  "ec2:CreateVpcEndpoint",
  "ec2:DeleteVpcEndpoints",
];

export function drillRunnerPolicy(a: {
  partition?: string;
  accountId: string;
  region: string;
  environment: string;
  /** The Pulumi state bucket (bootstrap stack). */
  stateBucket: string;
  /** The production backup buckets the drill host reads (its own region's). */
  backupBuckets: string[];
  /** The escrowed passphrase's name. */
  cipherPassSecretName: string;
  /** Alias of the Pulumi secrets provider's key. */
  secretsKeyAlias: string;
  /** The shared-state bucket and its key (the lease, journals, control state): read and write, never delete. */
  sharedState?: { bucket: string; keyArn: string };
}): PolicyDocument {
  const p = a.partition ?? "aws";
  const tagged = { StringEquals: { [`aws:ResourceTag/${drillTag.key}`]: drillTag.value } };
  const drillRoles = `arn:${p}:iam::${a.accountId}:role/fp-dr-${a.environment}-drill-*`;
  const drillProfiles = `arn:${p}:iam::${a.accountId}:instance-profile/*`;
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "Describe", Effect: "Allow", Action: ["ec2:Describe*", "ssm:DescribeInstanceInformation", "ssm:GetCommandInvocation"], Resource: "*" },
      { Sid: "CreateOnlyTaggedDrillResources", Effect: "Allow", Action: ec2Mutations, Resource: "*", Condition: { StringEquals: { [`aws:RequestTag/${drillTag.key}`]: drillTag.value } } },
      { Sid: "ChangeOnlyDrillResources", Effect: "Allow", Action: ec2Mutations, Resource: "*", Condition: tagged },
      { Sid: "TagOnCreate", Effect: "Allow", Action: "ec2:CreateTags", Resource: "*", Condition: { StringEquals: { "ec2:CreateAction": ["RunInstances", "CreateVolume", "CreateVpc", "CreateSubnet", "CreateRouteTable", "CreateInternetGateway", "CreateNatGateway", "AllocateAddress", "CreateSecurityGroup", "CreateVpcEndpoint"] } } },
      {
        Sid: "NeverTouchUntaggedResources",
        Effect: "Deny",
        Action: ec2Mutations.filter((x) => !x.startsWith("ec2:Create") && x !== "ec2:RunInstances" && x !== "ec2:AllocateAddress"),
        Resource: "*",
        Condition: { StringNotEquals: { [`aws:ResourceTag/${drillTag.key}`]: drillTag.value } },
      },
      {
        Sid: "DrillHostRolesOnly",
        Effect: "Allow",
        Action: ["iam:CreateRole", "iam:DeleteRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:GetRole", "iam:GetRolePolicy", "iam:PassRole", "iam:TagRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole"],
        Resource: drillRoles,
      },
      {
        Sid: "DrillInstanceProfiles",
        Effect: "Allow",
        Action: ["iam:CreateInstanceProfile", "iam:DeleteInstanceProfile", "iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:GetInstanceProfile", "iam:TagInstanceProfile"],
        Resource: drillProfiles,
        Condition: { StringEquals: { [`aws:ResourceTag/${drillTag.key}`]: drillTag.value } },
      },
      {
        Sid: "PulumiStateReadAll",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:ListBucket"],
        Resource: [`arn:${p}:s3:::${a.stateBucket}`, `arn:${p}:s3:::${a.stateBucket}/*`],
      },
      {
        Sid: "PulumiStateWriteDrillStacksOnly",
        Effect: "Allow",
        Action: ["s3:PutObject", "s3:DeleteObject"],
        Resource: [`arn:${p}:s3:::${a.stateBucket}/.pulumi/stacks/fp-dr/drill-*`, `arn:${p}:s3:::${a.stateBucket}/.pulumi/history/fp-dr/drill-*`, `arn:${p}:s3:::${a.stateBucket}/.pulumi/locks/*`, `arn:${p}:s3:::${a.stateBucket}/.pulumi/backups/fp-dr/drill-*`],
      },
      {
        Sid: "ReadProductionBackups",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:ListBucket"],
        Resource: a.backupBuckets.flatMap((b) => [`arn:${p}:s3:::${b}`, `arn:${p}:s3:::${b}/*`]),
      },
      {
        // The Pulumi secrets provider's key (stack config secrets), by its alias.
        Sid: "StackSecrets",
        Effect: "Allow",
        Action: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
        Resource: `arn:${p}:kms:*:${a.accountId}:key/*`,
        Condition: { "ForAnyValue:StringEquals": { "kms:ResourceAliases": a.secretsKeyAlias } },
      },
      ...(a.sharedState
        ? [
            { Sid: "SharedRunState", Effect: "Allow" as const, Action: ["s3:GetObject", "s3:PutObject", "s3:ListBucket"], Resource: [`arn:${p}:s3:::${a.sharedState.bucket}`, `arn:${p}:s3:::${a.sharedState.bucket}/*`] },
            { Sid: "SharedRunStateKey", Effect: "Allow" as const, Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: a.sharedState.keyArn },
          ]
        : []),
      { Sid: "ReadRepositoryPassphrase", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: `arn:${p}:secretsmanager:${a.region}:${a.accountId}:secret:${a.cipherPassSecretName}-??????` },
      { Sid: "ReachTheDrillHost", Effect: "Allow", Action: ["ssm:StartSession", "ssm:SendCommand"], Resource: `arn:${p}:ec2:${a.region}:${a.accountId}:instance/*`, Condition: tagged },
      { Sid: "SessionDocuments", Effect: "Allow", Action: ["ssm:StartSession", "ssm:SendCommand"], Resource: `arn:${p}:ssm:${a.region}::document/*` },
    ],
  };
}
