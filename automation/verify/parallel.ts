// Spreads independent read-only queries over several sessions of the same database: the gate's
// per-index checks are CPU-bound in one backend each, so N sessions use N cores. The first
// session is the caller's; the others are opened here and always closed.
import type { ClientBase } from "pg";
import { availableParallelism } from "node:os";

export interface Sessions {
  /** How many sessions to use at most (default: the host's core count). */
  parallel?: number;
  /** Opens one more session to the same database; absent = run on the caller's session only. */
  open?: () => Promise<ClientBase & { end(): Promise<void> }>;
}

/** Runs `fn` for every item, each item on one session, at most `parallel` at a time. */
export async function eachOnSessions<T>(
  first: ClientBase,
  items: T[],
  sessions: Sessions,
  fn: (c: ClientBase, item: T) => Promise<void>,
  /** Run on each extra session before its first item (e.g. import the first session's snapshot). */
  prepare?: (c: ClientBase) => Promise<unknown>,
): Promise<number> {
  const want = sessions.open ? Math.max(1, Math.min(sessions.parallel ?? availableParallelism(), items.length)) : 1;
  const extra: (ClientBase & { end(): Promise<void> })[] = [];
  let next = 0;
  const worker = async (c: ClientBase) => {
    while (next < items.length) await fn(c, items[next++]);
  };
  try {
    await Promise.all(Array.from({ length: want - 1 }, async () => {
      const c = await sessions.open!();
      extra.push(c);
      await prepare?.(c);
    }));
    await Promise.all([first, ...extra].map(worker));
  } finally {
    await Promise.all(extra.map((c) => c.end().catch(() => undefined)));
  }
  return want;
}
