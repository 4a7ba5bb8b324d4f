// The monthly drill, run by AWS rather than by someone remembering: EventBridge Scheduler starts
// an ECS Fargate task in this (the secondary) region on `schedules.drill`, running `dr drill`
// on the pulumi engine, and hourly `dr drill reap`, which destroys drill stacks past their
// expiry. Their task role can create and destroy drill-tagged resources only
// (infra/drills/runner-policy.ts); the scheduler's role can start only this task.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { childName } from "../naming";
import { drillRunnerPolicy } from "../drills/runner-policy";

export interface DrillRunnerArgs {
  environment: string;
  region: string;
  accountId: pulumi.Input<string>;
  /** Private subnets the task runs in (NAT for the AWS and Pulumi APIs). Required. */
  subnetIds: pulumi.Input<string>[];
  vpcId: pulumi.Input<string>;
  /** Container image with dr, the Pulumi CLI and this project. Required. */
  image: string;
  /** Fargate CPU units. Default 1024. */
  cpu?: number;
  /** Fargate memory (MiB). Default 2048. */
  memoryMiB?: number;
  /** EventBridge Scheduler expression (cron(...)). Required. */
  scheduleExpression: string;
  /** Pulumi state bucket. Required. */
  stateBucket: pulumi.Input<string>;
  /** Production backup buckets the drill reads. Required. */
  backupBuckets: pulumi.Input<string>[];
  /** The shared-state bucket and its key (a drill takes the environment's lease there). Default none. */
  sharedState?: { bucket: pulumi.Input<string>; keyArn: pulumi.Input<string> };
  cipherPassSecretName: string;
  secretsKeyAlias: string;
}

const ecsTasksTrust = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }] });

export class DrillRunner extends pulumi.ComponentResource {
  readonly scheduleName: pulumi.Output<string>;

