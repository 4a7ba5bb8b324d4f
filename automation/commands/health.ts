// `dr health|analyze|statistics`: the runbook's database_maintenance.py, against a lab site
// (default: the one the service name answers with), or on a site's own host against its local
// cluster (config `host:`; what the host's health timer runs). Health grades every finding with
// the runbook's alert severities; the exit status is the worst of them (0 ok, 1 warning, 2 critical).
// On the lab it also looks across sites: a fenced site that runs, or a second writable primary
// (split brain), is critical whichever site was asked about.
import type { Deps } from "./deps";
import { DrError } from "../core/errors";
import { formatBytes, formatMs, table } from "../core/output";
import { siteAccess } from "./site-access";
import { repositoryBackupAges } from "../backups/repository-age";
import { toBackupSet, unreadableRepos, type BackupSet } from "../pgbackrest/info";
import { analyze, type AnalyzeReport } from "../postgres/analyze";
import { checkHealth } from "../postgres/health";
import { worstOf, type HealthFinding, type HealthReport } from "../postgres/health-types";
import { updateStatistics, type StatisticsReport } from "../postgres/statistics";
import { verdictExit } from "../core/exit-status";


/** Newest successful backups across both repositories (for the backup-age findings). */
function backupFacts(sets: BackupSet[]): { lastFull?: Date; lastAny?: Date } {
  const ok = sets.filter((s) => !s.error);
  const newest = (xs: BackupSet[]) => (xs.length ? new Date(Math.max(...xs.map((s) => s.stoppedAt.getTime()))) : undefined);
  return { lastFull: newest(ok.filter((s) => s.type === "full")), lastAny: newest(ok) };
}

export interface HealthResult extends HealthReport {
  published?: { metrics: number; namespace?: string };
}

export async function healthCommand(deps: Deps, opts: { site?: string; publish?: boolean } = {}): Promise<HealthResult> {
  const site = await siteAccess(deps, opts.site);
  const name = site.name;
  // Each repository answers first, in seconds: behind a dead store pgBackRest retries for
  // minutes, and the every-minute `dr health --publish` must not hang during an S3 outage.
  const down = await unreachableRepositories(site.probeRepo);
  const reachable = ([1, 2] as const).filter((r) => !down.some((d) => d.repo === r));
  let unread: string | undefined;
  const info = reachable.length === 0 ? undefined : await site.pgbackrest.info(down.length ? { repo: reachable[0] } : {}).catch((e: Error) => void (unread = e.message.split("\n")[0]));
  // A repository pgBackRest could not read although it was not probed down (a site's own host
  // has no probe): named as unreachable too, its io-timeout having bounded the wait.
  if (info) down.push(...unreadableRepos(info).filter((u) => !down.some((d) => d.repo === u.repo)));
  const sets = (info?.backup ?? []).map(toBackupSet);
  const report: HealthResult = await deps.out.timed(`health of ${name}`, () =>
    checkHealth({ site: name, connection: site.connection, thresholds: deps.config.alerts, logPath: site.logPath, backups: backupFacts(sets) }),
  );
  if (info) {
    // Each repository on its own: the newest set of either would hide a starved offsite copy.
    const perRepo = repositoryBackupAges(info, deps.config.alerts.anyBackupAge, new Date(report.checkedAt));
    report.findings.push(...perRepo.findings);
    Object.assign(report.metrics, perRepo.metrics);
    report.worst = worstOf(report.findings);
  }
  if (unread) {
    report.findings.push({ check: "backup-catalog", severity: "critical", message: `the backup catalogue could not be read: ${unread}` });
    report.worst = worstOf(report.findings);
  }
  if (down.length) {
    report.findings.push(...down.map((d) => ({ check: `repo${d.repo}-reachable`, severity: "critical" as const, message: `repo${d.repo} is unreachable: ${d.message}` })));
    report.worst = worstOf(report.findings);
  }
  // One site healthy on its own says nothing of a second primary beside it: look across sites.
  const conflicts: HealthFinding[] = await (site.siteConflicts?.() ?? Promise.resolve([])).catch((e: Error) => [
    { check: "split-brain", severity: "warning" as const, message: `could not look across sites for a second primary: ${e.message.split("\n")[0]}` },
  ]);
  if (conflicts.length) {
    report.findings.push(...conflicts);
    report.worst = worstOf(report.findings);
  }
  if (opts.publish) {
    const region = deps.config.sites[name]?.region ?? process.env.AWS_REGION;
    if (!region) {
      throw new DrError("CONFIG_INVALID", `no AWS region for site ${name} to publish metrics to`, { hint: `set sites.${name}.region in the config, or AWS_REGION` });
    }
    try {
      // Loaded here, not at the top: the AWS SDK is most of what every `dr` start would load
      // (require, not import(): see core/shared-store-open.ts).
      const { CloudWatchClient } = require("@aws-sdk/client-cloudwatch") as typeof import("@aws-sdk/client-cloudwatch");
      const { publishHealth } = require("../../infra/alarms/publish-metrics") as typeof import("../../infra/alarms/publish-metrics");
      const sent = await publishHealth(report, new CloudWatchClient({ region }), { environment: deps.config.environment });
      report.published = { metrics: sent.MetricData?.length ?? 0, namespace: sent.Namespace };
    } catch (e) {
      throw new DrError("DEPENDENCY_MISSING", `could not publish metrics to CloudWatch: ${(e as Error).message}`, {
        hint: "publishing runs on the AWS hosts (instance profile credentials); the lab has no CloudWatch",
        cause: e,
      });
    }
  }
  return report;
}

