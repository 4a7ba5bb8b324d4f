// The age of the newest successful backup in EACH repository, for `dr health`. The overall
// backup age takes the newest set of either repository, so backups that reach repo1 only (the
// offsite repository starved) would stay green there; graded per repository, a starved repo2
// is a backup failure of its own, with its own metric and alarm (infra/alarms/table.ts).
import { formatDuration } from "../config/common";
import type { HealthFinding, HealthMetrics } from "../postgres/health-types";
import { toBackupSet, type StanzaInfo } from "../pgbackrest/info";

const metricOf = { 1: "Repo1BackupAgeSeconds", 2: "Repo2BackupAgeSeconds" } as const;

/** Findings and metrics per repository the stanza has (from `pgbackrest info`). */
export function repositoryBackupAges(info: StanzaInfo, limitSeconds: number, now: Date): { findings: HealthFinding[]; metrics: Partial<HealthMetrics> } {
  const findings: HealthFinding[] = [];
  const metrics: Partial<HealthMetrics> = {};
  const sets = info.backup.map(toBackupSet).filter((s) => !s.error);
  for (const key of info.repo.map((r) => r.key).sort()) {
    if (key !== 1 && key !== 2) continue;
    const check = `backup-repo${key}`;
    const newest = sets.filter((s) => s.repo === key).reduce<Date | undefined>((m, s) => (!m || s.stoppedAt > m ? s.stoppedAt : m), undefined);
    if (!newest) {
      findings.push({ check, severity: "critical", message: `backup failure: no successful backup in repo${key}`, threshold: limitSeconds });
      continue;
    }
    const seconds = Math.round((now.getTime() - newest.getTime()) / 1000);
    metrics[metricOf[key]] = seconds;
    const over = seconds > limitSeconds;
    findings.push({
      check,
      severity: over ? "critical" : "info",
      message: over
        ? `backup failure: the newest backup in repo${key} finished ${formatDuration(seconds)} ago (limit ${formatDuration(limitSeconds)})`
        : `newest backup in repo${key} finished ${formatDuration(seconds)} ago`,
      value: seconds,
      unit: "seconds",
      threshold: limitSeconds,
    });
  }
  return { findings, metrics };
}
