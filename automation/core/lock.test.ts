// Proves: two processes racing for the run lock in the same millisecond never both hold it,
// whether the lock is free or left behind by a dead holder (taken over by exactly one of them);
// a lock that is being written is never mistaken for a dead holder's.
import assert from "node:assert/strict";
import { fork, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import test from "node:test";

const ROUNDS = 1000;

function worker(path: string, id: string): Promise<ChildProcess> {
  const child = fork(join(__dirname, "lock.race-worker.ts"), [path, id], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  return new Promise((resolve, reject) => {
    child.once("message", () => resolve(child));
    child.once("error", reject);
  });
}

function next<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve) => child.once("message", (m) => resolve(m as T)));
}

test(`two processes racing for the lock ${ROUNDS} times: never two holders`, { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "fp-dr-lock-race-"));
  const path = join(dir, "lab.lock");
  const dead = spawnSync("true").pid!;
  const workers = await Promise.all([worker(path, "a"), worker(path, "b")]);
  let takeovers = 0;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // Every other round starts from a dead holder's lock, which both rivals want to take over.
      const fromDead = round % 2 === 1;
      if (fromDead) writeFileSync(path, JSON.stringify({ runId: "dead", scenario: "drill", pid: dead, host: hostname(), since: "x", renewedAt: new Date().toISOString() }));
      const at = Date.now() + 3;
      const replies = await Promise.all(workers.map((w) => {
        const reply = next<{ held: boolean; id: string; code?: string; tookOver?: string }>(w);
        w.send({ round, at });
        return reply;
      }));
      const holders = replies.filter((r) => r.held);
      assert.equal(holders.length, 1, `round ${round}${fromDead ? " (dead holder)" : ""}: ${JSON.stringify(replies)}`);
      const loser = replies.find((r) => !r.held)!;
      assert.equal(loser.code, "RUN_LOCKED", JSON.stringify(loser));
      if (fromDead) {
        assert.equal(holders[0].tookOver, "dead", `round ${round}: the holder says it took over the dead one`);
        takeovers++;
      }
      const holder = workers.find((_, i) => replies[i].held)!;
      const released = next(holder);
      holder.send({ release: true });
      await released;
      assert.equal(existsSync(path), false, "released");
    }
    assert.equal(takeovers, ROUNDS / 2);
    assert.deepEqual(readdirSync(dir), [], "no temporary or takeover files left behind");
  } finally {
    for (const w of workers) w.send({ exit: true });
    rmSync(dir, { recursive: true, force: true });
  }
});
