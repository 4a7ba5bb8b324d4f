// systemd services and timers for the automated schedule, from one job table: a full backup
// daily and an incremental every 6 hours to EACH repository (pgBackRest without --repo backs
// up to repo1 only, and the offsite repo2 is the one the standby, a datacenter failover and
// every drill restore from), expire of each repository after the nightly fulls, verify of the
// host's own region's repository weekly (never the other region's: that read would cross the
// region boundary), health metrics every minute, maintenance daily. Calendars come from the
// shared `schedules` config. Backups, expire and maintenance run only where PostgreSQL is the
// writer (ExecCondition), so a standby's timers skip cleanly; each successful run publishes its
// event metric for the information alerts (ExecStartPost runs only after ExecStart succeeded).
// Before each backup, `dr backup manifest` records the schema and row counts a restore of it is
// verified against when the source is gone; its failure is logged and ignored ("-"): a backup
// without a manifest is still a backup.
import type { EventMetricName } from "../alarms/metrics";
import { hostPaths, type HostSpec } from "./host-spec";

export interface SystemdUnit {
  /** File name under /etc/systemd/system. */
  name: string;
  content: string;
}

export interface Job {
  id: string;
  description: string;
  calendar: string;
  /** Exact command lines (systemd syntax: the first word is an absolute path). */
  exec: string[];
  /** Run before exec; a leading "-" makes a failure non-fatal. */
  pre?: string[];
  /** Run only on the writer (not in recovery). */
  writerOnly: boolean;
  event?: EventMetricName;
  /** Environment lines for the service. */
  env?: string[];
  /** Hard limit of one run. */
  timeoutSeconds: number;
  /** Exit codes that are not failures of the unit. */
  successExitStatus?: number[];
}

/**
 * Backups and expire of one stanza take pgBackRest's backup lock and fail at once when another
 * holds it; timers of both repositories fire together, so they queue on this lock instead
 * (bounded by each unit's TimeoutStartSec). /run/lock is world-writable on Debian.
 */
export const repositoryLock = "/run/lock/fp-dr-pgbackrest.lock";

/**
 * The unit of one scheduled backup: what the failover's post-checks start on the new primary
 * (repo1, its own region's repository, the one reachable when the other region is down).
 */
export function backupUnit(type: "full" | "incr", repo: 1 | 2): string {
  return `fp-dr-backup-${type}-repo${repo}.service`;
}

export function jobs(spec: HostSpec): Job[] {
  const pgbackrest = `/usr/bin/pgbackrest --stanza=${spec.stanza}`;
  const queued = `/usr/bin/flock ${repositoryLock} ${pgbackrest}`;
  const drEnv = [`FP_DR_CONFIG=${hostPaths.drConfig}`];
  const manifest = (why: string) => [`-/usr/local/bin/dr backup manifest --reason "${why}"`];
  const list: Job[] = [];
  if (spec.writer) {
    const repos = spec.repo2 ? ([1, 2] as const) : ([1] as const);
    for (const repo of repos) {
      const where = repo === 1 ? "this region's repository" : "the other region's repository";
      list.push(
        {
          id: backupUnit("full", repo).replace(/^fp-dr-|\.service$/g, ""),
          description: `fp-dr full backup to repo${repo}, ${where} (runbook: daily)`,
          calendar: spec.schedules.fullBackup,
          pre: manifest("before the scheduled full backup"),
          exec: [`${queued} --repo=${repo} --type=full backup`],
          env: drEnv,
          writerOnly: true,
          event: "BackupCompleted",
          timeoutSeconds: 12 * 3600,
        },
        {
          id: backupUnit("incr", repo).replace(/^fp-dr-|\.service$/g, ""),
          description: `fp-dr incremental backup to repo${repo}, ${where} (runbook: every 6 hours)`,
          calendar: spec.schedules.incrementalBackup,
          pre: manifest("before the scheduled incremental backup"),
          exec: [`${queued} --repo=${repo} --type=incr backup`],
          env: drEnv,
          writerOnly: true,
          event: "BackupCompleted",
          timeoutSeconds: 6 * 3600,
        },
        {
          id: `expire-repo${repo}`,
          description: `fp-dr expire of repo${repo} to its retention (hosts have expire-auto off)`,
          calendar: spec.schedules.expire,
          exec: [`${queued} --repo=${repo} expire`],
          writerOnly: true,
          timeoutSeconds: 3600,
        },
      );
    }
    list.push(
      {
        id: "verify-repo1",
        description: "fp-dr verify of this region's repository (repo1; the other region's host verifies its own)",
        calendar: spec.schedules.verify,
        exec: [`${pgbackrest} --repo=1 verify`],
        writerOnly: false,
        timeoutSeconds: 12 * 3600,
      },
      {
        id: "maintenance",
        description: "fp-dr maintenance: vacuum and analyze every database",
        calendar: spec.maintenanceSchedule,
        exec: [`${hostPaths.pgBin}/vacuumdb --all --analyze --jobs=2`],
        writerOnly: true,
        event: "MaintenanceCompleted",
        timeoutSeconds: 6 * 3600,
      },
    );
  }
  list.push({
    id: "health",
    description: "fp-dr health metrics to CloudWatch (feeds the alarms)",
    calendar: spec.schedules.healthPublish,
    exec: [`/usr/local/bin/dr health --publish --site ${spec.site}`],
    writerOnly: false,
    env: [...drEnv, `AWS_REGION=${spec.region}`],
    timeoutSeconds: 50,
    // `dr health` exits 1 (warning) or 2 (critical) after publishing: the alarms report those.
    successExitStatus: [1, 2],
  });
  return list;
}

export function renderUnits(spec: HostSpec): SystemdUnit[] {
  const units: SystemdUnit[] = [];
  for (const job of jobs(spec)) {
    const service = [
      "# fp-dr: managed by Pulumi (infra/cloud-init/systemd.ts).",
      "[Unit]",
      `Description=${job.description}`,
      "After=network-online.target postgresql.service",
      "Wants=network-online.target",
      "",
      "[Service]",
      "Type=oneshot",
      "User=postgres",
      "Group=postgres",
      ...(job.env ?? []).map((e) => `Environment=${e}`),
      ...(job.writerOnly ? [`ExecCondition=${hostPaths.isWriter}`] : []),
      ...(job.pre ?? []).map((e) => `ExecStartPre=${e}`),
      ...job.exec.map((e) => `ExecStart=${e}`),
      ...(job.event ? [`ExecStartPost=${hostPaths.event} ${job.event}`] : []),
      ...(job.successExitStatus ? [`SuccessExitStatus=${job.successExitStatus.join(" ")}`] : []),
      `TimeoutStartSec=${job.timeoutSeconds}`,
      "Nice=10",
      "IOSchedulingClass=best-effort",
      "NoNewPrivileges=yes",
      "PrivateTmp=yes",
      "",
    ].join("\n");
    const timer = [
      "# fp-dr: managed by Pulumi (infra/cloud-init/systemd.ts).",
      "[Unit]",
      `Description=${job.description} (schedule)`,
      "",
      "[Timer]",
      `OnCalendar=${job.calendar}`,
      // A host that was down at the scheduled time catches up once (not for the per-minute job).
      `Persistent=${job.id === "health" ? "false" : "true"}`,
      "AccuracySec=1s",
      "",
      "[Install]",
      "WantedBy=timers.target",
      "",
    ].join("\n");
    units.push({ name: `fp-dr-${job.id}.service`, content: service }, { name: `fp-dr-${job.id}.timer`, content: timer });
  }
  return units;
}
