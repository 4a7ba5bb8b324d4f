// The AWS API calls of the security-incident steps that Pulumi must not own: evidence (EBS
// snapshots) must outlive a `pulumi destroy` of the compromised site, and revoking a role's
// sessions is an act at a moment, not a declared state. Clients are injectable: tests pass
// fakes that record each command's input; the default is the SDK v3 client in the site's
// region with the default credential chain (environment, profile, SSO, instance role). The SDK
// modules are loaded on the first command sent, not with the engine: every other pulumi-engine
// command would pay for them otherwise.
import type { CreateSnapshotsCommand, CreateSnapshotsCommandOutput, DescribeSnapshotsCommand, DescribeSnapshotsCommandOutput } from "@aws-sdk/client-ec2";
import type { GetRolePolicyCommand, GetRolePolicyCommandOutput, PutRolePolicyCommand, PutRolePolicyCommandOutput } from "@aws-sdk/client-iam";

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

/** A client whose SDK module is loaded (and the client made) on its first command. */
function deferred<Api>(make: () => Promise<{ send(command: never): Promise<unknown> }>): Api {
  let client: ReturnType<typeof make> | undefined;
  return { send: async (command: never) => (await (client ??= make())).send(command) } as Api;
}

/** Default: real SDK v3 clients, one per region, default credential chain. */
export function sdkClients(): AwsClients {
  const ec2 = new Map<string, Ec2Api>();
  const iam = new Map<string, IamApi>();
  return {
    ec2(region) {
      if (!ec2.has(region)) ec2.set(region, deferred<Ec2Api>(async () => new (await import("@aws-sdk/client-ec2")).EC2Client({ region })));
      return ec2.get(region)!;
    },
    iam(region) {
      if (!iam.has(region)) iam.set(region, deferred<IamApi>(async () => new (await import("@aws-sdk/client-iam")).IAMClient({ region })));
      return iam.get(region)!;
    },
  };
}

/** The EC2 command classes, loaded when preserve first needs them. */
export async function ec2Commands(): Promise<Pick<typeof import("@aws-sdk/client-ec2"), "CreateSnapshotsCommand" | "DescribeSnapshotsCommand" | "waitUntilSnapshotCompleted">> {
  return import("@aws-sdk/client-ec2");
}

/** The IAM command classes, loaded when rotateRepositoryAccess first needs them. */
export async function iamCommands(): Promise<Pick<typeof import("@aws-sdk/client-iam"), "GetRolePolicyCommand" | "PutRolePolicyCommand">> {
  return import("@aws-sdk/client-iam");
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
