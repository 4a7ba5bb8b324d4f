// `dr failover`, `dr drill`, `dr plan show`, `dr resume`: recovery plans run by the runner on
// the configured engine. Each returns the run record; the report is written by the plan's
// last step and rewritten here with the final status.
import type { Deps } from "./deps";
import { formatDuration } from "../config/common";
import { DrError, isErrorCode } from "../core/errors";
import { exitOf } from "../core/exit-status";
import { parseInstant } from "../core/instant";
import { table } from "../core/output";
import type { RunOptions } from "../plans/plan";
import { isPreview, type RunRecord, type RunScenario } from "../core/run-record";
import { resumable, resumeRun, startRun, type RunnerDeps } from "../plans/runner";
import type { Engine } from "../engines/engine";
import { describePlan, planFor, plannedScenarios } from "../plans";
import { choosePath, promoteFailoverPlan, promotes } from "../plans/promote-failover";
import { recordedPair } from "./topology";
import { writeReports } from "../report/store";
import { shareReports } from "../report/shared";
import { reportsDir } from "../core/state-dirs";
import { runnerDepsFor } from "./run-context";

export interface RecoverOptions {
  dryRun?: boolean;
  yes?: boolean;
  force?: boolean;
  fullGate?: boolean;
  targetTime?: string;
  outageAt?: string;
}

/** Validated run options from a command's flags (shared by every recovery command). */
export function runOptions(o: RecoverOptions): RunOptions {
  return {
    dryRun: o.dryRun === true,
    yes: o.yes === true,
    force: o.force === true,
    fullGate: o.fullGate === true,
    targetTime: o.targetTime === undefined ? undefined : parseInstant("--target-time", o.targetTime),
    outageAt: o.outageAt === undefined ? undefined : parseInstant("--outage-at", o.outageAt, { code: "USAGE", notInFuture: "give the time the outage began (or leave it out: now)" }),
  };
}

/**
 * The end of every recovery command's run: a dry run gets its estimated RTO (the plan's step
 * estimates, the restore's from its plan); a real one its reports, and a warning if it failed.
 */
export async function finishRun(deps: Deps, record: RunRecord, rdeps: Pick<RunnerDeps, "journal" | "store">): Promise<RunRecord> {
  if (record.dryRun) {
    const f = record.facts as { restoreEstimateSeconds?: number; estimatedRtoSeconds?: number };
    f.estimatedRtoSeconds = planOfRun(record).steps.reduce((n, s) => n + (s.id === "restore" && f.restoreEstimateSeconds !== undefined ? f.restoreEstimateSeconds : s.estimateSeconds ?? 0), 0);
    return record;
  }
  const paths = writeReports(record, reportsDir(deps.config));
  (record.facts as { reports?: unknown }).reports = paths;
  // Beside the journal in the shared store, for the other operators' `dr report list`; not tried
  // when that store has just failed to take the run's final journal (it would cost another wait).
  if (rdeps.journal.copyFailing) deps.out.warn(`the report was not copied to the shared store ${rdeps.store.where}: it did not take the run's journal either`);
  else
    await shareReports(rdeps.store, deps.config.environment, record.runId, paths).catch((e: unknown) =>
      deps.out.warn(`the report was not copied to the shared store: ${(e as Error).message}`),
    );
  if (record.status === "failed") deps.out.warn(`run ${record.runId} failed: ${record.error?.message}`);
  if (record.status === "cancelled") deps.out.warn(`run ${record.runId} cancelled: ${record.error?.message}`);
  return record;
}

/**
 * The site's own repository (repo1), or the offsite one (repo2) when repo1 cannot be read; the
 * fallback says why, for the run's notes.
 */
export async function ownRepoOrOffsite(engine: Engine): Promise<{ repo: 1 | 2; fallback?: string }> {
  try {
    await engine.catalog(1);
    return { repo: 1 };
  } catch (e) {
    return { repo: 2, fallback: `repo1 unreadable (${(e as Error).message.split("\n")[0]}): restoring from the offsite repository` };
  }
}

