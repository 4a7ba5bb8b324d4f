// `dr incident isolate|preserve|restore` (runbook §5). isolate and preserve act at once on the
// compromised site and record what they did in the incident's chain of custody; restore runs
// the security plan (which isolates and preserves first if that was not done for the incident)
// through the runner, so `dr resume <run-id>` continues it.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Deps } from "./deps";
import { formatDuration, parseDuration } from "../config/common";
import { DrError } from "../core/errors";
import { parseInstant } from "../core/instant";
import { acquireLease } from "../core/lease";
import type { RunnerDeps } from "../plans/runner";
import type { RunOptions } from "../plans/plan";
import type { RunRecord } from "../core/run-record";
import { startRun } from "../plans/runner";
import { finishRun } from "./recover";
import type { Engine } from "../engines/engine";
import type { IsolationResult, PreservationResult } from "../incident/types";
import { describeIsolation, describePreservation, isolateSite, preserveSite, reusedDetail, type IncidentRef } from "../plans/incident-actions";
import { actor, appendCustody, checkIncidentId, checkIncidentSite, CUSTODY_FILE, incidentDir, lastEntry, newIncidentId, openIncident, readCustody, type CustodyAction, type CustodyEntry, type CustodyRecord } from "../incident/custody";
import { securityPlan } from "../plans/incident";
import type { IncidentFacts, SecurityIncident } from "../plans/incident-steps";
import { runnerDepsFor } from "./run-context";
import { incidentsRoot } from "../core/state-dirs";

export interface IncidentOptions {
  /** The compromised site (default: the site the service name answers with). */
  site?: string;
  /** Default: the newest incident not closed yet, else a new one (yyyymmdd-hhmmss). */
  incidentId?: string;
  /** When the attacker is believed to have started (ISO 8601 with a zone). Required by restore unless recorded. */
  incidentTime?: string;
  /** How far before the incident time to restore (default 30m). */
  margin?: string;
  yes?: boolean;
  dryRun?: boolean;
  force?: boolean;
  /** preserve: record evidence taken by hand (e.g. EBS snapshot ids) instead of taking it. */
  manualEvidence?: string;
  /** restore: steps done by hand, "<action>=<what was done>" (preserve, rotate-repository, rotate-database). */
  manual?: string[];
}

export interface IncidentActionResult {
  incidentId: string;
  dir: string;
  site: string;
  action: "isolate" | "preserve";
  dryRun: boolean;
  /** True when the incident had this done already (nothing new was taken). */
  reused: boolean;
  detail: string;
  isolation?: IsolationResult;
  preservation?: PreservationResult;
  custody: CustodyEntry[];
}

const MANUAL_ACTIONS: CustodyAction[] = ["preserve", "rotate-repository", "rotate-database"];

/** The newest incident that has no "close" entry. */
function latestOpenIncident(root: string): string | undefined {
  if (!existsSync(root)) return undefined;
  const open = readdirSync(root)
    .filter((id) => /^[a-z0-9][a-z0-9-]*$/.test(id))
    .map((id) => ({ id, record: readCustody(join(root, id)) }))
    .filter((x) => x.record && !x.record.entries.some((e) => e.action === "close"))
    .sort((a, b) => a.record!.incident.openedAt.localeCompare(b.record!.incident.openedAt));
  return open.pop()?.id;
}

interface Resolved extends IncidentRef {
  incidentTime?: string;
  /** The custody record as opened (absent on a dry run for an incident not opened yet). */
  record?: CustodyRecord;
}

/** Which incident, which site, which time; opened (directory + custody record) unless a dry run. */
async function resolveIncident(deps: Deps, engine: Engine, opts: IncidentOptions, command: string, write: boolean): Promise<Resolved> {
  const root = incidentsRoot(deps.config);
  const id = opts.incidentId ? checkIncidentId(opts.incidentId) : latestOpenIncident(root) ?? newIncidentId();
  const dir = incidentDir(deps.config, id);
  const existing = readCustody(dir);
  const site = opts.site ?? existing?.incident.site ?? (await engine.activeSite()) ?? "primary";
  const known = (await engine.sites()).map((s) => s.name);
  if (engine.name === "local" && !known.includes(site)) throw new DrError("SITE_UNKNOWN", `no site named ${site}`, { hint: `sites: ${known.join(", ")}` });
  const incidentTime = opts.incidentTime ? parseInstant("--incident-time", opts.incidentTime, { code: "USAGE", notInFuture: "give the time the attacker is believed to have started" }) : existing?.incident.incidentTime;
  let record = existing;
  if (write) record = openIncident(dir, { id, site, environment: deps.config.environment, engine: engine.name, incidentTime }, actor(command));
  else checkIncidentSite(existing, id, site);
  return { id, dir, site, incidentTime, record };
}

