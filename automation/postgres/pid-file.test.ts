// Proves the stale-pid wait on real processes: a leftover worker in the data directory that
// exits within the grace lets the file go; one that stays keeps it and is named.
import { strict as assert } from "node:assert";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, test } from "node:test";
import { DrError } from "../core/errors";
import { clearStalePidFile } from "./pid-file";

let dir: string;
let worker: ChildProcess | undefined;
const gone = (c: ChildProcess) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(undefined) : c.once("exit", r)));

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "fp-dr-pid-file-"));
  // A pid no process holds: a child that has already exited.
  const dead = spawn("true");
  await gone(dead);
  writeFileSync(join(dir, "postmaster.pid"), `${dead.pid}\n${dir}\n`);
  // A "backend" that outlived its postmaster: any process working in the directory.
  worker = spawn("sleep", ["30"], { cwd: dir, stdio: "ignore" });
  await new Promise((r) => worker!.once("spawn", r));
});
afterEach(async () => {
  if (worker && worker.exitCode === null && worker.signalCode === null) {
    worker.kill("SIGKILL");
    await gone(worker);
  }
  rmSync(dir, { recursive: true, force: true });
});

test("a worker that exits within the grace: the stale file is removed once it is gone", async () => {
  setTimeout(() => worker!.kill("SIGTERM"), 300);
  const said = await clearStalePidFile(dir, 5_000);
  assert.match(said ?? "", /^removed a stale postmaster\.pid: no process \d+ exists$/);
  assert.equal(existsSync(join(dir, "postmaster.pid")), false);
});

test("a worker still there after the grace: CLUSTER_RUNNING naming it, the file kept", async () => {
  const started = Date.now();
  await assert.rejects(
    clearStalePidFile(dir, 600),
    (e: unknown) => e instanceof DrError && e.code === "CLUSTER_RUNNING" && e.message.includes(`processes ${worker!.pid} still work in the directory`) && /outlived a killed postmaster by 1s/.test(e.hint ?? ""),
  );
  assert.ok(Date.now() - started >= 600, "it waited the grace out");
  assert.equal(existsSync(join(dir, "postmaster.pid")), true);
});