export async function failover(deps: Deps, opts: RecoverOptions & { scenario: "datacenter" | "hardware"; fromBackup?: boolean }): Promise<RunRecord> {
  const rdeps = await runnerDepsFor(deps);
  const options = runOptions(opts);
  // Source and target from the recorded topology, never from the DNS answer.
  const pair = await recordedPair(deps.config, rdeps.engine);
  const choice = await choosePath(rdeps.engine, deps.config, pair, opts);
  const facts: Record<string, unknown> = { sourceSite: pair.source, path: choice.path, pathReason: choice.why };
  if (choice.path === "promote") {
    const record = await startRun(promoteFailoverPlan(opts.scenario), rdeps, options, { ...facts, targetSite: pair.target, repo: 2 });
    return finishRun(deps, record, rdeps);
  }
  let repo: 1 | 2 = opts.scenario === "datacenter" ? 2 : 1;
  if (opts.scenario === "datacenter") {
    facts.targetSite = pair.target;
  } else {
    // Hardware: a replacement host in the same region, from the site's own repository, or
    // the offsite one when that cannot be read.
    facts.targetSite = `replacement-${Date.now().toString(36)}`;
    const own = await ownRepoOrOffsite(rdeps.engine);
    repo = own.repo;
    if (own.fallback) facts.repoFallback = own.fallback;
  }
  facts.repo = repo;
  const record = await startRun(planFor(opts.scenario), rdeps, options, facts);
  record.notes.push(`restore path: ${choice.why}`);
  if (facts.repoFallback) record.notes.push(String(facts.repoFallback));
  return finishRun(deps, record, rdeps);
}

/** The plan a run follows: a failover that chose promotion continues on that plan. */
function planOfRun(r: RunRecord) {
  return promotes(r.scenario, r.facts) ? promoteFailoverPlan(r.scenario) : planFor(r.scenario);
}

export async function drill(deps: Deps, opts: RecoverOptions = {}): Promise<RunRecord> {
  const rdeps = await runnerDepsFor(deps);
  const source = (await rdeps.engine.activeSite()) ?? "primary";
  const drillId = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "").toLowerCase();
  // The drill never touches DNS or the primary's data; it runs unattended (monthly timer).
  const record = await startRun(planFor("drill"), rdeps, { ...runOptions(opts), yes: true }, { sourceSite: source, drillId, repo: 2 });
  return finishRun(deps, record, rdeps);
}

export async function resume(deps: Deps, runId: string, opts: { yes?: boolean; force?: boolean } = {}, engine?: Engine): Promise<RunRecord> {
  const rdeps = await runnerDepsFor(deps, engine);
  const record = await resumeRun(
    runId,
    (r) => {
      const o = r.options as unknown as RunOptions;
      if (opts.yes) o.yes = true;
      if (opts.force) o.force = true;
      return planOfRun(r);
    },
    rdeps,
  );
  return finishRun(deps, record, rdeps);
}

export async function planShow(_deps: Deps, scenario: string): Promise<ReturnType<typeof describePlan>> {
  if (!plannedScenarios.includes(scenario as RunScenario)) {
    throw new DrError("USAGE", `no plan for scenario ${scenario}`, { hint: `scenarios: ${plannedScenarios.join(", ")}` });
  }
  return describePlan(planFor(scenario as RunScenario));
}

export function renderPlan(p: ReturnType<typeof describePlan>): string {
  const total = p.steps.reduce((n, s) => n + (s.estimateSeconds ?? 0), 0);
  return [
    `${p.title} (runbook ${p.runbook})`,
    table(
      ["#", "step", "kind", "estimate"],
      p.steps.map((s, i) => [i + 1, s.name, [s.destructive && "destructive", s.gate && "gate", s.always && "always runs"].filter(Boolean).join(", "), s.estimateSeconds ? formatDuration(s.estimateSeconds) : ""]),
    ),
    `estimated RTO ≈ ${formatDuration(total)} at lab scale (restore time grows with the database; see \`dr bench\`)`,
  ].join("\n");
}

/**
 * A drill that succeeded only by passing over damaged sets: the newest backup would not have
 * restored, which monitoring must see (the drill is the monthly proof that backups restore).
 * The reason, or undefined when the drill restored what it tried first.
 */
export function drillFellBack(r: RunRecord): string | undefined {
  const excluded = (r.facts as { excludedSets?: string[] }).excludedSets ?? [];
  if (r.scenario !== "drill" || r.dryRun || r.status !== "succeeded" || excluded.length === 0) return undefined;
  const restored = (r.facts as { restore?: { set: string } }).restore?.set;
  const why = r.notes.filter((n) => excluded.some((x) => n.includes(x))).map((n) => n.replace(/; (falling back|restoring the previous set).*$/, ""));
  return `drill ${r.runId} FELL BACK: ${why.join("; ") || `set${excluded.length > 1 ? "s" : ""} ${excluded.join(", ")} failed verification`}; restored ${restored ?? "an older set"} instead`;
}

/** Exit status of a drill that had to fall back (see drillFellBack). */
export const FELL_BACK_EXIT = exitOf("fellBack");