export async function confirmOrRefuse(deps: Deps, question: string, yes: boolean | undefined, confirm?: (q: string) => Promise<boolean>): Promise<void> {
  if (yes) return;
  if (!confirm) throw new DrError("NOT_CONFIRMED", `${question} needs confirmation`, { hint: "run it from a terminal to confirm, or pass --yes" });
  if (!(await deps.out.paused(() => confirm(`${question}. continue?`)))) throw new DrError("NOT_CONFIRMED", `${question}: not confirmed`, { hint: "nothing was changed" });
  deps.out.debug("confirmed");
}

/** `dr incident isolate`: cut the compromised site off now, keeping it running. */
export async function incidentIsolate(deps: Deps, opts: IncidentOptions = {}): Promise<IncidentActionResult> {
  const rdeps = await runnerDepsFor(deps);
  const engine = rdeps.engine;
  const ref = await resolveIncident(deps, engine, opts, "dr incident isolate", !opts.dryRun);
  if (opts.dryRun) {
    const detail = `${describeIsolation(engine.name, ref.site)} (incident ${ref.id})`;
    return { incidentId: ref.id, dir: ref.dir, site: ref.site, action: "isolate", dryRun: true, reused: false, detail, custody: ref.record?.entries ?? [] };
  }
  await confirmOrRefuse(deps, `isolate ${ref.site} (every connection refused, every session ended)`, opts.yes, rdeps.confirm);
  return underIncidentLock(rdeps, ref.id, "isolate", async () => {
    const { result, entry, record, reused } = await deps.out.timed(`isolate ${ref.site}`, () => isolateSite(engine, ref, actor("dr incident isolate")), (r) => r.result.outcome);
    if (result.outcome === "unreachable") deps.out.warn(`${ref.site} could not be isolated: ${result.detail}`);
    return { incidentId: ref.id, dir: ref.dir, site: ref.site, action: "isolate", dryRun: false, reused, detail: reused ? reusedDetail("isolated", entry) : entry.summary, isolation: result, custody: record.entries };
  });
}

/** Isolate and preserve take the environment's lease, as runs do: never beside a recovery run, on any machine. */
async function underIncidentLock<T>(rdeps: RunnerDeps, incidentId: string, action: string, fn: () => Promise<T>): Promise<T> {
  const lease = await acquireLease(rdeps.store, { environment: rdeps.config.environment, runId: `incident-${incidentId}-${action}`, scenario: "security", ttlMs: rdeps.config.shared.leaseTtl * 1000 });
  try {
    return await fn();
  } finally {
    await lease.release().catch(() => undefined);
  }
}

/** `dr incident preserve`: the forensic copy (once per incident), or a record of one taken by hand. */
export async function incidentPreserve(deps: Deps, opts: IncidentOptions = {}): Promise<IncidentActionResult> {
  const rdeps = await runnerDepsFor(deps);
  const engine = rdeps.engine;
  const ref = await resolveIncident(deps, engine, opts, "dr incident preserve", !opts.dryRun);
  const before = lastEntry(ref.record, "preserve", ref.site);
  if (opts.dryRun) {
    const detail = before ? reusedDetail("preserved", before) : describePreservation(engine.name, ref.site, ref.dir);
    return { incidentId: ref.id, dir: ref.dir, site: ref.site, action: "preserve", dryRun: true, reused: !!before, detail, custody: ref.record?.entries ?? [] };
  }
  return underIncidentLock(rdeps, ref.id, "preserve", async () => {
    if (opts.manualEvidence && !before) {
      const { entry, record } = appendCustody(ref.dir, { action: "preserve", site: ref.site, by: actor("dr incident preserve --manual-evidence"), summary: `done by hand: ${opts.manualEvidence}`, data: { manual: true, what: opts.manualEvidence } });
      return { incidentId: ref.id, dir: ref.dir, site: ref.site, action: "preserve", dryRun: false, reused: false, detail: entry.summary, custody: record.entries };
    }
    if (!lastEntry(ref.record, "isolate", ref.site)) deps.out.warn(`${ref.site} was not isolated for incident ${ref.id}: the copy is taken while it may still be in use (\`dr incident isolate\` first)`);
    const { result, entry, record, reused } = await deps.out.timed(`preserve ${ref.site}`, () => preserveSite(engine, ref, actor("dr incident preserve")), (r) => (r.result ? `${r.result.files} files` : "already preserved"));
    return { incidentId: ref.id, dir: ref.dir, site: ref.site, action: "preserve", dryRun: false, reused, detail: reused ? reusedDetail("preserved", entry) : entry.summary, preservation: result, custody: record.entries };
  });
}

