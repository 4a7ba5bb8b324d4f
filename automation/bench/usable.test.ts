// Proves the usable-wait's bound on a real refusal: nothing listens on the port, so every try
// is refused; the wait ends with TIMEOUT at its bound, carrying the last refusal.
import { strict as assert } from "node:assert";
import { createServer } from "node:net";
import { test } from "node:test";
import { Client } from "pg";
import { DrError } from "../core/errors";
import { untilUsable } from "./usable";

/** A local port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

test("a server that never accepts: TIMEOUT after the bound, with the last refusal as message and cause", async () => {
  const port = await closedPort();
  let tries = 0;
  const started = Date.now();
  await assert.rejects(
    untilUsable(async () => {
      tries++;
      const c = new Client({ host: "127.0.0.1", port, user: "nobody", database: "nothing", connectionTimeoutMillis: 1000 });
      await c.connect();
      return c;
    }, 700),
    (e: unknown) => e instanceof DrError && e.code === "TIMEOUT" && /^no successful query within 1s: connect ECONNREFUSED 127\.0\.0\.1:\d+$/.test(e.message) && e.cause instanceof Error,
  );
  assert.ok(Date.now() - started >= 700, "it waited its bound");
  assert.ok(tries >= 3, `it tried again every 100 ms (${tries} tries)`);
});
