// Proves, with real processes (the scenario with real pgBackRest restores is test/resume.test.ts):
//   - a restore lock whose holder lives refuses the next restore and touches nothing;
//   - a holder that is gone, or whose pid now names another process, is taken over, and what it
//     left — a recorded child stopped mid-copy, any process holding a file there open for
//     writing — is ended (stopped ones too) and listed;
//   - open's guard names a writer that is not the server, and passes once it is gone.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { processInfo } from "../system/leftovers";
import { readRestoreLock, refuseForeignWriters, restoreLockPath, takeRestoreLock, type RestoreLockHolder } from "./target-lock";

let dir: string;
let dataDir: string;
const started: ChildProcess[] = [];

before(() => {
  dir = mkdtempSync(join(tmpdir(), "fp-dr-target-lock-"));
  dataDir = join(dir, "data");
  mkdirSync(dataDir);
});
after(() => {
  for (const c of started) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

function sleeper(writeTo?: string): ChildProcess {
  const c = writeTo ? spawn("sh", ["-c", 'exec 3>>"$1"; exec sleep 300', "sh", writeTo], { stdio: "ignore" }) : spawn("sleep", ["300"], { stdio: "ignore" });
  started.push(c);
  return c;
}

async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(ok(), "timed out");
}

function lockNaming(holder: ChildProcess, children: ChildProcess[], startTicksOffset = 0): void {
  const h: RestoreLockHolder = {
    pid: holder.pid!,
    startTicks: processInfo(holder.pid!)!.startTicks + startTicksOffset,
    dataDir,
    host: "here",
    runId: "datacenter-test",
    command: "dr failover",
    since: new Date().toISOString(),
    children: children.map((c) => ({ pid: c.pid!, startTicks: processInfo(c.pid!)!.startTicks })),
  };
  writeFileSync(restoreLockPath(dataDir), JSON.stringify(h));
}

test("a live holder refuses; a dead one is taken over and what it left writing is ended and listed", async () => {
  const holder = sleeper();
  const copy = sleeper();
  const writer = sleeper(join(dataDir, "base-file"));
  await until(() => existsSync(join(dataDir, "base-file")) && processInfo(copy.pid!) !== undefined);
  process.kill(copy.pid!, "SIGSTOP");
  await until(() => processInfo(copy.pid!)?.state === "T");
  lockNaming(holder, [copy]);

  await assert.rejects(takeRestoreLock(dataDir, undefined), (e: { code?: string; message: string }) => e.code === "RESTORE_TARGET_LOCKED" && e.message.includes(`pid ${holder.pid}, run datacenter-test`));
  assert.equal(readRestoreLock(restoreLockPath(dataDir))?.pid, holder.pid, "the holder's lock is untouched");
  assert.equal(processInfo(copy.pid!)?.state, "T", "its copy is left alone");
  assert.throws(() => refuseForeignWriters(dataDir, undefined, "open it"), (e: { code?: string; message: string }) => e.code === "FOREIGN_WRITER" && e.message.includes(`pid ${copy.pid} (stopped)`) && e.message.includes(`pid ${writer.pid}`));

  holder.kill("SIGKILL");
  await until(() => processInfo(holder.pid!) === undefined);
  const lock = await takeRestoreLock(dataDir, undefined);
  assert.equal(processInfo(copy.pid!), undefined, "the stopped copy was ended");
  assert.equal(processInfo(writer.pid!), undefined, "the writer was ended");
  assert.equal(lock.ended.length, 2, lock.ended.join("\n"));
  assert.ok(lock.ended.some((l) => l.startsWith(`ended pid ${copy.pid} (stopped)`) && l.includes("left by pid") && l.includes("run datacenter-test")));
  assert.equal(readRestoreLock(lock.path)?.pid, process.pid);
  refuseForeignWriters(dataDir, undefined, "open it");
  lock.release();
  assert.equal(existsSync(lock.path), false);
});

test("a holder whose pid now names another process is gone: its lock is taken over", async () => {
  const other = sleeper();
  await until(() => processInfo(other.pid!) !== undefined);
  lockNaming(other, [], 1);
  const lock = await takeRestoreLock(dataDir, undefined);
  assert.deepEqual(lock.ended, []);
  assert.ok(processInfo(other.pid!), "an unrelated process with the holder's pid is not touched");
  lock.release();
});
