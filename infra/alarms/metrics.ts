// The metric catalogue: the one definition of what the PostgreSQL hosts publish to CloudWatch
// and what the alarms watch. `dr health --publish` (./publish-metrics.ts)
// builds its PutMetricData request from these constants, the systemd units rendered by
// infra/cloud-init publish the event metrics named here, and infra/alarms/table.ts points
// every alarm at one of them. No Pulumi import: automation/ loads this file at run time.
import type { HealthMetrics } from "../../automation/postgres/health-types";

/** CloudWatch namespace of every custom metric of fp-dr. */
export const metricNamespace = "FpDr";

/** Dimension names, in the order they are sent (CloudWatch matches on the exact set). */
export const dimensionNames = { environment: "Environment", site: "Site" } as const;

/** The dimensions that identify one site's metrics; alarms and publisher both call this. */
export function siteDimensions(environment: string, site: string): Record<string, string> {
  return { [dimensionNames.environment]: environment, [dimensionNames.site]: site };
}

/** The subset of CloudWatch's StandardUnit used here. */
export type MetricUnit = "Seconds" | "Percent" | "Count" | "Bytes" | "None";

export interface MetricDefinition {
  unit: MetricUnit;
  /** What the number means, for alarm descriptions and dashboards. */
  description: string;
}

/**
 * Every number of a health report, by its HealthMetrics field name (the metric name). The
 * mapped type makes the compiler reject a catalogue that misses or invents a field.
 */
export const healthMetricCatalogue: { [K in keyof Required<HealthMetrics>]: MetricDefinition } = {
  DatabaseUp: { unit: "Count", description: "1 when a connection and a query succeeded" },
  InRecovery: { unit: "Count", description: "1 when the server is in recovery (standby or restoring)" },
  DiskUsagePercent: { unit: "Percent", description: "data directory filesystem usage" },
  ConnectionUtilisationPercent: { unit: "Percent", description: "connections in use as a share of max_connections" },
  ArchiveAgeSeconds: { unit: "Seconds", description: "seconds since the last WAL segment was archived" },
  ArchiveFailures: { unit: "Count", description: "failed WAL archive attempts" },
  FullBackupAgeSeconds: { unit: "Seconds", description: "seconds since the newest successful full backup finished" },
  BackupAgeSeconds: { unit: "Seconds", description: "seconds since the newest successful backup of any type finished" },
  Repo1BackupAgeSeconds: { unit: "Seconds", description: "seconds since the newest successful backup in repo1 (this region's repository) finished" },
  Repo2BackupAgeSeconds: { unit: "Seconds", description: "seconds since the newest successful backup in repo2 (the other region's repository) finished" },
  ReplicationLagSeconds: { unit: "Seconds", description: "replay lag of the standby" },
  ReplicationLagBytes: { unit: "Bytes", description: "WAL the standby has not replayed yet (on the primary: behind its position; on the standby: received, not replayed)" },
  SlowQueries: { unit: "Count", description: "queries running longer than the slow-query threshold" },
  LongTransactions: { unit: "Count", description: "transactions open longer than the long-transaction threshold" },
  FailedLogins: { unit: "Count", description: "failed logins in the last hour" },
};

export type HealthMetricName = keyof typeof healthMetricCatalogue;

/**
 * Events, published as a value of 1 by the systemd unit that did the work (ExecStartPost runs
 * only after a successful ExecStart), for the runbook's information alerts.
 */
export const eventMetricCatalogue = {
  BackupCompleted: { unit: "Count", description: "a scheduled pgBackRest backup finished successfully" },
  MaintenanceCompleted: { unit: "Count", description: "the scheduled vacuum/analyze maintenance finished successfully" },
} as const satisfies Record<string, MetricDefinition>;

export type EventMetricName = keyof typeof eventMetricCatalogue;

/** Metrics AWS produces by itself (no agent of ours involved). */
export const awsMetrics = {
  /** EC2 status checks (instance or system) of the host: the runbook's hardware failure. */
  instanceStatusCheckFailed: { namespace: "AWS/EC2", name: "StatusCheckFailed", dimension: "InstanceId", unit: "Count" },
} as const;

export function isHealthMetric(name: string): name is HealthMetricName {
  return Object.prototype.hasOwnProperty.call(healthMetricCatalogue, name);
}

export function isEventMetric(name: string): name is EventMetricName {
  return Object.prototype.hasOwnProperty.call(eventMetricCatalogue, name);
}
