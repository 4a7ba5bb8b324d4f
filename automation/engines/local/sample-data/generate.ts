// Deterministic generator of the sample financial-planning database (schema `app`).
//
// Every value is a pure function of row ids: attributes come from md5/sha256 of a text key, so
// the same scale always produces the same content (no random(), no now()), and the hashes make
// the values poorly compressible, like real identifiers, references and hashed tax ids.
// Ids are sparse and derived from the parent's id (client = household·4 + k, account =
// household·8 + k, entry = account·64 + n, …) so that any statement can recompute a child's
// attributes without reading other tables. The load runs server-side, `INSERT … SELECT
// generate_series`, one batch of households at a time, in one transaction; indexes, foreign
// keys and audit triggers are added after the load, then every table is vacuumed, frozen and
// analysed (so that reads after a backup do not rewrite pages to set hint bits).
//
// Measured (PostgreSQL 15, 2 CPUs, pg_database_size after the load, 1 600 households/scale):
//   scale 1 → 55.6 MB in 2.4 s · scale 4 → 196 MB in 9.8 s · scale 20 → 940 MB in 46 s
// (about 47 MB and 2.3 s per unit of scale on top of an empty database's 7.5 MB).
import type { ClientBase } from "pg";
import { DrError } from "../../../core/errors";
import { quoteLiteral } from "../../../postgres/client";
import { SAMPLE_SCHEMA, afterLoadDdl, businessTables, creditKinds, debitKinds, sampleTables, tablesDdl } from "./schema";

/** Bumped whenever the generated content changes; stored in app.sample_meta. */
export const GENERATOR_VERSION = "1";

/** Households per unit of scale: scale 1 ≈ 50 MB, 20 ≈ 1 GB, 200 ≈ 10 GB. */
export const HOUSEHOLDS_PER_SCALE = 1600;
/** Households per INSERT batch (one progress step each). */
const BATCH_HOUSEHOLDS = 2000;

export interface SampleOptions {
  /** Size factor: 1 ≈ 50 MB, 20 ≈ 1 GB, 200 ≈ 10 GB; fractional for tiny test databases (≥ 0.001). */
  scale: number;
  /** Called after each step with the steps done, the total and what was just done. */
  onProgress?: (done: number, total: number, label: string) => void;
  /** Drop an existing `app` schema first instead of refusing (default false). */
  replace?: boolean;
}

export interface SampleSummary {
  schema: string;
  scale: number;
  households: number;
  /** Rows per table after the load. */
  rows: Record<string, number>;
  /** pg_database_size of the database after the load and vacuum. */
  databaseBytes: number;
  durationMs: number;
}

/** The number of households generated at `scale` (at least one). */
export function households(scale: number): number {
  return Math.max(1, Math.round(HOUSEHOLDS_PER_SCALE * scale));
}

// ---- SQL expression helpers --------------------------------------------------------------

/** The i-th 24-bit unsigned integer (0 ≤ i ≤ 4) of a 32-hex-digit md5 text `m`. */
export const hx = (m: string, i: number) => `(('x' || substr(${m}, ${1 + 6 * i}, 6))::bit(24)::int)`;
/** An element of a literal text array chosen by a non-negative integer expression. */
const pick = (values: readonly string[], n: string) => `(array[${values.map(quoteLiteral).join(",")}])[1 + (${n}) % ${values.length}]`;
/** Poorly compressible text: base64 of a sha256 of the key (44 characters). */
const b64 = (key: string) => `encode(sha256(convert_to(${key}, 'UTF8')), 'base64')`;