/**
 * `dr incident restore`: the security plan. The recovery point is the incident time minus the
 * margin; the restore goes to a new site (lab: incident-<id>; AWS: the configured site that is
 * not the compromised one), never over the compromised one.
 */
export async function incidentRestore(deps: Deps, opts: IncidentOptions = {}): Promise<RunRecord> {
  const rdeps = await runnerDepsFor(deps);
  const engine = rdeps.engine;
  const ref = await resolveIncident(deps, engine, opts, "dr incident restore", !opts.dryRun);
  if (!ref.incidentTime) {
    throw new DrError("USAGE", `incident ${ref.id} has no incident time`, { hint: "give --incident-time: when the attacker is believed to have started (the restore goes to a point before it, minus --margin)" });
  }
  const marginSeconds = parseDuration(opts.margin ?? "30m");
  if (marginSeconds === undefined) throw new DrError("USAGE", `--margin: not a duration: ${opts.margin}`, { hint: "use e.g. 30m, 2h" });
  const targetTime = new Date(Date.parse(ref.incidentTime) - marginSeconds * 1000).toISOString();

  // A new site for the restore, never the compromised one.
  let targetSite: string;
  if (engine.name === "local") targetSite = `incident-${ref.id}`;
  else {
    const other = (await engine.sites()).find((s) => s.name !== ref.site && (s.role === "primary" || s.role === "secondary"));
    if (!other) throw new DrError("CONFIG_INVALID", `no site other than ${ref.site} to restore into`, { hint: "configure the standby site under `sites:`" });
    targetSite = other.name;
  }

  // Steps done by hand (AWS: snapshots, IAM), recorded before the plan looks for them.
  let custody = ref.record;
  for (const m of opts.manual ?? []) {
    const [action, ...rest] = m.split("=");
    const what = rest.join("=").trim();
    if (!MANUAL_ACTIONS.includes(action as CustodyAction) || !what) {
      throw new DrError("USAGE", `--manual ${m}: expected <action>=<what was done>`, { hint: `actions: ${MANUAL_ACTIONS.join(", ")}` });
    }
    const site = action === "rotate-database" ? targetSite : action === "preserve" ? ref.site : undefined;
    if (!opts.dryRun && !lastEntry(custody, action as CustodyAction, site)) {
      custody = appendCustody(ref.dir, { action: action as CustodyAction, site, by: actor(`dr incident restore --manual ${action}`), summary: `done by hand: ${what}`, data: { manual: true, what } }).record;
    }
  }

  const options: RunOptions = { dryRun: opts.dryRun === true, yes: opts.yes === true, force: opts.force === true, targetTime, outageAt: ref.incidentTime };
  const incident: SecurityIncident = { id: ref.id, dir: ref.dir, site: ref.site, incidentTime: ref.incidentTime, marginSeconds, targetTime };
  const facts: Partial<IncidentFacts> = { sourceSite: ref.site, targetSite, repo: 2, incident };
  const record = await startRun(securityPlan, rdeps, options, facts as Record<string, unknown>);
  return finishRun(deps, record, rdeps);
}

export function renderIncidentAction(r: IncidentActionResult): string {
  const lines = [`incident ${r.incidentId} (${r.dir}) — ${r.action} ${r.site}${r.dryRun ? " (dry run: nothing changed)" : ""}`, r.detail];
  if (r.isolation?.terminated.length) lines.push(`terminated: ${r.isolation.terminated.map((s) => `${s.user ?? "?"}@${s.client ?? "local"} (pid ${s.pid})`).join(", ")}`);
  if (r.preservation) lines.push(`consistency: ${r.preservation.consistency}`);
  if (!r.dryRun) lines.push(`chain of custody: ${join(r.dir, CUSTODY_FILE)} (${r.custody.length} entries)`);
  if (r.action === "isolate" && !r.dryRun) lines.push(`next: dr incident preserve --incident-id ${r.incidentId}`);
  if (r.action === "preserve" && !r.dryRun) lines.push(`next: dr incident restore --incident-id ${r.incidentId} --incident-time <when it began> [--margin ${formatDuration(30 * 60)}]`);
  return lines.join("\n");
}

/** A site that could not be reached to cut it off (the custody record says so; the document goes with it). */
export function incidentFailure(r: IncidentActionResult): DrError | undefined {
  if (r.isolation?.outcome !== "unreachable") return undefined;
  return new DrError("SITE_UNREACHABLE", `site ${r.site} could not be reached to isolate it: ${r.detail}`, { hint: "cut it off at the network (security group, firewall), then run dr incident preserve" });
}
