// The drill's restore point needs a SHARE lock on the application tables for a few
// milliseconds (so that the restore point and an exported snapshot coincide). A lock request
// queues behind any transaction holding a conflicting lock, and every writer then queues behind
// the request: without a bound, one long transaction on production would stall all its writes
// for as long as it stays open. So the request waits at most lock_timeout, gives up (releasing
// the queue), and is tried again a bounded number of times; then it fails naming the sessions
// in the way.
import { backOff } from "exponential-backoff";
import type { ClientBase } from "pg";
import { DrError } from "../core/errors";

export interface ShareLockOptions {
  /** Longest a writer on production may wait behind our request, per attempt. Default 2000 ms. */
  lockTimeoutMs?: number;
  /** Attempts in all. Default 3. */
  attempts?: number;
  /** Delay before the second attempt (doubling after). Default 2000 ms. */
  delayMs?: number;
}

interface Holder {
  pid: number;
  usename: string | null;
  application_name: string | null;
  age: number | null;
}

/** Lock modes that conflict with SHARE (PostgreSQL's table-level lock conflict matrix). */
const conflictsWithShare = ["RowExclusiveLock", "ShareUpdateExclusiveLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"];

/**
 * Opens a repeatable-read transaction on `client` holding a SHARE lock on `tables` (qualified,
 * quoted names). On success the transaction stays open for the caller to use and end.
 */
export async function beginWithShareLock(client: ClientBase, tables: string[], opts: ShareLockOptions = {}): Promise<void> {
  const timeout = Math.max(1, Math.round(opts.lockTimeoutMs ?? 2000));
  const attempts = opts.attempts ?? 3;
  let holders: Holder[] = [];
  const once = async () => {
    await client.query("begin isolation level repeatable read");
    try {
      await client.query(`set local lock_timeout = ${timeout}`);
      if (tables.length) await client.query(`lock table ${tables.join(", ")} in share mode`);
    } catch (e) {
      await client.query("rollback");
      if ((e as { code?: string }).code === "55P03") holders = await holdersOf(client, tables);
      throw e;
    }
  };
  try {
    await backOff(once, { numOfAttempts: attempts, startingDelay: opts.delayMs ?? 2000, timeMultiple: 2, retry: (e: unknown) => (e as { code?: string }).code === "55P03" });
  } catch (e) {
    if ((e as { code?: string }).code !== "55P03") throw e;
    const who = holders.length
      ? holders.map((h) => `session ${h.pid} (user ${h.usename ?? "?"}${h.application_name ? `, ${h.application_name}` : ""}, transaction open ${h.age ?? "?"} s)`).join(", ")
      : "a transaction that has ended since";
    throw new DrError(
      "TABLES_LOCKED",
      `the restore point needs a brief share lock on the application tables, but ${who} holds a conflicting lock; gave up after ${attempts} attempts of ${timeout} ms`,
      {
        hint: `let that transaction finish (or end it with pg_terminate_backend(pid)) and resume the run; writers waited at most ${timeout} ms per attempt`,
        cause: e,
        details: { holders: holders.map((h) => h.pid), lockTimeoutMs: timeout, attempts },
      },
    );
  }
}

/** Sessions holding a lock on `tables` that conflicts with SHARE, oldest transaction first. */
async function holdersOf(client: ClientBase, tables: string[]): Promise<Holder[]> {
  if (!tables.length) return [];
  const r = await client.query<Holder>(
    `select distinct a.pid, a.usename, a.application_name, extract(epoch from now() - a.xact_start)::int as age
       from pg_locks l join pg_stat_activity a on a.pid = l.pid
      where l.granted and l.locktype = 'relation' and l.relation = any($1::text[]::regclass[])
        and l.mode = any($2) and l.pid <> pg_backend_pid()
      order by age desc nulls last`,
    [tables, conflictsWithShare],
  );
  return r.rows;
}
