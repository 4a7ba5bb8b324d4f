// `dr status`: the DR posture at a glance. Each site's role as the site itself says it (primary,
// standby, fenced, down, unknown); for a standby where its WAL comes from and how far behind it
// is; the RPO a failover would give if the primary died now; the newest backup and restorable
// window of each repository; what the service name answers; the last drill. One verdict:
// 0 ok, 1 warning, 2 critical, with the thresholds of the configuration. What is observed
// depends on the engine (the lab here, AWS in ./status-pulumi.ts); the judgement does not.
import type { Deps } from "./deps";
import { formatDuration } from "../config/common";
import type { DrConfig } from "../config/schema";
import { table } from "../core/output";
import { listBackups } from "../backups/list";
import { Lab } from "../engines/local/lab";
import { isFenced, recordedTopology } from "../engines/local/topology";
import { lagBehind, lsnDiff, type RecoveryState } from "../postgres/recovery-state";
import { listReports } from "../report/store";
import { reportsDir } from "../core/state-dirs";
import type { Engine } from "../engines/engine";
import { engineFor } from "./run-context";
import { readRole, type DrStatus, type Observed, type SiteRole, type SiteStatusLine, type Verdict } from "./status-observed";
import { verdictExit } from "../core/exit-status";

export type { DrStatus, Observed, SiteRole, SiteStatusLine, Verdict };

/** A drill older than this (the runbook's monthly test, plus slack) is a warning. */
const DRILL_MAX_AGE_SECONDS = 35 * 86400;

export async function status(deps: Deps, engine?: Engine): Promise<DrStatus> {
  const now = new Date();
  // The AWS side is loaded only when asked for (the Pulumi SDK costs every other command time;
  // require, not import(): see core/shared-store-open.ts).
  const observed =
    deps.config.engine === "local" ? await observeLab(deps, now) : await (require("./status-pulumi") as typeof import("./status-pulumi")).observePulumi(deps.config, engine ?? (await engineFor(deps)), now);
  return judge(deps.config, observed, now);
}

/** The lab: lab.json's topology and fence markers, the clusters themselves, both repositories. */
async function observeLab(deps: Deps, now: Date): Promise<Observed> {
  const lab = Lab.open(deps.config);
  const topology = recordedTopology(lab);
  const states = new Map<string, RecoveryState>();
  const sites: SiteStatusLine[] = [];
  for (const [name, recorded] of [[topology.primary, "primary"], [topology.standby, "standby"]] as const) {
    const s = lab.site(name);
    const line: SiteStatusLine = { site: name, recorded, role: "down", address: s.address };
    if (s.cluster.state() === "running") await readRole(line, states, s.cluster.connection("postgres"), isFenced(lab, name));
    else if (isFenced(lab, name)) line.role = "fenced";
    sites.push(line);
  }
  const listing = await listBackups(lab.pgbackrestOf(topology.primary), deps.config, { now, probe: (r) => lab.probeRepo(r) });
  const repos = listing.repos.map((r) => {
    const newest = r.sets.filter((s) => !s.error).pop();
    return { repo: r.repo, name: r.name, reachable: r.reachable, newestSet: newest?.label, newestSetAt: newest?.stoppedAt.toISOString(), window: r.window, newestWalAt: r.wal.newestAt, error: r.error?.message };
  });
  const service: Observed["service"] = { name: lab.state.serviceName };
  try {
    service.answer = await lab.resolveService();
    service.site = Object.entries(lab.state.sites).find(([, s]) => s.address === service.answer)?.[0];
  } catch (e) {
    service.error = (e as Error).message.split("\n")[0];
  }
  return { primary: topology.primary, standby: topology.standby, sites, states, repos, offsiteWalAgeSeconds: listing.repos.find((r) => r.repo === 2)?.wal.ageSeconds, service };
}

