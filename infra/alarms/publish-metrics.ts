// `dr health --publish`: turns a health report into one CloudWatch PutMetricData request.
// Namespace, metric names, units and dimensions come from the metric catalogue that the
// alarms in infra watch (infra/alarms/metrics.ts), so a renamed metric cannot silently leave
// an alarm without data.
import { PutMetricDataCommand, type CloudWatchClient, type MetricDatum, type PutMetricDataCommandInput } from "@aws-sdk/client-cloudwatch";
import { healthMetricCatalogue, metricNamespace, siteDimensions, type HealthMetricName } from "./metrics";
import type { HealthReport } from "../../automation/postgres/health-types";

export interface PublishOptions {
  /** The environment the site belongs to (dr config `environment`): the Environment dimension. */
  environment: string;
}

/** Builds the PutMetricData request for a report: one datum per number the report holds. */
export function buildMetricData(report: HealthReport, opts: PublishOptions): PutMetricDataCommandInput {
  const timestamp = new Date(report.checkedAt);
  if (Number.isNaN(timestamp.getTime())) throw new Error(`health report has an invalid checkedAt: ${JSON.stringify(report.checkedAt)}`);
  const dimensions = Object.entries(siteDimensions(opts.environment, report.site)).map(([Name, Value]) => ({ Name, Value }));
  const data: MetricDatum[] = [];
  for (const name of Object.keys(healthMetricCatalogue) as HealthMetricName[]) {
    const value = report.metrics[name];
    // Absent means "not applicable here" (no replay lag on a primary); alarms treat it so.
    if (value === undefined || !Number.isFinite(value)) continue;
    data.push({
      MetricName: name,
      Dimensions: dimensions,
      Timestamp: timestamp,
      Value: value,
      Unit: healthMetricCatalogue[name].unit,
      StorageResolution: 60,
    });
  }
  return { Namespace: metricNamespace, MetricData: data };
}

/** Sends the report's metrics to CloudWatch; returns the request that was sent. */
export async function publishHealth(
  report: HealthReport,
  client: Pick<CloudWatchClient, "send">,
  opts: PublishOptions,
): Promise<PutMetricDataCommandInput> {
  const input = buildMetricData(report, opts);
  await client.send(new PutMetricDataCommand(input));
  return input;
}
