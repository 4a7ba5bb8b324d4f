// "Usable" means an application can connect and read its data: the first successful
// connection plus a query on a business table, polled with a bound (a server that is still
// starting refuses connections; that is not yet usable, not a failure).
import type { Client } from "pg";
import { DrError } from "../core/errors";

/** What the first query asks: a real read of a business table, cheap at any scale. */
export const FIRST_QUERY = "select count(*)::int as n from app.households";

export async function untilUsable(connect: () => Promise<Client>, timeoutMs = 60_000): Promise<{ ms: number; households: number }> {
  const started = performance.now();
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const c = await connect();
      try {
        const r = await c.query<{ n: number }>(FIRST_QUERY);
        return { ms: Math.round(performance.now() - started), households: r.rows[0].n };
      } finally {
        await c.end().catch(() => undefined);
      }
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new DrError("TIMEOUT", `no successful query within ${Math.round(timeoutMs / 1000)}s: ${last instanceof Error ? last.message : String(last)}`, {
        hint: "read the restored cluster's server log",
        cause: last,
      });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
