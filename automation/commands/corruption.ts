// `dr check corruption` and `dr recover corruption` (runbook §2). The check reads every page of
// every relation of a site and lists what is damaged; the recovery is the corruption plan, run
// by the same runner (journal, lease, resume, dry run, report) as a failover.
import type { Deps } from "./deps";
import { DrError } from "../core/errors";
import { formatMs, table } from "../core/output";
import type { RunRecord } from "../core/run-record";
import { startRun } from "../plans/runner";
import { checkTarget, resolveCheckTarget } from "../corruption/check";
import { corruptionExitCode, type CorruptionReport } from "../corruption/report";
import { lastRepair } from "../corruption/repairs";
import { reportsDir } from "../core/state-dirs";
import { corruptionPlan } from "../plans/corruption";
import type { CorruptionFacts } from "../plans/corruption-steps";
import { finishRun, ownRepoOrOffsite, renderRun, runExitCode, runOptions } from "./recover";
import { engineFor, runnerDepsFor } from "./run-context";
import { exitOf } from "../core/exit-status";

export { corruptionExitCode };

export interface CheckCorruptionOptions {
  /** Site to check (default: the one the service name answers with). */
  site?: string;
  /** Read the stopped data directory with pg_checksums. */
  offline?: boolean;
  /** A data directory on this host (on a database host, with PostgreSQL stopped). */
  dataDir?: string;
  /** bt_index_parent_check with rootdescend (blocks writes per table while it runs). */
  parentCheck?: boolean;
}

export async function checkCorruption(deps: Deps, opts: CheckCorruptionOptions = {}): Promise<CorruptionReport> {
  const engine = await engineFor(deps);
  const site = opts.site ?? (opts.dataDir ? "this host" : ((await engine.activeSite().catch(() => undefined)) ?? "primary"));
  const target = await resolveCheckTarget(engine, deps.config, site, { offline: opts.offline, dataDir: opts.dataDir });
  return deps.out.timed(
    `check ${site} for corruption (${target.mode === "online" ? "amcheck, every page read through the server" : "pg_checksums over the stopped data directory"})`,
    () => checkTarget(target, { parentCheck: opts.parentCheck, repaired: lastRepair(reportsDir(deps.config), site) }),
    (r) => `${r.classification}, ${r.findings.length} finding(s)`,
  );
}

export function renderCorruptionReport(r: CorruptionReport): string {
  const lines: string[] = [];
  if (r.findings.length) {
    lines.push(
      table(
        ["database", "relation", "kind", "what is wrong", "blocks", "severity", "found by"],
        r.findings.map((f) => [f.database ?? "", f.relation + (f.table && f.kind !== "table" ? ` (of ${f.table})` : ""), f.catalog ? `${f.kind}, catalog` : f.kind, f.problem, f.blocks.join(", "), f.severity, f.by]),
      ),
    );
    for (const f of r.findings) lines.push(`  ${f.relation}: ${f.detail}`);
  }
  for (const n of r.notChecked) lines.push(`not checked: ${n.database ? `${n.database}: ` : ""}${n.relation}: ${n.reason}`);
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  for (const i of r.info ?? []) lines.push(`info: ${i}`);
  for (const c of r.checksumFailures) lines.push(`server counters: ${c.count} checksum failure(s) in ${c.database}${c.lastAt ? `, last at ${c.lastAt}` : ""}`);
  const s = r.scope;
  const read = r.mode === "online" ? `${s.tables} tables, ${s.indexes} btree indexes, ${s.sequences} sequences in ${s.databases.join(", ")}` : `${s.files ?? "?"} files, ${s.blocks ?? "?"} blocks (${s.tables} tables, ${s.indexes} indexes, ${s.sequences} sequences named by the copy's catalog)`;
  lines.push(`read: ${read}; data checksums ${s.dataChecksums ? "on" : "OFF"}; ${formatMs(r.durationMs)}`);
  lines.push(`verdict: ${r.classification === "clean" ? (r.complete ? "CLEAN" : "CLEAN AS FAR AS READ") : r.classification === "index-only" ? "INDEX-ONLY CORRUPTION" : "TABLE CORRUPTION"} — ${r.site} (${r.mode})`);
  lines.push(r.advice);
  return lines.join("\n");
}

export interface RecoverCorruptionOptions {
  /** The damaged site (default: the one the service name answers with). */
  site?: string;
  /** Where a restore goes (default: the other of primary/secondary); never the damaged site. */
  to?: string;
  /** Index-only damage: rebuild the damaged indexes (without it, the run only reports the offer). */
  reindex?: boolean;
  dryRun?: boolean;
  yes?: boolean;
  force?: boolean;
  /** Restore to this time instead of the end of WAL (damage that came from a bad write). */
  targetTime?: string;
  /** When the damage was noticed (RPO is measured from it; default: now). */
  outageAt?: string;
}

export async function recoverCorruption(deps: Deps, opts: RecoverCorruptionOptions = {}): Promise<RunRecord> {
  const options = runOptions(opts);
  const rdeps = await runnerDepsFor(deps);
  const source = opts.site ?? (await rdeps.engine.activeSite()) ?? "primary";
  const target = opts.to ?? (source === "secondary" ? "primary" : "secondary");
  if (target === source) {
    throw new DrError("USAGE", `refusing to restore ${source} over itself`, { hint: "a damaged site is fenced and kept for inspection; restore to another site (--to)" });
  }
  // The damage is in one site's files, not the region: the site's own repository, unless it cannot be read.
  const { repo, fallback } = await ownRepoOrOffsite(rdeps.engine);
  const facts: CorruptionFacts = { sourceSite: source, targetSite: target, repo, reindexRequested: opts.reindex === true };
  const record = await startRun(corruptionPlan, rdeps, options, facts as Record<string, unknown>);
  if (fallback) record.notes.push(fallback);
  return finishRun(deps, record, rdeps);
}

export function renderCorruptionRun(r: RunRecord): string {
  const f = r.facts as CorruptionFacts;
  const head: string[] = [];
  if (f.corruption) head.push(renderCorruptionReport(f.corruption), "");
  else if (f.uncheckable) head.push(`${f.sourceSite} could not be checked: ${f.uncheckable}`, "");
  if (f.path) head.push(`path: ${f.path}`);
  return [...head, renderRun(r)].join("\n");
}

/**
 * 0: recovered (objectives met) or nothing was damaged; 1: index-only damage found and left as
 * it is (no --reindex); otherwise as every recovery run (its error's class, objective missed).
 */
export function corruptionRunExitCode(r: RunRecord): number {
  const f = r.facts as CorruptionFacts;
  if (r.status === "succeeded" && f.path === "reindex-offered") return exitOf("warning");
  return runExitCode(r);
}