  constructor(name: string, args: DrillRunnerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fp-dr:site:DrillRunner", name, {}, opts);
    const n = (part: string) => childName(name, part);
    const parent = { parent: this };

    const cluster = new aws.ecs.Cluster(n("cluster"), { name: `fp-dr-${args.environment}-drills` }, parent);
    const logs = new aws.cloudwatch.LogGroup(n("logs"), { name: `/fp-dr/${args.environment}/drills`, retentionInDays: 400 }, parent);
    const execution = new aws.iam.Role(n("execution-role"), { assumeRolePolicy: ecsTasksTrust, description: "fp-dr drill runner: pull the image, write logs" }, parent);
    new aws.iam.RolePolicyAttachment(n("execution-policy"), { role: execution.name, policyArn: "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy" }, parent);
    const task = new aws.iam.Role(n("task-role"), { assumeRolePolicy: ecsTasksTrust, description: "fp-dr drill runner: drill-tagged resources only" }, parent);
    new aws.iam.RolePolicy(
      n("task-policy"),
      {
        role: task.id,
        policy: pulumi
          .all([args.accountId, args.stateBucket, pulumi.all(args.backupBuckets), args.sharedState?.bucket, args.sharedState?.keyArn])
          .apply(([accountId, stateBucket, backupBuckets, sharedBucket, sharedKey]) =>
            JSON.stringify(
              drillRunnerPolicy({
                accountId,
                region: args.region,
                environment: args.environment,
                stateBucket,
                backupBuckets,
                cipherPassSecretName: args.cipherPassSecretName,
                secretsKeyAlias: args.secretsKeyAlias,
                sharedState: sharedBucket && sharedKey ? { bucket: sharedBucket, keyArn: sharedKey } : undefined,
              }),
            ),
          ),
      },
      parent,
    );
    // Two jobs on the same image and role: the drill on its calendar, and the reaper hourly,
    // which destroys drill stacks past their fp-dr:expires-at (a drill whose runner died or
    // whose destroy failed), so nothing a drill creates outlives its expiry by much.
    const jobs = [
      { id: "drill", command: ["dr", "drill", "--yes", "--json"], schedule: args.scheduleExpression, description: "fp-dr: the runbook's monthly DR drill" },
      { id: "reap", command: ["dr", "drill", "reap", "--json"], schedule: "rate(1 hour)", description: "fp-dr: destroy drill sites past their expiry" },
    ];
    const taskDefinitions = jobs.map(
      (job) =>
        new aws.ecs.TaskDefinition(
          n(`${job.id}-task`),
          {
            family: `fp-dr-${args.environment}-${job.id === "drill" ? "drill" : "drill-reap"}`,
            requiresCompatibilities: ["FARGATE"],
            networkMode: "awsvpc",
            cpu: String(args.cpu ?? 1024),
            memory: String(args.memoryMiB ?? 2048),
            executionRoleArn: execution.arn,
            taskRoleArn: task.arn,
            containerDefinitions: logs.name.apply((group) =>
              JSON.stringify([
                {
                  name: "dr",
                  image: args.image,
                  essential: true,
                  command: job.command,
                  environment: [
                    { name: "FP_DR_ENGINE", value: "pulumi" },
                    { name: "FP_DR_ENVIRONMENT", value: args.environment },
                    { name: "AWS_REGION", value: args.region },
                  ],
                  logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": group, "awslogs-region": args.region, "awslogs-stream-prefix": job.id } },
                },
              ]),
            ),
          },
          parent,
        ),
    );
    // Out to the AWS and Pulumi APIs (HTTPS) and nothing in.
    const sg = new aws.ec2.SecurityGroup(
      n("sg"),
      { vpcId: args.vpcId, description: "fp-dr drill runner: HTTPS out only", ingress: [], egress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"], description: "AWS and Pulumi APIs" }] },
      parent,
    );
    const schedulerRole = new aws.iam.Role(
      n("scheduler-role"),
      {
        assumeRolePolicy: pulumi.output(args.accountId).apply((accountId) =>
          JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "scheduler.amazonaws.com" }, Action: "sts:AssumeRole", Condition: { StringEquals: { "aws:SourceAccount": accountId } } }] }),
        ),
        description: "fp-dr: EventBridge Scheduler starts the drill task",
      },
      parent,
    );
    new aws.iam.RolePolicy(
      n("scheduler-policy"),
      {
        role: schedulerRole.id,
        policy: pulumi.all([pulumi.all(taskDefinitions.map((t) => t.arnWithoutRevision)), cluster.arn, execution.arn, task.arn]).apply(([tds, clusterArn, exec, taskRole]) =>
          JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              { Sid: "RunTheDrillTasks", Effect: "Allow", Action: "ecs:RunTask", Resource: tds.flatMap((td) => [td, `${td}:*`]), Condition: { ArnEquals: { "ecs:cluster": clusterArn } } },
              { Sid: "PassTheirRoles", Effect: "Allow", Action: "iam:PassRole", Resource: [exec, taskRole] },
            ],
          }),
        ),
      },
      parent,
    );
    const schedules = jobs.map(
      (job, i) =>
        new aws.scheduler.Schedule(
          n(`${job.id}-schedule`),
          {
            name: `fp-dr-${args.environment}-${job.id === "drill" ? "drill" : "drill-reap"}`,
            description: job.description,
            scheduleExpression: job.schedule,
            scheduleExpressionTimezone: "UTC",
            flexibleTimeWindow: { mode: "OFF" },
            target: {
              arn: cluster.arn,
              roleArn: schedulerRole.arn,
              // One attempt: a failed drill is a finding to read, not something to repeat blindly.
              retryPolicy: { maximumRetryAttempts: 0 },
              ecsParameters: {
                taskDefinitionArn: taskDefinitions[i].arn,
                launchType: "FARGATE",
                taskCount: 1,
                networkConfiguration: { subnets: args.subnetIds, securityGroups: [sg.id], assignPublicIp: false },
              },
            },
          },
          parent,
        ),
    );
    this.scheduleName = schedules[0].name;
    this.registerOutputs({ scheduleName: this.scheduleName });
  }
}
