// Proves: `dr bench` stopped by a signal while its lab runs removes that lab: its directory is
// gone and none of its processes (servers, store, DNS) is left. Found with a kill during a
// scale-80 run: the benchmark listened on process.on directly, the entry point's handler saw
// nobody subscribed and exited at once, and the lab stayed behind with its servers running.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { errorCatalogue } from "../automation/core/errors";
import { exitOf } from "../automation/core/exit-status";
import { allProcesses } from "../automation/system/leftovers";
import { drChild, until } from "./harness/cli";

/** Pids whose command line names `dir` (a server's -D, the store's state file, ...). */
function processesUnder(dir: string): number[] {
  return allProcesses()
    .filter((p) => p.argv.some((a) => a.includes(dir)))
    .map((p) => p.pid);
}

test("a signal while the benchmark's lab runs stops the benchmark and removes its lab", { timeout: 300_000 }, async () => {
  // The operator's lab directory is not the benchmark's: it makes its own under the temp dir.
  const operatorLab = mkdtempSync(join(tmpdir(), "fp-dr-bench-operator-"));
  try {
    const run = drChild(operatorLab, ["bench", "--scale", "1"]);
    let out = "";
    run.child.stdout.on("data", (d) => (out += d));
    run.child.stderr.on("data", (d) => (out += d));
    await until("the benchmark to name its lab", () => /benchmark lab: (\S+)/.test(out), 60_000);
    const dir = /benchmark lab: (\S+)/.exec(out)![1];
    // Its primary serving: the lab has live servers to leave behind.
    await until("the benchmark lab's primary to run", () => existsSync(join(dir, "sites", "primary", "data", "postmaster.pid")), 120_000);
    assert.ok(processesUnder(dir).length > 0, "the lab runs processes");
    run.child.kill("SIGTERM");
    const r = await run.result;
    assert.equal(r.code, exitOf(errorCatalogue.INTERRUPTED.class), r.stdout + r.stderr);
    assert.match(r.stderr, /interrupted: dr bench by SIGTERM/);
    assert.match(r.stderr, /error\[INTERRUPTED\]: benchmark interrupted \(SIGTERM\)/);
    assert.equal(existsSync(dir), false, `${dir} removed`);
    assert.deepEqual(processesUnder(dir), [], "nothing of the lab left running");
  } finally {
    rmSync(operatorLab, { recursive: true, force: true });
  }
});
