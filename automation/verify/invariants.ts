// Verification invariants that hold on the sample database after generation and after any
// number of churn rounds: the default `verification.invariants` for the lab. Each query returns
// one integer (a count of violations), expected to be 0.
import type { Invariant } from "../config/common";
import type { DrConfig } from "../config/schema";
import type { Sessions } from "./parallel";
import { setGateWorkMem, type VerifyOptions } from "./checks";

/**
 * Children without their parent. Over what changed: the parent keys the children written since
 * point to (from the audit log's new rows), and those of parents deleted or re-keyed since (its
 * old rows); for each such key with no parent, its children counted by index. The whole form
 * reads the child table (the ledger's: as long as its sums). Keys first, not the changed
 * children one by one (160 000 ledger entries posted cost that form 2 s at 3.4 GiB), and each
 * count is a subquery of its own: an anti-join, which the planner sizes at one orphan, made it
 * scan the whole child table.
 */
const orphan = (name: string, child: string, fk: string, parent: string, pk: string): Invariant => ({
  name,
  sql: `select count(*)::int from app.${child} c where not exists (select 1 from app.${parent} p where p.${pk} = c.${fk})`,
  expect: 0,
  since: {
    sql: `with keys as materialized (
            select (new_row ->> '${fk}')::bigint as k from app.audit_log where xid >= $1::bigint and table_name = '${child}' and new_row is not null
            union select (old_row ->> '${pk}')::bigint from app.audit_log where xid >= $1::bigint and table_name = '${parent}'
                                                               and old_row is not null and (new_row ->> '${pk}') is distinct from (old_row ->> '${pk}')),
          missing as materialized (select k from keys where k is not null and (select count(*) from app.${parent} p where p.${pk} = keys.k) = 0)
          select coalesce(sum((select count(*) from app.${child} c where c.${fk} = m.k)), 0)::int from missing m`,
  },
});

export const sampleInvariants: Invariant[] = [
  {
    name: "account balances equal the sum of their ledger entries",
    sql: `select count(*)::int from app.accounts a
          left join (select account_id, sum(amount) as total from app.ledger group by account_id) l using (account_id)
          where a.balance <> coalesce(l.total, 0)`,
    expect: 0,
    // Over what changed: the accounts written, and those of every ledger row written, since
    // the transaction the whole check held before; the audit log names both (its triggers run
    // in the writing transaction, which they record). At 3.4 GiB the whole form reads the
    // 16 million entries (8 s on the lab); this one reads the changed accounts' entries by index.
    since: {
      sql: `with changed as materialized (
              select row_pk as account_id from app.audit_log where xid >= $1::bigint and table_name = 'accounts'
              union select (new_row ->> 'account_id')::bigint from app.audit_log where xid >= $1::bigint and table_name = 'ledger' and new_row is not null
              union select (old_row ->> 'account_id')::bigint from app.audit_log where xid >= $1::bigint and table_name = 'ledger' and old_row is not null)
            select count(*)::int from changed c join app.accounts a using (account_id)
              cross join lateral (select coalesce(sum(l.amount), 0) as total from app.ledger l where l.account_id = c.account_id) l
             where a.balance <> l.total`,
    },
  },
  orphan("no clients without a household", "clients", "household_id", "households", "household_id"),
  orphan("no accounts without a household", "accounts", "household_id", "households", "household_id"),
  orphan("no accounts without an owner", "accounts", "client_id", "clients", "client_id"),
  orphan("no holdings without an account", "holdings", "account_id", "accounts", "account_id"),
  orphan("no ledger entries without an account", "ledger", "account_id", "accounts", "account_id"),
  orphan("no plans without a household", "plans", "household_id", "households", "household_id"),
  orphan("no goals without a plan", "goals", "plan_id", "plans", "plan_id"),
  {
    name: "account owners belong to the account's household",
    sql: `select count(*)::int from app.accounts a join app.clients c using (client_id) where c.household_id <> a.household_id`,
    expect: 0,
  },
  {
    name: "every household has a client",
    sql: `select count(*)::int from app.households h where not exists (select 1 from app.clients c where c.household_id = h.household_id)`,
    expect: 0,
  },
];

export interface InvariantsInForce {
  origin: "configured (verification.invariants)" | "built-in (the lab's sample database)" | "none";
  invariants: Invariant[];
}

/**
 * The invariants the gate checks and every manifest records: the configured ones, or, when none
 * are configured on the lab, the sample database's built-in set. `dr config show` lists them
 * with where they come from, so that an operator sees what can fail (or warn at) the gate.
 */
export function invariantsInForce(config: DrConfig): InvariantsInForce {
  const configured = config.verification.invariants;
  if (configured.length > 0) return { origin: "configured (verification.invariants)", invariants: configured };
  if (config.engine === "local") return { origin: "built-in (the lab's sample database)", invariants: sampleInvariants };
  return { origin: "none", invariants: [] };
}

/** The invariants a run verifies: the configured ones, else on the lab the sample database's. */
export function invariantsFor(config: DrConfig): Invariant[] {
  return invariantsInForce(config).invariants;
}

/** The gate's options from the configuration; `open` adds sessions so per-index checks use every core. */
export function gateOptions(config: DrConfig, open?: Sessions["open"]): VerifyOptions {
  const workMem = config.verification.workMem;
  const withMemory: Sessions["open"] = open && (async () => {
    const c = await open();
    await setGateWorkMem(c, workMem);
    return c;
  });
  return { invariants: invariantsFor(config), amcheck: config.verification.amcheck, workMem, sessions: { parallel: config.verification.parallel, open: withMemory } };
}
