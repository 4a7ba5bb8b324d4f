// `dr status`: the DR posture at a glance. Each site's role as the site itself says it (primary,
// standby, fenced, down, unknown); for a standby where its WAL comes from and how far behind it
// is; the RPO a failover would give if the primary died now; the newest backup and restorable
// window of each repository; what the service name answers; the last drill. One verdict:
// 0 ok, 1 warning, 2 critical, with the thresholds of the configuration.
import type { Deps } from "./deps";
import { formatDuration } from "../config/common";
import type { DrConfig } from "../config/schema";
import { DrError } from "../core/errors";
import { table } from "../core/output";
import { listBackups } from "../backups/list";
import { Lab } from "../engines/local/lab";
import { isFenced, recordedTopology } from "../engines/local/topology";
import { lagBehind, lsnDiff, readRecoveryState, type RecoveryState } from "../postgres/recovery-state";
import { listReports } from "../report/store";
import { reportsDir } from "../core/state-dirs";

export type SiteRole = "primary" | "standby" | "fenced" | "down" | "unknown";
export type Verdict = "ok" | "warning" | "critical";

export interface SiteStatusLine {
  site: string;
  /** The role the topology records for it (primary or standby). */
  recorded: "primary" | "standby";
  role: SiteRole;
  address: string;
  timeline?: number;
  standby?: {
    source: "stream" | "archive";
    receiveLsn: string | null;
    replayLsn: string;
    lagBytes?: number;
    lagSeconds?: number;
    sinceReplaySeconds?: number;
    paused: boolean;
  };
  error?: string;
}

export interface DrStatus {
  checkedAt: string;
  sites: SiteStatusLine[];
  /** Seconds of commits a failover would lose if the primary died now (best source), and how that was judged. */
  rpoNow: { seconds?: number; basis: string };
  repos: { repo: 1 | 2; name: string; reachable: boolean; newestSet?: string; newestSetAt?: string; window?: { oldest: string; newest: string }; newestWalAt?: string; error?: string }[];
  service: { name: string; answer?: string; site?: string };
  lastDrill?: { runId: string; status: string; verdict: string; ageSeconds: number };
  verdict: Verdict;
  /** Why the verdict is not ok (and notes that do not change it), most severe first. */
  findings: { severity: Verdict | "info"; message: string }[];
}

/** A drill older than this (the runbook's monthly test, plus slack) is a warning. */
const DRILL_MAX_AGE_SECONDS = 35 * 86400;

