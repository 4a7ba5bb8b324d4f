// The runbook's alerts as CloudWatch alarms: one alarm per row of the alarm table
// (infra/alarms/table.ts), thresholds from the shared config, each routed to the topic of its
// severity; critical and warning ones also start an incident when Incident Manager is declared.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { AlertThresholds, Severity } from "../../automation/config/common";
import { awsMetrics, siteDimensions } from "../alarms/metrics";
import { alarmTable, runbookAlerts } from "../alarms/table";
import { alarmName, childName } from "../naming";

export interface RunbookAlarmsArgs {
  /** Environment: alarm names and the Environment dimension. Required. */
  environment: string;
  /** Site: alarm names and the Site dimension. Required. */
  site: string;
  /** Thresholds (runbook defaults). Required. */
  thresholds: AlertThresholds;
  /** Topic ARN per severity. Required. */
  topics: Record<Severity, pulumi.Input<string>>;
  /** The host, for AWS's own instance metrics. Required. */
  instanceId: pulumi.Input<string>;
  /** Extra alarm actions per severity (Incident Manager response plans). Default none. */
  incidentActions?: Partial<Record<Severity, pulumi.Input<string>[]>>;
}

export class RunbookAlarms extends pulumi.ComponentResource {
  readonly alarmNames: pulumi.Output<string>[];

  constructor(name: string, args: RunbookAlarmsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fp-dr:site:RunbookAlarms", name, {}, opts);
    this.alarmNames = alarmTable(args.thresholds).map((spec) => {
      const topic = args.topics[spec.severity];
      const actions = [topic, ...(args.incidentActions?.[spec.severity] ?? [])];
      const alarm = new aws.cloudwatch.MetricAlarm(
        childName(name, spec.id),
        {
          name: alarmName(args.environment, args.site, spec.id),
          alarmDescription: `${runbookAlerts[spec.runbookAlert].text} (runbook, ${spec.severity}): ${spec.description}`,
          namespace: spec.namespace,
          metricName: spec.metric,
          dimensions: spec.dimensions === "site" ? siteDimensions(args.environment, args.site) : { [awsMetrics.instanceStatusCheckFailed.dimension]: args.instanceId },
          statistic: spec.statistic,
          comparisonOperator: spec.comparison,
          threshold: spec.threshold,
          period: spec.periodSeconds,
          evaluationPeriods: spec.evaluationPeriods,
          datapointsToAlarm: spec.datapointsToAlarm,
          treatMissingData: spec.treatMissingData,
          actionsEnabled: true,
          alarmActions: actions,
          okActions: spec.notifyOnOk ? [topic] : [],
          tags: { "fp-dr:runbook-alert": spec.runbookAlert, "fp-dr:severity": spec.severity, "fp-dr:producer": spec.producer },
        },
        { parent: this },
      );
      return alarm.name;
    });
    this.registerOutputs({ alarmNames: this.alarmNames });
  }
}
