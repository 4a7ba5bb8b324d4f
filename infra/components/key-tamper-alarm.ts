// Pages the critical topic when someone schedules the deletion of a backup key, disables it,
// or changes its policy (the key policy allows that to the break-glass role only, and even then
// people must know). CloudTrail's management events reach EventBridge in the key's region; the
// account needs a trail recording management events there.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { childName } from "../naming";
import { criticalTopicPolicy, keyTamperEventPattern } from "../policies/key-policy";

export interface KeyTamperAlarmArgs {
  /** ARN of the backup key to watch. Required. */
  keyArn: pulumi.Input<string>;
  /** The critical severity topic. Required. */
  topicArn: pulumi.Input<string>;
  /** Account id (the topic admits this account's EventBridge rules). Required. */
  accountId: pulumi.Input<string>;
}

export class KeyTamperAlarm extends pulumi.ComponentResource {
  readonly ruleName: pulumi.Output<string>;

  constructor(name: string, args: KeyTamperAlarmArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fp-dr:site:KeyTamperAlarm", name, {}, opts);
    const n = (part: string) => childName(name, part);
    const parent = { parent: this };
    new aws.sns.TopicPolicy(
      n("topic-policy"),
      { arn: args.topicArn, policy: pulumi.all([args.topicArn, args.accountId]).apply(([topicArn, accountId]) => JSON.stringify(criticalTopicPolicy({ topicArn, accountId }))) },
      parent,
    );
    const rule = new aws.cloudwatch.EventRule(
      n("rule"),
      {
        description: "fp-dr: a backup key's deletion was scheduled, or it was disabled, or its policy changed",
        eventPattern: pulumi.output(args.keyArn).apply((arn) => JSON.stringify(keyTamperEventPattern(arn))),
      },
      parent,
    );
    new aws.cloudwatch.EventTarget(n("target"), { rule: rule.name, arn: args.topicArn }, parent);
    this.ruleName = rule.name;
    this.registerOutputs({ ruleName: this.ruleName });
  }
}
