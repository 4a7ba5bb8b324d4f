// Proves endProcesses' two bounded waits on real processes: one that obeys SIGTERM is gone
// without waiting out the grace; one that ignores it is killed once the grace has passed.
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { after, test } from "node:test";
import { endProcesses, processInfo } from "./leftovers";

function started(argv: string[]) {
  const child = spawn(argv[0], argv.slice(1), { stdio: "ignore", detached: true });
  child.unref();
  return child;
}

const infoOf = async (pid: number) => {
  // The shell needs a moment to install its trap before it is signalled.
  await new Promise((r) => setTimeout(r, 200));
  const info = processInfo(pid);
  assert.ok(info, `process ${pid} runs`);
  return info;
};

test("SIGTERM obeyed: gone without waiting out the grace; SIGTERM ignored: killed after it", async () => {
  const polite = started(["sleep", "30"]);
  const stubborn = started(["sh", "-c", "trap '' TERM; while :; do sleep 0.05; done"]);
  const procs = [await infoOf(polite.pid!), await infoOf(stubborn.pid!)];
  after(() => {
    for (const c of [polite, stubborn]) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  });

  let t = Date.now();
  assert.deepEqual(await endProcesses([procs[0]], 3_000), []);
  assert.ok(Date.now() - t < 1_500, "the polite one ended well within the grace");

  t = Date.now();
  assert.deepEqual(await endProcesses([procs[1]], 800), []);
  assert.ok(Date.now() - t >= 800, "the stubborn one outlived the grace, then SIGKILL");
  assert.equal(processInfo(stubborn.pid!), undefined);
});
