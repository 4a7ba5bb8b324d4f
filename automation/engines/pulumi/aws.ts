// The AWS API calls of the security-incident steps that Pulumi must not own: evidence (EBS
// snapshots) must outlive a `pulumi destroy` of the compromised site, and revoking a role's
// sessions is an act at a moment, not a declared state. Clients are injectable: tests pass
// fakes that record each command's input; the default is the SDK v3 client in the site's
// region with the default credential chain (environment, profile, SSO, instance role).
import { EC2Client, type CreateSnapshotsCommand, type CreateSnapshotsCommandOutput, type DescribeSnapshotsCommand, type DescribeSnapshotsCommandOutput } from "@aws-sdk/client-ec2";
import { IAMClient, type GetRolePolicyCommand, type GetRolePolicyCommandOutput, type PutRolePolicyCommand, type PutRolePolicyCommandOutput } from "@aws-sdk/client-iam";

/** The EC2 calls preserve makes. */
export interface Ec2Api {
  send(command: CreateSnapshotsCommand): Promise<CreateSnapshotsCommandOutput>;
  send(command: DescribeSnapshotsCommand): Promise<DescribeSnapshotsCommandOutput>;
}

/** The IAM calls rotateRepositoryAccess makes. */
export interface IamApi {
  send(command: PutRolePolicyCommand): Promise<PutRolePolicyCommandOutput>;
  send(command: GetRolePolicyCommand): Promise<GetRolePolicyCommandOutput>;
}

export interface AwsClients {
  /** EC2 in the site's region (its stack output `region`). */
  ec2(region: string): Ec2Api;
  /** IAM (global; signed in the site's region). */
  iam(region: string): IamApi;
}

/** Default: real SDK v3 clients, one per region, default credential chain. */
export function sdkClients(): AwsClients {
  const ec2 = new Map<string, EC2Client>();
  const iam = new Map<string, IAMClient>();
  return {
    ec2(region) {
      if (!ec2.has(region)) ec2.set(region, new EC2Client({ region }));
      return ec2.get(region)! as Ec2Api;
    },
    iam(region) {
      if (!iam.has(region)) iam.set(region, new IAMClient({ region }));
      return iam.get(region)! as IamApi;
    },
  };
}

/**
 * AWS's "revoke older sessions" policy (what the IAM console's "Revoke active sessions"
 * attaches as AWSRevokeOlderSessions): every action denied to credentials of the role issued
 * before `before`. Credentials issued afterwards are unaffected.
 */
export function revokeOlderSessionsPolicy(before: Date): { Version: string; Statement: unknown[] } {
  return {
    Version: "2012-10-17",
    Statement: [{ Effect: "Deny", Action: ["*"], Resource: ["*"], Condition: { DateLessThan: { "aws:TokenIssueTime": before.toISOString() } } }],
  };
}
