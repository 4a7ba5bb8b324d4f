// The runbook's "Automated Monitoring Alerts" as data: one or more CloudWatch alarms per
// runbook alert, each with its threshold (from the shared alertThresholds, whose defaults are
// the runbook's numbers), its severity topic and the producer of its metric. The Alarms
// component declares exactly this table; tests compare it with the runbook.
import type { AlertThresholds, Severity } from "../../automation/config/common";
import { awsMetrics, eventMetricCatalogue, healthMetricCatalogue, metricNamespace } from "./metrics";

/** The runbook's alerts, in its words, with the severity it files them under. */
export const runbookAlerts = {
  "database-unavailable": { severity: "critical", text: "Database unavailable" },
  "backup-failure": { severity: "critical", text: "Backup failure" },
  "disk-space": { severity: "critical", text: "Disk space > 90%" },
  "replication-lag": { severity: "critical", text: "Replication lag > 1 hour" },
  "slow-query": { severity: "warning", text: "Slow query detected" },
  "connection-pool": { severity: "warning", text: "Connection pool utilization > 80%" },
  "failed-logins": { severity: "warning", text: "Failed login attempts > threshold" },
  "backup-completed": { severity: "info", text: "Backup completed successfully" },
  "maintenance-completed": { severity: "info", text: "Maintenance tasks completed" },
} as const satisfies Record<string, { severity: Severity; text: string }>;

export type RunbookAlertId = keyof typeof runbookAlerts;

/** Who puts the metric into CloudWatch. */
export type MetricProducer =
  /** `dr health --publish`, every minute, from a systemd timer on the host. */
  | "health-publish"
  /** The systemd unit that did the work, after it succeeded (ExecStartPost). */
  | "event"
  /** AWS itself (EC2 status checks). */
  | "aws";

export type Comparison =
  | "GreaterThanThreshold"
  | "GreaterThanOrEqualToThreshold"
  | "LessThanThreshold"
  | "LessThanOrEqualToThreshold";

export interface AlarmSpec {
  /** Stable id; the alarm is named "<site prefix>-<id>". */
  id: string;
  runbookAlert: RunbookAlertId;
  severity: Severity;
  description: string;
  namespace: string;
  metric: string;
  /** "site": Environment + Site dimensions; "instance": the host's InstanceId. */
  dimensions: "site" | "instance";
  statistic: "Minimum" | "Maximum" | "Sum" | "Average";
  comparison: Comparison;
  threshold: number;
  periodSeconds: number;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  /**
   * What silence means. "breaching" where silence is itself the failure (nobody publishes
   * DatabaseUp when the host is gone; no backup age when there is no backup).
   */
  treatMissingData: "breaching" | "notBreaching" | "missing" | "ignore";
  producer: MetricProducer;
  /** Also notify the topic when the alarm clears (not for one-shot info events). */
  notifyOnOk: boolean;
}

