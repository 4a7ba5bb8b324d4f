import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { DrError } from "./errors";
import { pollUntil } from "./poll";

/** A clock that moves only when the wait pauses: every test runs in no real time. */
function fakeClock() {
  let t = 1_000;
  const pauses: number[] = [];
  return {
    pauses,
    now: () => t,
    sleep: async (ms: number) => {
      pauses.push(ms);
      t += ms;
    },
  };
}

describe("pollUntil", () => {
  it("returns what the probe answered once it answers, pausing between probes", async () => {
    const clock = fakeClock();
    let calls = 0;
    const got = await pollUntil(async () => (++calls === 3 ? { ready: calls } : undefined), { what: "x", timeoutMs: 1_000, intervalMs: 100, ...clock });
    assert.deepEqual(got, { ready: 3 });
    assert.deepEqual(clock.pauses, [100, 100]);
  });

  it("throws TIMEOUT naming what it waited for once the bound is reached, probing one last time at the bound", async () => {
    const clock = fakeClock();
    let calls = 0;
    await assert.rejects(
      pollUntil(async () => void calls++, { what: "the answer for db.lab", timeoutMs: 2_000, intervalMs: 500, ...clock }),
      (e: unknown) => e instanceof DrError && e.code === "TIMEOUT" && e.message === "the answer for db.lab not within 2 s",
    );
    assert.equal(calls, 5); // at 0, 500, 1000, 1500 and 2000 ms
  });

  it("throws the caller's error, told how long it waited and the last probe error when errors are retried", async () => {
    const clock = fakeClock();
    await assert.rejects(
      pollUntil(
        async ({ attempt }) => {
          throw new Error(`refused ${attempt}`);
        },
        { what: "x", timeoutMs: 300, intervalMs: 100, probeErrors: "retry", ...clock, onTimeout: (last) => new DrError("DNS_FAILED", `gave up after ${last.waitedMs} ms, ${last.attempts} tries: ${(last.error as Error).message}`) },
      ),
      (e: unknown) => e instanceof DrError && e.code === "DNS_FAILED" && e.message === "gave up after 300 ms, 4 tries: refused 3",
    );
  });

  it("lets a probe error end the wait at once by default", async () => {
    const clock = fakeClock();
    const boom = new DrError("SITE_UNREACHABLE", "the forward ended");
    await assert.rejects(pollUntil(async () => Promise.reject(boom), { what: "x", timeoutMs: 10_000, intervalMs: 100, ...clock }), (e: unknown) => e === boom);
    assert.deepEqual(clock.pauses, []);
  });

  it("answers undefined at the bound when told to give up quietly, and can pause first and back off", async () => {
    const clock = fakeClock();
    const got = await pollUntil(async () => undefined, { what: "x", timeoutMs: 1_000, intervalMs: (n) => Math.min(100 * 2 ** n, 400), delayFirst: true, giveUp: "return", ...clock });
    assert.equal(got, undefined);
    assert.deepEqual(clock.pauses, [100, 100, 200, 400, 400]);
  });

  it("waits in real time by default", async () => {
    const started = Date.now();
    let calls = 0;
    assert.equal(await pollUntil(async () => (++calls === 2 ? "up" : undefined), { what: "x", timeoutMs: 1_000, intervalMs: 30 }), "up");
    assert.ok(Date.now() - started >= 25);
  });
});
