// The shape of a health check result, shared by `dr health` (which produces it), the CloudWatch
// publisher (which turns its metrics into PutMetricData) and the alarms declared in infra (which
// watch those metrics). Metric names here are the contract between the three.
import type { Severity } from "../config/common";

export type FindingSeverity = Severity | "ok";

export interface HealthFinding {
  /** Stable check name, e.g. "connectivity", "disk", "archiving". */
  check: string;
  severity: FindingSeverity;
  /** One lowercase line for people. */
  message: string;
  value?: number;
  unit?: string;
  threshold?: number;
}

/** Numbers behind the findings; every alarm in infra watches one of these. */
export interface HealthMetrics {
  /** 1 when a connection and a query succeeded. */
  DatabaseUp: number;
  /** 1 when the server is in recovery (standby or restoring). */
  InRecovery?: number;
  DiskUsagePercent?: number;
  ConnectionUtilisationPercent?: number;
  /**
   * Archive lag: seconds since the last successful archive while segments wait to be
   * archived; 0 when nothing waits (an idle server is not behind).
   */
  ArchiveAgeSeconds?: number;
  ArchiveFailures?: number;
  /** Seconds since the newest successful full backup finished. */
  FullBackupAgeSeconds?: number;
  /** Seconds since the newest successful backup of any type finished. */
  BackupAgeSeconds?: number;
  /** The same for repo1 alone (this region's repository): each repository is alarmed on its own. */
  Repo1BackupAgeSeconds?: number;
  /** The same for repo2 alone (the other region's: what the standby, failovers and drills restore from). */
  Repo2BackupAgeSeconds?: number;
  ReplicationLagSeconds?: number;
  /** On a primary: WAL written but not yet replayed by its furthest standby; on a standby: received but not yet replayed. */
  ReplicationLagBytes?: number;
  SlowQueries?: number;
  LongTransactions?: number;
  FailedLogins?: number;
}

export interface HealthReport {
  site: string;
  checkedAt: string;
  worst: FindingSeverity;
  findings: HealthFinding[];
  metrics: HealthMetrics;
}

export const severityRank: Record<FindingSeverity, number> = { ok: 0, info: 1, warning: 2, critical: 3 };

export function worstOf(findings: HealthFinding[]): FindingSeverity {
  return findings.reduce<FindingSeverity>((w, f) => (severityRank[f.severity] > severityRank[w] ? f.severity : w), "ok");
}
