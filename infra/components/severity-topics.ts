// One SNS topic per runbook severity (critical: immediate response, warning: within 4 hours,
// info: daily review) with the subscriptions from config. Alarms route to these by severity;
// Incident Manager response plans notify the critical one.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { severities, type Severity } from "../../automation/config/common";
import { childName, topicName } from "../naming";

export interface Subscription {
  /** SNS protocol: email, sms, https, sqs, lambda … Required. */
  protocol: string;
  /** Address, URL or ARN for that protocol. Required. */
  endpoint: string;
}

export interface SeverityTopicsArgs {
  /** Environment, for topic names. Required. */
  environment: string;
  /** Site, for topic names. Required. */
  site: string;
  /** Subscriptions per severity. Default none. */
  subscriptions?: Partial<Record<Severity, Subscription[]>>;
}

export class SeverityTopics extends pulumi.ComponentResource {
  readonly arns: Record<Severity, pulumi.Output<string>>;

  constructor(name: string, args: SeverityTopicsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fp-dr:site:SeverityTopics", name, {}, opts);
    const parent = { parent: this };
    const arns = {} as Record<Severity, pulumi.Output<string>>;
    for (const severity of severities) {
      const topic = new aws.sns.Topic(childName(name, severity), { name: topicName(args.environment, args.site, severity), tags: { "fp-dr:severity": severity } }, parent);
      (args.subscriptions?.[severity] ?? []).forEach(
        (s, i) => new aws.sns.TopicSubscription(childName(name, `${severity}-${i}`), { topic: topic.arn, protocol: s.protocol, endpoint: s.endpoint }, parent),
      );
      arns[severity] = topic.arn;
    }
    this.arns = arns;
    this.registerOutputs({ arns });
  }
}