const surnames = "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster".split(" ");
const firstNames = "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Dorothy George Melissa Timothy Deborah Ronald Stephanie Edward Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia Jacob Kathleen Gary Amy Nicholas Angela Eric Shirley Jonathan Anna Stephen Brenda Larry Pamela Justin Emma Scott Nicole Brandon Helen Benjamin Samantha Samuel Katherine Gregory Christine Alexander Debra Frank Rachel Patrick Carolyn Raymond Janet Jack Catherine Dennis Maria Jerry Heather".split(" ");
const regions = ["northeast", "southeast", "midwest", "southwest", "west", "pacific", "international"];
const riskProfiles = ["conservative", "moderately_conservative", "balanced", "growth", "aggressive"];
const domains = ["example.com", "example.org", "example.net", "mail.example", "inbox.example"];
const accountTypes = ["checking", "savings", "brokerage", "ira", "roth_ira", "401k", "credit_card", "hsa"];
/** Account types that hold securities (indexes into accountTypes: 2..5 and 7). */
const investmentTypeIndexes = [2, 3, 4, 5, 7];
const institutions = ["First National Bank", "Harbor Trust", "Summit Brokerage", "Pioneer Savings", "Granite Investments", "Lakeside Credit Union", "Meridian Securities", "Oak Street Bank", "Northwind Capital", "Bluewater Financial", "Keystone Federal", "Evergreen Wealth"];
const symbols = "AAPL MSFT AMZN GOOGL META NVDA BRK.B JPM JNJ V PG UNH HD MA DIS BAC XOM PFE KO PEP CSCO ABT CVX MRK WMT INTC T VZ ORCL CRM NKE MCD COST TXN HON IBM QCOM AMGN SBUX GS CAT MMM BA GE LMT BND VTI VOO VXUS AGG SCHD IVV SPY QQQ TLT IEF SHY GLD VNQ VEA".split(" ");
const counterparties = ["payroll", "grocery", "utilities", "mortgage", "insurance", "brokerage sweep", "tuition", "pharmacy", "airline", "restaurant", "online retail", "fuel", "charity", "tax authority", "rent", "telecom"];
const planNames = ["Retirement", "Education", "Estate", "Home purchase", "Comprehensive", "Tax strategy"];
const planStatuses = ["draft", "active", "active", "active", "archived"];
const goalKinds = ["retirement", "education", "home", "travel", "emergency_fund", "legacy", "vehicle"];

// Per-household hashes: m = md5('household:'||h), m2 = md5('household-2:'||h).
const M = (h: string) => `md5('household:' || ${h})`;
const M2 = (h: string) => `md5('household-2:' || ${h})`;
/** Number of clients (1..3), accounts (2..6) and plans (1..2) of household `h` given its m2. */
const nClients = (m2: string) => `(1 + ${hx(m2, 0)} % 3)`;
const nAccounts = (m2: string) => `(2 + ${hx(m2, 1)} % 5)`;
const nPlans = (m2: string) => `(1 + ${hx(m2, 2)} % 2)`;
/** Ledger entries (4..59) and holdings (2..11, investment accounts only) of an account given its md5. */
const nEntries = (am: string) => `(4 + (${hx(am, 0)} / 8) % 56)`;
const accountTypeIndex = (am: string) => `(${hx(am, 0)} % 8)`;
const nHoldings = (am: string) => `(case when ${accountTypeIndex(am)} in (${investmentTypeIndexes.join(",")}) then 2 + (${hx(am, 3)} / 20) % 10 else 0 end)`;
const nGoals = (pm: string) => `(1 + ${hx(pm, 0)} % 4)`;

/** Amount, kind and description of a ledger entry whose md5 is `lm` (60 % credits, never zero). */
export function ledgerAmountKindDescription(lm: string): [string, string, string] {
  const credit = `(${hx(lm, 1)} % 10 < 6)`;
  return [
    `(case when ${credit} then (${hx(lm, 2)} % 500000 + 1) else -(${hx(lm, 2)} % 300000 + 1) end)::numeric / 100`,
    `(case when ${credit} then ${pick(creditKinds, hx(lm, 3))} else ${pick(debitKinds, hx(lm, 3))} end)`,
    `${pick(counterparties, hx(lm, 4))} || ' #' || substr(${lm}, 20, 10)`,
  ];
}

