// Writing the recovered rows back into production: one transaction, parents before children,
// nothing but what the diff found. A row that came back in the meantime (someone re-created
// it) is left alone, and a changed row is reverted only if it is still exactly as the diff saw
// it: the apply never overwrites a change it has not shown. The application's audit triggers
// fire as for any write, with the actor set to the recovery run, so the audit trail says who
// put the rows back.
//
// The runbook's `psql financial_planning < recovered_data.sql` re-imported the whole dumped
// table over live data: duplicate keys on every row still there, the deleted ones mixed with
// stale copies of the rest, no foreign key order, and no single transaction.
import type { ClientBase } from "pg";
import { DrError } from "../core/errors";
import { errorText, quoteIdent } from "../postgres/client";
import { keyExpr, pinTextSettings, rowHashExpr, type TableInfo } from "./table";

export interface ApplyTable {
  table: TableInfo;
  /** Columns written (present in both copies, not generated). */
  columns: string[];
  /** Missing rows to insert (jsonb text from the copy). */
  insert: string[];
  /** Changed rows to revert: the copy's rows, with their keys and production's hash at diff time. */
  revert?: { rows: string[]; keys: string[]; hashes: string[] };
}

export interface ApplyOutcome {
  table: string;
  inserted: number;
  /** Missing at diff time, present at apply time: left as they are. */
  alreadyBack: number;
  reverted: number;
  /** Changed again after the diff: not reverted. */
  changedSince: number;
}

export interface ApplyResult {
  tables: ApplyOutcome[];
  committedAt: string;
  durationMs: number;
}

const BATCH = 5000;

function batches<T>(xs: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += BATCH) out.push(xs.slice(i, i + BATCH));
  return out;
}

/** Applies `plan` (in order) in one transaction; rolls back everything on any error. */
export async function applyRecovery(c: ClientBase, plan: ApplyTable[], opts: { actorSetting?: string | null; actor: string }): Promise<ApplyResult> {
  const started = Date.now();
  const outcomes: ApplyOutcome[] = [];
  await c.query("begin");
  try {
    await c.query("set local lock_timeout = '10s'");
    // The same text settings as the diff, so a changed row's hash means the same thing.
    await pinTextSettings(c, true);
    if (opts.actorSetting) await c.query("select set_config($1, $2, true)", [opts.actorSetting, opts.actor]);
    for (const step of plan) {
      const t = step.table;
      const cols = step.columns.map(quoteIdent).join(", ");
      const pkMatch = t.pk.map((p) => `x.${quoteIdent(p)} = r.${quoteIdent(p)}`).join(" and ");
      const overriding = t.columns.some((c) => c.identityAlways && step.columns.includes(c.name)) ? " overriding system value" : "";
      const o: ApplyOutcome = { table: t.display, inserted: 0, alreadyBack: 0, reverted: 0, changedSince: 0 };
      for (const rows of batches(step.insert)) {
        const r = await c.query(
          `insert into ${t.sql} (${cols})${overriding} select ${step.columns.map((x) => `r.${quoteIdent(x)}`).join(", ")}
             from jsonb_populate_recordset(null::${t.sql}, $1::jsonb) r where not exists (select 1 from ${t.sql} x where ${pkMatch})`,
          [`[${rows.join(",")}]`],
        );
        o.inserted += r.rowCount ?? 0;
        o.alreadyBack += rows.length - (r.rowCount ?? 0);
      }
      if (step.revert && step.revert.rows.length) {
        const set = step.columns.filter((x) => !t.pk.includes(x)).map((x) => `${quoteIdent(x)} = r.${quoteIdent(x)}`).join(", ");
        const pkJoin = t.pk.map((p) => `t.${quoteIdent(p)} = r.${quoteIdent(p)}`).join(" and ");
        for (let i = 0; i < step.revert.rows.length; i += BATCH) {
          const rows = step.revert.rows.slice(i, i + BATCH);
          const r = await c.query(
            `update ${t.sql} as t set ${set}
               from jsonb_populate_recordset(null::${t.sql}, $1::jsonb) r, unnest($2::text[], $3::text[]) as e(k, h)
              where ${pkJoin} and ${keyExpr(t.pk, "r")} = e.k and ${rowHashExpr(step.columns, "t")} = e.h`,
            [`[${rows.join(",")}]`, step.revert.keys.slice(i, i + BATCH), step.revert.hashes.slice(i, i + BATCH)],
          );
          o.reverted += r.rowCount ?? 0;
          o.changedSince += rows.length - (r.rowCount ?? 0);
        }
      }
      outcomes.push(o);
    }
    await c.query("commit");
  } catch (e) {
    await c.query("rollback").catch(() => undefined);
    throw applyError(e);
  }
  const at = (await c.query<{ at: Date }>("select clock_timestamp() as at")).rows[0].at;
  return { tables: outcomes, committedAt: at.toISOString(), durationMs: Date.now() - started };
}

function applyError(e: unknown): DrError {
  if (e instanceof DrError) return e;
  const err = e as { code?: string; constraint?: string; table?: string; detail?: string };
  const what = `${errorText(e)}${err.detail ? ` (${err.detail})` : ""}`;
  if (err.code === "23505") {
    return new DrError("QUERY_FAILED", `while writing the recovered rows back: ${what}; nothing was written (rolled back)`, {
      hint: "a row written since the deletion holds the same unique value as a recovered one: resolve it in production, then run again",
      cause: e,
    });
  }
  if (err.code === "23503") {
    return new DrError("QUERY_FAILED", `while writing the recovered rows back: ${what}; nothing was written (rolled back)`, {
      hint: "a recovered row's parent is gone too: add --include-dependents, or recover the parent table first",
      cause: e,
    });
  }
  if (err.code === "55P03") {
    return new DrError("QUERY_FAILED", `while writing the recovered rows back: ${what}; nothing was written (rolled back)`, {
      hint: "another session holds locks on the table; run again when it is done (`dr resume` continues)",
      cause: e,
    });
  }
  return new DrError("QUERY_FAILED", `while writing the recovered rows back: ${what}; nothing was written (rolled back)`, { cause: e, hint: "fix the cause and run again; production is as it was" });
}
