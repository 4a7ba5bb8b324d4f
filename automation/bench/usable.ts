// "Usable" means an application can connect and read its data: the first successful
// connection plus a query on a business table, polled with a bound (a server that is still
// starting refuses connections; that is not yet usable, not a failure).
import type { Client } from "pg";
import { DrError } from "../core/errors";
import { pollUntil } from "../core/poll";

/** What the first query asks: a real read of a business table, cheap at any scale. */
export const FIRST_QUERY = "select count(*)::int as n from app.households";

export async function untilUsable(connect: () => Promise<Client>, timeoutMs = 60_000): Promise<{ ms: number; households: number }> {
  const started = performance.now();
  // A refused connection or a failed query is "not yet"; the last one is reported at the bound.
  return pollUntil(
    async () => {
      const c = await connect();
      try {
        const r = await c.query<{ n: number }>(FIRST_QUERY);
        return { ms: Math.round(performance.now() - started), households: r.rows[0].n };
      } finally {
        await c.end().catch(() => undefined);
      }
    },
    {
      what: "a successful query",
      timeoutMs,
      intervalMs: 100,
      probeErrors: "retry",
      onTimeout: ({ error }) =>
        new DrError("TIMEOUT", `no successful query within ${Math.round(timeoutMs / 1000)}s: ${error instanceof Error ? error.message : String(error)}`, {
          hint: "read the restored cluster's server log",
          cause: error,
        }),
    },
  );
}