/** "steps: 7 done, 1 skipped, 1 failed (verify the restored database (the gate))". */
function stepCounts(r: RunRecord): string {
  const by = new Map<string, string[]>();
  for (const s of r.steps) {
    const status = r.dryRun ? (s.status === "failed" ? "with a problem" : "checked") : s.forced ? "FORCED" : s.status;
    by.set(status, [...(by.get(status) ?? []), s.name]);
  }
  const named = new Set(["failed", "FORCED", "with a problem", "running"]);
  return `steps: ${[...by].map(([status, names]) => `${names.length} ${status}${named.has(status) ? ` (${names.join("; ")})` : ""}`).join(", ")}`;
}

function dryRunProblems(r: RunRecord): string {
  const n = r.steps.filter((s) => s.status === "failed").length;
  return n === 0 ? "no problem found" : `${n} problem${n === 1 ? "" : "s"} found`;
}

export function renderRun(r: RunRecord): string {
  const { rto, rpo } = r.measurements;
  const m = (x: typeof rto) => (x.achieved === undefined ? "not measured" : `${formatDuration(x.achieved)} vs objective ${formatDuration(x.objective)} — ${x.pass ? "PASS" : "FAIL"}`);
  const reports = (r.facts as { reports?: { html: string; markdown: string } }).reports;
  const fellBack = drillFellBack(r);
  // Each step was printed with its duration and detail as it ended: the summary counts them
  // instead of repeating them (`dr report show` has the table).
  const lines = [...(fellBack ? [fellBack] : []), stepCounts(r)];
  if (r.dryRun) {
    const est = (r.facts as { estimatedRtoSeconds?: number }).estimatedRtoSeconds ?? 0;
    lines.push(...r.notes.map((n) => `note: ${n}`));
    lines.push(
      `dry run of ${r.scenario}: ${r.steps.length} steps checked, ${dryRunProblems(r)}, nothing changed`,
      `estimated RTO ≈ ${formatDuration(est)} (objective ${formatDuration(r.measurements.rto.objective)})`,
    );
    if (r.error) lines.push(`error[${r.error.code}]: ${r.error.message}`, `hint: ${r.error.hint ?? ""}`);
    return lines.join("\n");
  }
  lines.push(...r.notes.map((n) => `note: ${n}`));
  const preview = isPreview(r) && r.status === "succeeded";
  if (preview) lines.push("RTO/RPO not judged: a preview recovers nothing (rerun with --apply)");
  else lines.push(`RTO ${m(rto)}`, `RPO ${m(rpo)}`);
  if (r.forced) lines.push("FORCED: a failed verification gate was overridden (recorded in the report)");
  lines.push(`${r.scenario} run ${r.runId}: ${preview ? "PREVIEW" : r.status.toUpperCase()}${reports ? ` — report ${reports.html}` : ""}`);
  // An interruption was said on stderr as it ended (`interrupted: …` and its hint): not again.
  if (r.status === "interrupted") return lines.join("\n");
  if (r.error) lines.push(`error[${r.error.code}]: ${r.error.message}`, `hint: ${r.error.hint ?? `dr resume ${r.runId}`}`);
  // Only when `dr resume` would take it up: a failed drill destroyed its site.
  if (resumable(r, planOfRun(r))) lines.push(`resume with: dr resume ${r.runId}`);
  return lines.join("\n");
}

/** A run that did not succeed, as the error that stopped it (--json prints it in the failure envelope). */
export function runFailure(r: RunRecord): DrError | undefined {
  if (r.status === "succeeded") return undefined;
  const code = r.error && isErrorCode(r.error.code) ? r.error.code : r.status === "cancelled" ? "NOT_CONFIRMED" : r.status === "interrupted" ? "INTERRUPTED" : "INTERNAL";
  return new DrError(code, r.error?.message ?? `${r.scenario} run ${r.runId} ${r.status}`, { hint: r.error?.hint });
}

/**
 * Exit status: a run that did not succeed exits with its error's class (a dry run with its first
 * problem's; declined: cancelled; interrupted); one that did, 0 only when it met its objectives
 * (and a drill restored its first choice).
 */
export function runExitCode(r: RunRecord): number {
  const failed = runFailure(r);
  if (failed) return failed.exitCode;
  if (r.dryRun) return 0;
  const { rto, rpo } = r.measurements;
  if (rto.pass === false || rpo.pass === false) return exitOf("objectiveMissed");
  return drillFellBack(r) ? FELL_BACK_EXIT : 0;
}