/** One verdict from what was observed, with the configured thresholds. */
export function judge(config: DrConfig, o: Observed, now: Date): DrStatus {
  const findings: DrStatus["findings"] = [];
  const add = (severity: Verdict | "info", message: string) => findings.push({ severity, message });
  const [primaryLine, standbyLine] = o.sites;
  const primaryState = o.states.get(o.primary);
  if (primaryLine.role !== "primary") add("critical", `${o.primary} (recorded primary) is ${primaryLine.role}${primaryLine.error ? `: ${primaryLine.error}` : ""}`);

  const standbyState = o.states.get(o.standby);
  let standbyRpo: number | undefined;
  if (standbyState?.role === "standby" && standbyLine.role === "standby") {
    const sinceReplay = standbyState.lastReplayAt ? (now.getTime() - Date.parse(standbyState.lastReplayAt)) / 1000 : undefined;
    const lag = primaryState ? lagBehind(standbyState, primaryState, now) : undefined;
    standbyLine.standby = {
      source: standbyState.source!,
      receiveLsn: standbyState.receiveLsn,
      replayLsn: standbyState.replayLsn,
      lagBytes: lag?.bytes,
      lagSeconds: lag?.seconds,
      sinceReplaySeconds: sinceReplay,
      paused: standbyState.paused,
    };
    const lagSeconds = lag?.seconds ?? sinceReplay;
    if (lagSeconds !== undefined && lagSeconds > config.alerts.replicationLag) add("critical", `standby ${o.standby} is ${formatDuration(lagSeconds)} behind (alert above ${formatDuration(config.alerts.replicationLag)})`);
    else if (lagSeconds !== undefined && lagSeconds > config.standby.warnLag) add("warning", `standby ${o.standby} is ${formatDuration(lagSeconds)} behind (warning above ${formatDuration(config.standby.warnLag)})`);
    if (config.standby.streaming && standbyState.source === "archive") add("warning", `standby ${o.standby} is not streaming: replaying from the offsite archive only`);
    if (standbyState.paused) add("info", `standby ${o.standby} has replay paused (its lag is judged by the thresholds)`);
    // What the standby already holds: everything up to what it received (streamed) or replayed.
    if (primaryState) {
      const held = standbyState.receiveLsn && lsnDiff(standbyState.receiveLsn, standbyState.replayLsn) > 0 ? standbyState.receiveLsn : standbyState.replayLsn;
      standbyRpo = lsnDiff(primaryState.replayLsn, held) <= 0 ? 0 : lag?.seconds;
    }
  } else if (config.standby.enabled) {
    add("critical", `no usable standby: ${o.standby} is ${standbyLine.role}${standbyLine.error ? ` (${standbyLine.error})` : ""}`);
  } else {
    add("info", `${o.standby} is not a standby (standby.enabled is off): a failover restores from backup`);
  }

  for (const r of o.repos) if (!r.reachable) add("warning", `repo${r.repo} (${r.name}) unreachable: ${r.error?.split("\n")[0]}`);
  const rpoNow = rpoEstimate(standbyRpo, primaryLine.role === "primary" ? o.offsiteWalAgeSeconds : undefined);

  if (o.service.error) add("critical", `the service name ${o.service.name} does not resolve: ${o.service.error}`);
  if (o.service.answer && o.service.site !== o.primary) add("critical", `the service name answers ${o.service.site ?? o.service.answer}, not the primary ${o.primary}`);

  const lastDrill = drillSummary(config, now);
  if (!lastDrill) add("info", "no drill on record");
  else if (lastDrill.status !== "succeeded") add("warning", `the last drill ${lastDrill.runId} ${lastDrill.status}`);
  else if (lastDrill.ageSeconds > DRILL_MAX_AGE_SECONDS) add("warning", `the last drill is ${formatDuration(lastDrill.ageSeconds)} old`);

  const rank = { critical: 0, warning: 1, info: 2, ok: 3 } as const;
  findings.sort((a, b) => rank[a.severity] - rank[b.severity]);
  const verdict: Verdict = findings.some((f) => f.severity === "critical") ? "critical" : findings.some((f) => f.severity === "warning") ? "warning" : "ok";
  return { checkedAt: now.toISOString(), sites: o.sites, rpoNow, repos: o.repos, service: { name: o.service.name, answer: o.service.answer, site: o.service.site }, lastDrill, verdict, findings };
}

function rpoEstimate(standby: number | undefined, archive: number | undefined): DrStatus["rpoNow"] {
  if (standby !== undefined && (archive === undefined || standby <= archive)) {
    return { seconds: standby, basis: standby === 0 ? "the standby holds everything the primary has written" : "commits the standby has not received yet" };
  }
  if (archive !== undefined) return { seconds: archive, basis: "age of the newest WAL in the offsite repository (a restore would end there)" };
  return { basis: "unknown: the primary cannot be read" };
}

function drillSummary(config: DrConfig, now: Date): DrStatus["lastDrill"] {
  const drill = listReports(reportsDir(config)).find((r) => r.scenario === "drill" && !r.dryRun);
  if (!drill) return undefined;
  return { runId: drill.runId, status: drill.status, verdict: drill.verdict, ageSeconds: (now.getTime() - Date.parse(drill.finishedAt ?? drill.declaredAt)) / 1000 };
}

export function statusExitCode(s: DrStatus): number {
  return verdictExit(s.verdict);
}

export function renderStatus(s: DrStatus): string {
  const fmt = (x?: number) => (x === undefined ? "" : formatDuration(x));
  return [
    table(
      ["site", "recorded", "role", "source", "replay LSN", "lag", "since replay"],
      s.sites.map((x) => [x.site, x.recorded, x.role, x.standby?.source ?? "", x.standby?.replayLsn ?? "", x.standby ? `${x.standby.lagBytes ?? "?"} B, ${fmt(x.standby.lagSeconds)}` : "", fmt(x.standby?.sinceReplaySeconds)]),
    ),
    table(["repository", "newest backup", "restorable window", "newest WAL"], s.repos.map((r) => [`repo${r.repo} (${r.name})`, r.reachable ? r.newestSet ?? "none" : "UNREACHABLE", r.window ? `${r.window.oldest} → ${r.window.newest}` : "", r.newestWalAt ?? ""])),
    `RPO if the primary died now: ${s.rpoNow.seconds === undefined ? "unknown" : formatDuration(s.rpoNow.seconds)} (${s.rpoNow.basis})`,
    `${s.service.name} → ${s.service.answer ?? "no answer"}${s.service.site ? ` (${s.service.site})` : ""}`,
    `last drill: ${s.lastDrill ? `${s.lastDrill.runId} ${s.lastDrill.verdict}, ${formatDuration(s.lastDrill.ageSeconds)} ago` : "none on record"}`,
    ...s.findings.map((f) => `${f.severity}: ${f.message}`),
    `DR posture: ${s.verdict.toUpperCase()}`,
  ].join("\n");
}