/** The alarm table for one site, thresholds taken from config (runbook defaults). */
export function alarmTable(t: AlertThresholds): AlarmSpec[] {
  const health = (metric: keyof typeof healthMetricCatalogue) => ({
    namespace: metricNamespace,
    metric,
    dimensions: "site" as const,
    producer: "health-publish" as const,
  });
  const event = (metric: keyof typeof eventMetricCatalogue) => ({
    namespace: metricNamespace,
    metric,
    dimensions: "site" as const,
    producer: "event" as const,
  });
  // The information alerts: one event in five minutes is the news (nothing is a failure here;
  // the backup-age alarm says when backups stop).
  const completed = (id: "backup-completed" | "maintenance-completed", description: string, metric: keyof typeof eventMetricCatalogue): AlarmSpec => ({
    id,
    runbookAlert: id,
    severity: "info",
    description,
    ...event(metric),
    statistic: "Sum",
    comparison: "GreaterThanOrEqualToThreshold",
    threshold: 1,
    periodSeconds: 300,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    treatMissingData: "notBreaching",
    notifyOnOk: false,
  });
  // The runbook's "backup failure": no successful backup within the incremental schedule plus slack.
  const backupAgeAlarm = (id: string, description: string, metric: keyof typeof healthMetricCatalogue): AlarmSpec => ({
    id,
    runbookAlert: "backup-failure",
    severity: "critical",
    description,
    ...health(metric),
    statistic: "Maximum",
    comparison: "GreaterThanThreshold",
    threshold: t.anyBackupAge,
    periodSeconds: 300,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    treatMissingData: "breaching",
    notifyOnOk: true,
  });
  return [
    {
      id: "database-unavailable",
      runbookAlert: "database-unavailable",
      severity: "critical",
      description: "no successful connection and query for 3 minutes (or nothing published at all)",
      ...health("DatabaseUp"),
      statistic: "Minimum",
      comparison: "LessThanThreshold",
      threshold: 1,
      periodSeconds: 60,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      treatMissingData: "breaching",
      notifyOnOk: true,
    },
    {
      id: "host-status-check-failed",
      runbookAlert: "database-unavailable",
      severity: "critical",
      description: "EC2 status check of the database host failed (runbook: hardware failure)",
      namespace: awsMetrics.instanceStatusCheckFailed.namespace,
      metric: awsMetrics.instanceStatusCheckFailed.name,
      dimensions: "instance",
      producer: "aws",
      statistic: "Maximum",
      comparison: "GreaterThanOrEqualToThreshold",
      threshold: 1,
      periodSeconds: 60,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: "missing",
      notifyOnOk: true,
    },
    // The newest set of either repository, and each repository on its own: the newest of either
    // would hide a starved offsite copy.
    backupAgeAlarm("backup-failure", "no successful backup of any type within the incremental schedule plus slack", "BackupAgeSeconds"),
    ...([1, 2] as const).map((repo) =>
      backupAgeAlarm(
        `repo${repo}-backup-failure`,
        `no successful backup in repo${repo} (${repo === 1 ? "this region's repository" : "the other region's: what the standby, failovers and drills restore from"}) within the incremental schedule plus slack`,
        repo === 1 ? "Repo1BackupAgeSeconds" : "Repo2BackupAgeSeconds",
      ),
    ),
    {
      id: "full-backup-failure",
      runbookAlert: "backup-failure",
      severity: "critical",
      description: "no successful full backup within the daily schedule plus slack",
      ...health("FullBackupAgeSeconds"),
      statistic: "Maximum",
      comparison: "GreaterThanThreshold",
      threshold: t.fullBackupAge,
      periodSeconds: 300,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: "breaching",
      notifyOnOk: true,
    },
    {
      id: "disk-space",
      runbookAlert: "disk-space",
      severity: "critical",
      description: `data directory filesystem above ${t.diskUsagePercent}%`,
      ...health("DiskUsagePercent"),
      statistic: "Maximum",
      comparison: "GreaterThanThreshold",
      threshold: t.diskUsagePercent,
      periodSeconds: 60,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: "notBreaching",
      notifyOnOk: true,
    },
    {
      id: "replication-lag",
      runbookAlert: "replication-lag",
      severity: "critical",
      description: "standby replay lag above the runbook's hour",
      ...health("ReplicationLagSeconds"),
      statistic: "Maximum",
      comparison: "GreaterThanThreshold",
      threshold: t.replicationLag,
      periodSeconds: 300,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      // Only a standby publishes replay lag; a primary has none to report.
      treatMissingData: "notBreaching",
      notifyOnOk: true,
    },
    {
      id: "archive-lag",
      runbookAlert: "replication-lag",
      severity: "critical",
      description: "no WAL archived to the repositories for longer than the runbook's hour",
      ...health("ArchiveAgeSeconds"),
      statistic: "Maximum",
      comparison: "GreaterThanThreshold",
      threshold: t.archiveAge,
      periodSeconds: 300,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: "notBreaching",
      notifyOnOk: true,
    },
    {
      id: "slow-query",
      runbookAlert: "slow-query",
      severity: "warning",
      description: `a query has been running longer than ${t.slowQuery}s`,
      ...health("SlowQueries"),
      statistic: "Maximum",
      comparison: "GreaterThanThreshold",
      threshold: 0,
      periodSeconds: 60,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: "notBreaching",
      notifyOnOk: true,
    },
    {
      id: "connection-pool",
      runbookAlert: "connection-pool",
      severity: "warning",
      description: `connections in use above ${t.connectionUtilisationPercent}% of max_connections`,
      ...health("ConnectionUtilisationPercent"),
      statistic: "Maximum",
      comparison: "GreaterThanThreshold",
      threshold: t.connectionUtilisationPercent,
      periodSeconds: 60,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      treatMissingData: "notBreaching",
      notifyOnOk: true,
    },
    {
      id: "failed-logins",
      runbookAlert: "failed-logins",
      severity: "warning",
      description: `more than ${t.failedLoginsPerHour} failed logins in the last hour`,
      ...health("FailedLogins"),
      statistic: "Maximum",
      comparison: "GreaterThanThreshold",
      threshold: t.failedLoginsPerHour,
      periodSeconds: 300,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: "notBreaching",
      notifyOnOk: true,
    },
    completed("backup-completed", "a scheduled backup completed successfully", "BackupCompleted"),
    completed("maintenance-completed", "the scheduled maintenance (vacuum, analyze) completed successfully", "MaintenanceCompleted"),
  ];
}