/** Poorly compressible text: base64 of a sha256 of the key (44 characters). */
export const referenceOf = b64;

/** Ledger columns of generated entry `n` (of `ne`) of account `a`, entry md5 `lm`. */
function ledgerValues(a: string, n: string, ne: string, lm: string, base: string): string {
  return [
    `${a} * 64 + ${n}`,
    a,
    `${base} + (${n} * 2000 / ${ne}) * interval '1 day' + (${hx(lm, 0)} % 86400) * interval '1 second'`,
    ...ledgerAmountKindDescription(lm),
    b64(`'ref:' || ${a} || ':' || ${n}`),
  ].join(",\n      ");
}

// ---- one batch of households [lo, hi] ------------------------------------------------------

function batchSql(lo: number, hi: number): string[] {
  // `offset 0` keeps a derived table from being flattened into its parent, so that each md5 is
  // computed once per row however many columns are taken from it
  const hh = `(select h, ${M("h")} as m, ${M2("h")} as m2 from generate_series(${lo}, ${hi}) h offset 0)`;
  const lastName = (m: string) => pick(surnames, hx(m, 0));
  const created = (m: string) => `timestamptz '2012-01-01 00:00:00+00' + (${hx(m, 3)} % (12 * 365 * 86400)) * interval '1 second'`;
  const acc = `(select hh.h, hh.m2, k, hh.h * 8 + k as a, md5('account:' || (hh.h * 8 + k)) as am
      from ${hh} hh, generate_series(0, ${nAccounts("hh.m2")} - 1) k offset 0)`;
  const plans = `(select hh.h, k, hh.h * 2 + k as p, md5('plan:' || (hh.h * 2 + k)) as pm
      from ${hh} hh, generate_series(0, ${nPlans("hh.m2")} - 1) k offset 0)`;
  return [
    `insert into app.households (household_id, name, region, advisor, risk_profile, annual_income, created_at, notes)
    select hh.h,
      ${lastName("hh.m")} || ' household',
      ${pick(regions, hx("hh.m", 1))},
      'adv-' || lpad((${hx("hh.m", 2)} % 250)::text, 3, '0'),
      ${pick(riskProfiles, hx("hh.m", 4))},
      (25000 * 100 + ${hx("hh.m2", 3)} % (475000 * 100))::numeric / 100,
      ${created("hh.m")},
      ${b64(`'household-notes:' || hh.h`)}
    from ${hh} hh`,

    `insert into app.clients (client_id, household_id, role, first_name, last_name, email, phone, date_of_birth, tax_id_hash, created_at)
    select c.id, c.h, (array['primary','partner','dependent'])[c.k + 1], c.first, c.last,
      lower(c.first) || '.' || lower(c.last) || '.' || substr(c.cm, 1, 6) || '@' || ${pick(domains, hx("c.cm", 1))},
      '+1-' || (200 + ${hx("c.cm", 2)} % 800) || '-' || lpad((${hx("c.cm", 3)} % 10000000)::text, 7, '0'),
      case when c.k = 2 then date '2000-01-01' + ${hx("c.cm", 4)} % 7000 else date '1940-01-01' + ${hx("c.cm", 4)} % 22000 end,
      sha256(convert_to('tax-id:' || c.id, 'UTF8')),
      c.created + c.k * interval '1 day'
    from (select c0.*, ${pick(firstNames, hx("c0.cm", 0))} as first
          from (select hh.h, k, hh.h * 4 + k as id, md5('client:' || (hh.h * 4 + k)) as cm, ${lastName("hh.m")} as last, ${created("hh.m")} as created
                from ${hh} hh, generate_series(0, ${nClients("hh.m2")} - 1) k offset 0) c0) c`,

    // the ledger first (foreign keys come after the load), then the accounts with its sums
    `with acc as materialized (select acc0.*, ${nEntries("acc0.am")} as ne from ${acc} acc0),
    led as (
      insert into app.ledger (entry_id, account_id, posted_at, amount, kind, description, reference)
      select ${ledgerValues("e.a", "e.n", "e.ne", "e.lm", `timestamptz '2019-01-01 00:00:00+00'`)}
      from (select acc.a, acc.ne, n, md5('entry:' || acc.a || ':' || n) as lm from acc, generate_series(1, acc.ne) n offset 0) e
      returning account_id, amount
    ),
    sums as (select account_id, sum(amount) as balance from led group by account_id)
    insert into app.accounts (account_id, household_id, client_id, account_type, institution, account_number, currency, opened_on, balance)
    select acc.a, acc.h, acc.h * 4 + acc.k % ${nClients("acc.m2")},
      ${pick(accountTypes, accountTypeIndex("acc.am"))},
      ${pick(institutions, hx("acc.am", 1))},
      lpad(${hx("acc.am", 2)}::text, 8, '0') || lpad(${hx("acc.am", 3)}::text, 8, '0'),
      case ${hx("acc.am", 4)} % 25 when 0 then 'CAD' when 1 then 'GBP' when 2 then 'EUR' else 'USD' end,
      date '2012-01-01' + ${hx("acc.am", 4)} % 2500,
      coalesce(sums.balance, 0)
    from acc left join sums on sums.account_id = acc.a`,

    `insert into app.holdings (holding_id, account_id, symbol, quantity, cost_basis, market_value, as_of)
    select x.id, x.a, ${pick(symbols, `${hx("x.am", 1)} + x.j * 7`)}, x.qty, round(x.qty * x.price * (60 + ${hx("x.hm", 2)} % 80) / 100, 2), round(x.qty * x.price, 2), date '2024-12-31'
    from (select x0.*, (${hx("x0.hm", 0)} % 10000000)::numeric / 1000 as qty, (${hx("x0.hm", 1)} % 50000 + 100)::numeric / 100 as price
          from (select acc.a, acc.am, j, acc.a * 16 + j as id, md5('holding:' || (acc.a * 16 + j)) as hm
                from ${acc} acc, generate_series(0, ${nHoldings("acc.am")} - 1) j offset 0) x0) x`,

    `insert into app.plans (plan_id, household_id, name, status, retirement_age, assumptions, created_at)
    select pl.p, pl.h,
      ${pick(planNames, hx("pl.pm", 1))} || ' plan ' || (2019 + pl.k * 3 + ${hx("pl.pm", 2)} % 3),
      ${pick(planStatuses, hx("pl.pm", 3))},
      55 + ${hx("pl.pm", 4)} % 16,
      jsonb_build_object(
        'inflation', (150 + ${hx("pl.pm", 1)} % 250)::numeric / 10000,
        'expected_return', (300 + ${hx("pl.pm", 2)} % 600)::numeric / 10000,
        'horizon_years', 10 + ${hx("pl.pm", 3)} % 40,
        'monte_carlo_runs', 1000 * (1 + ${hx("pl.pm", 4)} % 10),
        'scenario_seed', substr(pl.pm, 1, 16)),
      timestamptz '2019-01-01 00:00:00+00' + (${hx("pl.pm", 0)} % (5 * 365 * 86400)) * interval '1 second'
    from ${plans} pl`,

    `insert into app.goals (goal_id, plan_id, kind, target_amount, current_amount, target_date, priority, notes)
    select g.id, g.p,
      ${pick(goalKinds, hx("g.gm", 0))},
      (1000 * 100 + ${hx("g.gm", 1)} % (2000000 * 100))::numeric / 100,
      (${hx("g.gm", 2)} % (500000 * 100))::numeric / 100,
      date '2025-01-01' + ${hx("g.gm", 3)} % 12000,
      1 + ${hx("g.gm", 4)} % 5,
      ${b64(`'goal-notes:' || g.id`)}
    from (select pl.p, pl.p * 4 + j as id, md5('goal:' || (pl.p * 4 + j)) as gm
          from ${plans} pl, generate_series(0, ${nGoals("pl.pm")} - 1) j offset 0) g`,
  ];
}

