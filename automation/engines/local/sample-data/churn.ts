// Deterministic churn: what a day of application traffic does to the sample database, scaled
// by `fraction` (the benchmark uses 0.01 before an incremental backup). One transaction, every
// change audited with actor `churn`:
//   1. update ~fraction of households, clients, holdings, plans and goals;
//   2. post ~fraction × (ledger size) new ledger entries on ~fraction of the accounts, adding
//      them to those accounts' balances;
//   3. delete a few households (fraction × households / 20, at least one) the application's
//      way, app.delete_household, which removes their dependants first.
// Which rows change is a pure function of the round number (kept in app.sample_meta), so the
// same database churned the same number of times has the same business content.
import type { ClientBase } from "pg";
import { DrError } from "../../../core/errors";
import { queryFailed } from "../../../postgres/client";
import { hx, ledgerAmountKindDescription, referenceOf } from "./generate";

export interface ChurnSummary {
  /** 1 for the first churn of a database, 2 for the next, … */
  round: number;
  fraction: number;
  /** Rows updated per table. */
  updated: Record<string, number>;
  ledgerInserted: number;
  householdsDeleted: number;
  /** Rows removed by app.delete_household (all tables). */
  rowsDeleted: number;
  durationMs: number;
}

/** Applies one deterministic round of churn touching ~`fraction` (0 < fraction ≤ 1) of the rows. */
export async function applyChurn(client: ClientBase, fraction: number, opts: { actor?: string } = {}): Promise<ChurnSummary> {
  if (!(fraction > 0 && fraction <= 1)) {
    throw new DrError("USAGE", `churn fraction must be in (0, 1] (got ${fraction})`, { hint: "use e.g. 0.01 for 1 %" });
  }
  const started = Date.now();
  const limit = Math.max(1, Math.round(fraction * 2 ** 24));
  await client.query("begin");
  try {
    const meta = await client.query<{ value: string }>(
      `update app.sample_meta set value = (value::int + 1)::text where key = 'churn_rounds' returning value`,
    );
    if (meta.rowCount !== 1) throw new DrError("QUERY_FAILED", "app.sample_meta has no churn_rounds: not a generated sample database", { hint: "create it with createSampleDatabase (dr lab up)" });
    const r = Number(meta.rows[0].value);
    await client.query(`select set_config('app.actor', $1, true)`, [opts.actor ?? "churn"]);
    await client.query(`set local timezone = 'UTC'`);
    /** True for ~fraction of the rows of `table`, different rows each round. */
    const chosen = (table: string, pk: string) => `${hx(`md5('churn:${r}:${table}:' || ${pk})`, 0)} < ${limit}`;
    const m = (table: string, pk: string) => `md5('churn:${r}:${table}:v:' || ${pk})`;

    const updated: Record<string, number> = {};
    const updates: [string, string][] = [
      ["households", `update app.households set risk_profile = (array['conservative','moderately_conservative','balanced','growth','aggressive'])[1 + ${hx(m("households", "household_id"), 0)} % 5],
        annual_income = round(annual_income * (95 + ${hx(m("households", "household_id"), 1)} % 11) / 100, 2)
        where ${chosen("households", "household_id")}`],
      ["clients", `update app.clients set email = lower(first_name) || '.' || lower(last_name) || '.' || substr(${m("clients", "client_id")}, 1, 6) || '@example.com',
        phone = '+1-' || (200 + ${hx(m("clients", "client_id"), 1)} % 800) || '-' || lpad((${hx(m("clients", "client_id"), 2)} % 10000000)::text, 7, '0')
        where ${chosen("clients", "client_id")}`],
      ["holdings", `update app.holdings set market_value = round(market_value * (90 + ${hx(m("holdings", "holding_id"), 0)} % 21) / 100, 2),
        as_of = date '2025-01-01' + ${r} where ${chosen("holdings", "holding_id")}`],
      ["plans", `update app.plans set status = (array['draft','active','archived'])[1 + ${hx(m("plans", "plan_id"), 0)} % 3],
        assumptions = assumptions || jsonb_build_object('revision', ${r}) where ${chosen("plans", "plan_id")}`],
      ["goals", `update app.goals set current_amount = current_amount + (${hx(m("goals", "goal_id"), 0)} % 500000)::numeric / 100,
        priority = 1 + ${hx(m("goals", "goal_id"), 1)} % 5 where ${chosen("goals", "goal_id")}`],
    ];
    for (const [table, sql] of updates) updated[table] = (await client.query(sql)).rowCount ?? 0;

    // new ledger entries on ~fraction of the accounts (so ~fraction of the accounts change too);
    // each account's balance moves by the sum of its new entries
    const lm = `md5('churn:${r}:entry:' || j)`;
    const [amount, kind, description] = ledgerAmountKindDescription("e.lm");
    const ledger = await client.query<{ inserted: string; accounts: string }>(`
      with ids as (
        select coalesce(array_agg(account_id order by account_id) filter (where ${chosen("accounts", "account_id")}),
                        array_agg(account_id order by account_id)) as ids
        from app.accounts),
      base as (select coalesce(max(entry_id), 0) as m from app.ledger),
      n as (select ceil(count(*) * ${fraction})::int as n from app.ledger),
      e as (select j, ${lm} as lm from n, generate_series(1, n.n) j offset 0),
      led as (
        insert into app.ledger (entry_id, account_id, posted_at, amount, kind, description, reference)
        select base.m + e.j, ids.ids[1 + ${hx("e.lm", 0)} % cardinality(ids.ids)],
          timestamptz '2025-01-01 00:00:00+00' + ${r} * interval '1 day' + (${hx("e.lm", 1)} % 86400) * interval '1 second',
          ${amount}, ${kind}, ${description}, ${referenceOf(`'ref:churn:${r}:' || e.j`)}
        from e, ids, base
        where cardinality(ids.ids) > 0
        returning account_id, amount
      ),
      sums as (select account_id, sum(amount) as total from led group by account_id),
      upd as (update app.accounts a set balance = a.balance + s.total from sums s where a.account_id = s.account_id returning 1)
      select (select count(*) from led) as inserted, (select count(*) from upd) as accounts`);
    updated.accounts = Number(ledger.rows[0].accounts);
    await client.query(`select setval(pg_get_serial_sequence('app.ledger', 'entry_id'), greatest(1, (select max(entry_id) from app.ledger)))`);

    // a few households leave, through the application's path
    const deleted = await client.query<{ households: string; rows: string }>(`
      with doomed as (
        select household_id from app.households
        order by md5('churn:${r}:delete:' || household_id) collate "C"
        limit greatest(1, round((select count(*) from app.households) * ${fraction} / 20))
      ),
      gone as (select app.delete_household(household_id) as n from doomed)
      select count(*) as households, coalesce(sum(n), 0) as rows from gone`);
    await client.query("commit");
    return {
      round: r,
      fraction,
      updated,
      ledgerInserted: Number(ledger.rows[0].inserted),
      householdsDeleted: Number(deleted.rows[0].households),
      rowsDeleted: Number(deleted.rows[0].rows),
      durationMs: Date.now() - started,
    };
  } catch (e) {
    await client.query("rollback").catch(() => undefined);
    throw queryFailed(`applying churn (${fraction}) to the sample database`, e);
  }
}
