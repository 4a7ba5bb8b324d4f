// Verification invariants that hold on the sample database after generation and after any
// number of churn rounds: the default `verification.invariants` for the lab. Each query returns
// one integer (a count of violations), expected to be 0.
import type { Invariant } from "../config/common";
import type { DrConfig } from "../config/schema";
import type { Sessions } from "./parallel";
import { setGateWorkMem, type VerifyOptions } from "./checks";

const orphan = (name: string, child: string, fk: string, parent: string, pk: string): Invariant => ({
  name,
  sql: `select count(*)::int from app.${child} c where not exists (select 1 from app.${parent} p where p.${pk} = c.${fk})`,
  expect: 0,
});

export const sampleInvariants: Invariant[] = [
  {
    name: "account balances equal the sum of their ledger entries",
    sql: `select count(*)::int from app.accounts a
          left join (select account_id, sum(amount) as total from app.ledger group by account_id) l using (account_id)
          where a.balance <> coalesce(l.total, 0)`,
    expect: 0,
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