/**
 * Creates schema `app` with the sample financial-planning data at `scale` in the database the
 * client is connected to. Deterministic: the same scale yields the same content. Refuses when
 * `app` exists unless `replace` is set.
 */
export async function createSampleDatabase(client: ClientBase, opts: SampleOptions): Promise<SampleSummary> {
  if (!Number.isFinite(opts.scale) || opts.scale < 0.001) {
    throw new DrError("USAGE", `sample scale must be a number ≥ 0.001 (got ${opts.scale})`, { hint: "use e.g. --scale 1 (≈ 50 MB) or --scale 20 (≈ 1 GB)" });
  }
  const started = Date.now();
  const total = households(opts.scale);
  const batches: [number, number][] = [];
  for (let lo = 1; lo <= total; lo += BATCH_HOUSEHOLDS) batches.push([lo, Math.min(total, lo + BATCH_HOUSEHOLDS - 1)]);
  const steps = batches.length + afterLoadDdl.length + 1 + sampleTables.length;
  let done = 0;
  const step = (label: string) => opts.onProgress?.(++done, steps, label);

  const exists = await client.query(`select 1 from pg_namespace where nspname = $1`, [SAMPLE_SCHEMA]);
  if (exists.rowCount && !opts.replace) {
    throw new DrError("SAMPLE_DATA_EXISTS", `schema ${SAMPLE_SCHEMA} already exists in this database`, {
      hint: "generate into an empty database, or pass replace to drop and recreate it",
    });
  }

  await client.query("begin");
  try {
    // timestamptz + interval '1 day' depends on the session's time zone (DST): pin it
    await client.query(`set local timezone = 'UTC'`);
    await client.query(`set local maintenance_work_mem = '256MB'`);
    await client.query(`set local work_mem = '64MB'`);
    if (opts.replace) await client.query(`drop schema if exists ${SAMPLE_SCHEMA} cascade`);
    await client.query(tablesDdl);
    for (const [lo, hi] of batches) {
      for (const sql of batchSql(lo, hi)) await client.query(sql);
      step(`households ${lo}–${hi} of ${total}`);
    }
    for (const { label, sql } of afterLoadDdl) {
      await client.query(sql);
      step(label);
    }
    // identities continue after the generated ids; the generator's parameters are recorded
    for (const { table, pk } of businessTables) {
      await client.query(`select setval(pg_get_serial_sequence('app.${table}', '${pk}'), greatest(1, (select max(${pk}) from app.${table})))`);
    }
    await client.query(`insert into app.sample_meta (key, value) values ('generator_version', $1), ('scale', $2), ('households', $3), ('churn_rounds', '0')`, [
      GENERATOR_VERSION,
      String(opts.scale),
      String(total),
    ]);
    await client.query("commit");
    step("committed");
  } catch (e) {
    await client.query("rollback").catch(() => undefined);
    throw new DrError("QUERY_FAILED", `while generating the sample database at scale ${opts.scale}: ${(e as Error).message}`, { cause: e });
  }

  // set hint bits and freeze now, so that the first reads after a backup change nothing
  for (const table of sampleTables) {
    await client.query(`vacuum (freeze, analyze) app.${table}`);
    step(`vacuum ${table}`);
  }

  const counts = await client.query<{ table: string; rows: string }>(
    sampleTables.map((t) => `select '${t}' as table, count(*) as rows from app.${t}`).join(" union all "),
  );
  const size = await client.query<{ bytes: string }>(`select pg_database_size(current_database()) as bytes`);
  return {
    schema: SAMPLE_SCHEMA,
    scale: opts.scale,
    households: total,
    rows: Object.fromEntries(counts.rows.map((r) => [r.table, Number(r.rows)])),
    databaseBytes: Number(size.rows[0].bytes),
    durationMs: Date.now() - started,
  };
}
