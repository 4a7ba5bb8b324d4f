// `dr recover-table`: rows deleted by mistake, recovered from a point-in-time copy (runbook §6).
// Checks the input against production first (the table, the recovery point, the repository's
// window), so a typo or a deletion the audit log does not show stops before a run starts; then
// runs the deletion plan. Without --apply it is a preview: the diff, nothing written.
import type { Deps } from "./deps";
import { formatDuration } from "../config/common";
import { DrError } from "../core/errors";
import { parseInstant } from "../core/instant";
import { table } from "../core/output";
import type { RunOptions } from "../plans/plan";
import type { RunRecord } from "../core/run-record";
import { startRun } from "../plans/runner";
import { deletionPlan } from "../plans/deletion";
import type { DeletionRequest } from "../deletion/request";
import { locateForRun, type DeletionFacts } from "../plans/deletion-steps";
import { finishRun, renderRun } from "./recover";
import { runnerDepsFor } from "./run-context";
import { findKeptCopy } from "../plans/kept-copy";
import { journalFor } from "../core/state-dirs";

export interface RecoverTableOptions {
  /** schema.table */
  table: string;
  /** The rows were fine at this time (ISO 8601 with zone): restore to it. */
  before?: string;
  /** Find the moment in the audit log (the default when --before is not given). */
  audit?: boolean;
  /** Search the audit log from this time (default: now − recovery.audit.lookback). */
  since?: string;
  /** The DELETE of these keys (comma-separated or a list), not just the earliest one. */
  keys?: string | string[];
  /** Write the missing rows back (default: preview only). */
  apply?: boolean;
  /** Also revert rows changed since the recovery point (and search UPDATEs in the audit log). */
  revertChanged?: boolean;
  /** Also write back missing rows of tables referencing the table (foreign keys). */
  includeDependents?: boolean;
  /** Keep the restored copy afterwards, so that the --apply after a preview reuses it instead of restoring again. */
  keepCopy?: boolean;
  /** Repository the copy is restored from (default: 1, the site's own; 2 on the pulumi engine, see below). */
  repo?: 1 | 2;
  yes?: boolean;
  dryRun?: boolean;
}

/** Validates the options (no I/O). */
export function deletionRequest(opts: RecoverTableOptions): DeletionRequest {
  if (!opts.table) throw new DrError("USAGE", "--table is required", { hint: "e.g. dr recover-table --table app.households" });
  if (opts.before !== undefined && opts.audit) throw new DrError("USAGE", "give either --before <time> or --audit, not both", { hint: "--before: you know when the rows were still there; --audit: find it in the audit log" });
  const keys = (Array.isArray(opts.keys) ? opts.keys : opts.keys?.split(","))?.map((k) => k.trim()).filter(Boolean);
  if (opts.before !== undefined && (opts.since !== undefined || keys?.length)) {
    throw new DrError("USAGE", "--since and --keys narrow the audit log search: they do not go with --before", { hint: "drop --before to search the audit log" });
  }
  return {
    table: opts.table.trim(),
    before: opts.before === undefined ? undefined : parseInstant("--before", opts.before),
    since: opts.since === undefined ? undefined : parseInstant("--since", opts.since),
    keys: keys?.length ? keys : undefined,
    apply: opts.apply === true,
    revertChanged: opts.revertChanged === true,
    includeDependents: opts.includeDependents === true,
    keepCopy: opts.keepCopy === true,
  };
}

export async function recoverTable(deps: Deps, opts: RecoverTableOptions): Promise<RunRecord> {
  const request = deletionRequest(opts);
  const rdeps = await runnerDepsFor(deps);
  // The site's own repository. On AWS the copy is a drill stack in the standby region, whose
  // host reads only that region's bucket: the offsite repository (repo2).
  const repo = opts.repo ?? (rdeps.engine.name === "pulumi" ? 2 : 1);
  const production = (await rdeps.engine.activeSite()) ?? "primary";
  // Pre-flight, read-only: unknown table, no audit event, a point in the future or before the
  // repository's window all stop here, before a run (and a copy) exists.
  const { point } = await locateForRun(rdeps.engine, deps.config, production, repo, request);
  const scratchId = `recover-${new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "").toLowerCase()}`;
  const options: RunOptions = {
    dryRun: opts.dryRun === true,
    // Without --apply nothing in production changes, so there is nothing to confirm.
    yes: request.apply ? opts.yes === true : true,
    force: false,
    targetTime: point.point,
    outageAt: point.lostAt,
  };
  const facts: DeletionFacts = { sourceSite: production, repo, request, located: point, scratchId };
  // An --apply after a preview run with --keep-copy reuses its copy while it is still exact.
  const kept = request.apply && !options.dryRun ? await findKeptCopy(rdeps.engine, journalFor(deps.config), request, point) : undefined;
  if (kept) Object.assign(facts, kept.facts);
  const record = await startRun(deletionPlan, rdeps, options, facts as Record<string, unknown>, kept?.note ? [kept.note] : []);
  return finishRun(deps, record, rdeps);
}

/** The diff first (what the operator came for), then the run as every recovery shows it. */
export function renderRecoverTable(r: RunRecord): string {
  const f = r.facts as DeletionFacts;
  const lines: string[] = [];
  const p = f.located;
  if (p) {
    const e = p.event;
    lines.push(
      e
        ? `${f.request?.table}: ${e.action} by ${e.actor ?? "?"}${e.xid ? ` (transaction ${e.xid})` : ""} at ${e.firstAt}${e.touched.length ? ` — ${e.touched.map((t) => `${t.action} ${t.rows} ${t.table}`).join(", ")}` : ""}`
        : `${f.request?.table}: restored as of ${p.point} (--before)`,
      `recovery point ${p.point}: ${p.basis}`,
    );
  }
  const d = f.diff;
  if (d) {
    const keys = (xs: string[], n: number) => (n === 0 ? "" : `${xs.join(", ")}${n > xs.length ? `, … (${n - xs.length} more)` : ""}`);
    lines.push(
      table(
        ["", "rows", "keys (sample)"],
        [
          [`missing in production (in the copy at ${p?.point ?? "the point"})`, d.missing, keys(d.sample.missing, d.missing)],
          ["changed since", d.changed, keys(d.sample.changed, d.changed)],
          ["added since (kept)", d.added, keys(d.sample.added, d.added)],
          ...d.dependents.map((x) => [`dependent ${x.table} missing`, x.missing, keys(x.sample, x.missing)]),
        ],
      ),
      `${d.table}: copy ${d.copyRows} rows, production ${d.productionRows} rows at the diff (${d.buckets.differing} of ${d.buckets.total} key buckets differed)`,
    );
    if (f.versusRunbook) lines.push(f.versusRunbook);
    for (const b of d.blocked) lines.push(`blocked: ${b.table} needs ${b.parents} row(s) of ${b.parent} that production lacks (${b.constraint}; e.g. ${b.sample.join(", ")})`);
  }
  const a = f.applied;
  if (a) {
    lines.push(`written back in one transaction, committed ${a.committedAt} (${formatDuration(a.durationMs / 1000)}): ${a.tables.map((t) => `${t.table} +${t.inserted}${t.reverted ? ` ~${t.reverted}` : ""}`).join(", ")}; rows of ${f.request?.table} still lost: ${a.rowsLost}`);
  } else if (d && !r.dryRun && r.status === "succeeded") {
    lines.push("preview only: nothing in production was changed; rerun with --apply (and --include-dependents for the dependent rows) to write them back");
  }
  lines.push(renderRun(r));
  return lines.join("\n");
}
