// Scenario: what an operator meets at a terminal and when they stop a run, on one real lab.
// Proves:
//   - under a pseudo-terminal, a failover's confirmation shows `[y/N]` with the live display
//     paused and the cursor shown; declining records the run as cancelled (not failed), and
//     without a terminal and without --yes the run is refused before it starts.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { drAsync, drOnTerminal, until } from "./harness/cli";
import { startTestLab, type TestLab } from "./harness/lab";

let t: TestLab;

before(async () => {
  t = await startTestLab();
});
after(async () => {
  await t?.destroy();
});

async function reportList(): Promise<{ runId: string; status: string; verdict: string }[]> {
  const r = await drAsync(t.dir, ["report", "list", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).reports;
}

describe("confirmations", () => {
  test("without a terminal and without --yes a failover is refused before it starts", async () => {
    const before = await reportList();
    const r = await drAsync(t.dir, ["failover", "--scenario", "datacenter"]);
    assert.equal(r.code, 9, r.stderr);
    assert.match(r.stderr, /error\[NOT_CONFIRMED\]: .*needs confirmation; nothing was started/);
    assert.deepEqual(await reportList(), before, "no run recorded");
    assert.equal(await t.lab.activeSite(), "primary");
  });

  test("on a terminal the question shows [y/N] over a paused display; declining cancels the run", async () => {
    const term = drOnTerminal(t.dir, ["failover", "--scenario", "datacenter"]);
    await until("the confirmation question", () => /\[y\/N\]/.test(term.output), 120_000);
    const asked = term.output.length;
    // The display would redraw five times a second; paused, nothing is written while we wait.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(term.output.slice(asked), "", "nothing drawn over the question");
    const shown = term.output.lastIndexOf("\x1b[?25h");
    assert.ok(shown > term.output.lastIndexOf("\x1b[?25l"), "the cursor is shown while asking");
    term.type("n\r");
    const code = await term.exited;
    assert.equal(code, 9, term.output);
    assert.match(term.output, /CANCELLED/);
    const runId = /datacenter run (\S+): CANCELLED/.exec(term.output)?.[1];
    assert.ok(runId, term.output);
    const listed = (await reportList()).find((s) => s.runId === runId);
    assert.equal(listed?.status, "cancelled");
    assert.equal(listed?.verdict, "CANCELLED");
    assert.equal(await t.lab.activeSite(), "primary", "nothing was failed over");
  });
});