export async function status(deps: Deps): Promise<DrStatus> {
  if (deps.config.engine !== "local") {
    throw new DrError("USAGE", "dr status reads the lab's sites; the pulumi engine is not covered yet", { hint: "use `dr health --site …` on each AWS site" });
  }
  const lab = Lab.open(deps.config);
  const now = new Date();
  const topology = recordedTopology(lab);
  const findings: DrStatus["findings"] = [];
  const add = (severity: Verdict | "info", message: string) => findings.push({ severity, message });

  const states = new Map<string, RecoveryState>();
  const sites: SiteStatusLine[] = [];
  for (const [name, recorded] of [[topology.primary, "primary"], [topology.standby, "standby"]] as const) {
    const s = lab.site(name);
    const line: SiteStatusLine = { site: name, recorded, role: "down", address: s.address };
    if (s.cluster.state() === "running") {
      try {
        const st = await readRecoveryState(s.cluster.connection("postgres"));
        states.set(name, st);
        line.timeline = st.timeline;
        line.role = st.role === "standby" && isFenced(lab, name) ? "fenced" : st.role;
      } catch (e) {
        line.role = "unknown";
        line.error = (e as Error).message.split("\n")[0];
      }
    } else if (isFenced(lab, name)) line.role = "fenced";
    sites.push(line);
  }

  const primaryState = states.get(topology.primary);
  const primaryLine = sites[0];
  if (primaryLine.role !== "primary") add("critical", `${topology.primary} (recorded primary) is ${primaryLine.role}${primaryLine.error ? `: ${primaryLine.error}` : ""}`);

  const standbyLine = sites[1];
  const standbyState = states.get(topology.standby);
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
    const t = deps.config;
    const lagSeconds = lag?.seconds ?? sinceReplay;
    if (lagSeconds !== undefined && lagSeconds > t.alerts.replicationLag) add("critical", `standby ${topology.standby} is ${formatDuration(lagSeconds)} behind (alert above ${formatDuration(t.alerts.replicationLag)})`);
    else if (lagSeconds !== undefined && lagSeconds > t.standby.warnLag) add("warning", `standby ${topology.standby} is ${formatDuration(lagSeconds)} behind (warning above ${formatDuration(t.standby.warnLag)})`);
    if (t.standby.streaming && standbyState.source === "archive") add("warning", `standby ${topology.standby} is not streaming: replaying from the offsite archive only`);
    if (standbyState.paused) add("info", `standby ${topology.standby} has replay paused (its lag is judged by the thresholds)`);
    // What the standby already holds: everything up to what it received (streamed) or replayed.
    if (primaryState) {
      const held = standbyState.receiveLsn && lsnDiff(standbyState.receiveLsn, standbyState.replayLsn) > 0 ? standbyState.receiveLsn : standbyState.replayLsn;
      standbyRpo = lsnDiff(primaryState.replayLsn, held) <= 0 ? 0 : lag?.seconds;
    }
  } else if (deps.config.standby.enabled) {
    add("critical", `no usable standby: ${topology.standby} is ${standbyLine.role}${standbyLine.error ? ` (${standbyLine.error})` : ""}`);
  } else {
    add("info", `${topology.standby} is not a standby (standby.enabled is off): a failover restores from backup`);
  }

  const listing = await listBackups(lab.pgbackrestOf(topology.primary), deps.config, { now, probe: (r) => lab.probeRepo(r) });
  const repos = listing.repos.map((r) => {
    const newest = r.sets.filter((s) => !s.error).pop();
    if (!r.reachable) add("warning", `repo${r.repo} (${r.name}) unreachable: ${r.error?.message.split("\n")[0]}`);
    return { repo: r.repo, name: r.name, reachable: r.reachable, newestSet: newest?.label, newestSetAt: newest?.stoppedAt.toISOString(), window: r.window, newestWalAt: r.wal.newestAt, error: r.error?.message };
  });
  const offsite = listing.repos.find((r) => r.repo === 2);
  const archiveRpo = primaryLine.role === "primary" ? offsite?.wal.ageSeconds : undefined;
  const rpoNow = rpoEstimate(standbyRpo, archiveRpo);

  let answer: string | undefined;
  try {
    answer = await lab.resolveService();
  } catch (e) {
    add("critical", `the service name ${lab.state.serviceName} does not resolve: ${(e as Error).message.split("\n")[0]}`);
  }
  const answering = Object.entries(lab.state.sites).find(([, s]) => s.address === answer)?.[0];
  if (answer && answering !== topology.primary) add("critical", `the service name answers ${answering ?? answer}, not the primary ${topology.primary}`);

  const lastDrill = drillSummary(deps.config, now);
  if (!lastDrill) add("info", "no drill on record");
  else if (lastDrill.status !== "succeeded") add("warning", `the last drill ${lastDrill.runId} ${lastDrill.status}`);
  else if (lastDrill.ageSeconds > DRILL_MAX_AGE_SECONDS) add("warning", `the last drill is ${formatDuration(lastDrill.ageSeconds)} old`);

  const rank = { critical: 0, warning: 1, info: 2, ok: 3 } as const;
  findings.sort((a, b) => rank[a.severity] - rank[b.severity]);
  const verdict: Verdict = findings.some((f) => f.severity === "critical") ? "critical" : findings.some((f) => f.severity === "warning") ? "warning" : "ok";
  return { checkedAt: now.toISOString(), sites, rpoNow, repos, service: { name: lab.state.serviceName, answer, site: answering }, lastDrill, verdict, findings };
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
  return s.verdict === "critical" ? 2 : s.verdict === "warning" ? 1 : 0;
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