/** The repositories whose storage does not answer its probe (bounded: seconds, not pgBackRest's retries). */
async function unreachableRepositories(probe: ((repo: 1 | 2) => Promise<void>) | undefined): Promise<{ repo: 1 | 2; message: string }[]> {
  if (!probe) return [];
  const results = await Promise.all(([1, 2] as const).map((repo) => probe(repo).then(() => undefined, (e: Error) => ({ repo, message: e.message.split("\n")[0] }))));
  return results.filter((r): r is { repo: 1 | 2; message: string } => r !== undefined);
}

export function healthExitCode(r: HealthReport): number {
  return verdictExit(r.worst);
}

export function renderHealth(r: HealthResult): string {
  return [
    table(["check", "severity", "finding"], r.findings.map((f) => [f.check, f.severity, f.message])),
    `${r.site}: ${r.worst === "ok" ? "healthy" : r.worst.toUpperCase()} (${r.checkedAt})${r.published ? `; published ${r.published.metrics} metrics to ${r.published.namespace}` : ""}`,
  ].join("\n");
}

export async function analyzeCommand(deps: Deps, opts: { site?: string } = {}): Promise<AnalyzeReport> {
  const site = await siteAccess(deps, opts.site);
  return deps.out.timed(`analyze ${site.name}`, () => analyze(site.connection));
}

export function renderAnalyze(r: AnalyzeReport): string {
  const rows = r.tables.map((t) => [
    `${t.schema}.${t.table}`,
    formatBytes(t.totalBytes),
    t.liveRows,
    t.deadRatio === null ? "" : `${(t.deadRatio * 100).toFixed(1)}%`,
    t.indexScanRatio === null ? "" : `${(t.indexScanRatio * 100).toFixed(0)}%`,
    t.orphanRows ?? "",
  ]);
  return [
    table(["table", "size", "live rows", "dead", "index scans", "orphans"], rows),
    `database ${r.database}: ${formatBytes(r.databaseBytes)}, cache hit ${r.cacheHitRatio === null ? "n/a" : `${(r.cacheHitRatio * 100).toFixed(1)}%`}`,
    ...r.findings.map((f) => `${f.severity}: ${f.message}`),
  ].join("\n");
}

export async function statisticsCommand(deps: Deps, opts: { site?: string } = {}): Promise<StatisticsReport> {
  const site = await siteAccess(deps, opts.site);
  return deps.out.timed(`update statistics on ${site.name}`, () => updateStatistics(site.connection, { onProgress: (d, t, l) => deps.out.progress(d, t, l) }));
}

export function renderStatistics(r: StatisticsReport): string {
  return [
    table(["table", "rows (estimate)", "last analyze", "took"], r.tables.map((t) => [`${t.schema}.${t.table}`, t.rowsEstimate, t.lastAnalyze ?? "", t.skipped ?? formatMs(t.durationMs)])),
    `${r.database}: ${r.tables.length} tables analysed in ${formatMs(r.durationMs)}`,
  ].join("\n");
}
