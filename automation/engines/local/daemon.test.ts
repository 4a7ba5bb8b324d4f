// Proves the daemon runner on real detached processes: start waits for readiness and is
// idempotent, stop is SIGTERM then SIGKILL after a bound and idempotent, a kill -9 leaves a
// stale pid that status detects, a pid reused by another program is not taken for ours, and a
// child that dies or never gets ready fails the start with its log tail.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isDrError } from "../../core/errors";
import { daemonLogTail, daemonStatus, isAlive, logFileOf, pidFileOf, startDaemon, stopDaemon } from "./daemon";

const dir = mkdtempSync(join(tmpdir(), "fp-dr-daemon-"));
const started: Array<[string, string]> = [];

// A well-behaved service: HTTP on a free port (written to <dir>/<name>.port), clean SIGTERM.
const good = join(dir, "good-service.mjs");
writeFileSync(
  good,
  `import { createServer } from "node:http";
import { writeFileSync } from "node:fs";
const [portFile] = process.argv.slice(2);
const server = createServer((_req, res) => res.end("ok"));
server.listen(0, "127.0.0.1", () => { writeFileSync(portFile, String(server.address().port)); console.log("listening"); });
process.on("SIGTERM", () => { console.log("bye"); server.close(() => process.exit(0)); });
`,
);
// Dies before it is ready.
const crash = join(dir, "crash-service.mjs");
writeFileSync(crash, `console.error("boom: the config is missing"); process.exit(3);\n`);
// Ignores SIGTERM.
const stubborn = join(dir, "stubborn-service.mjs");
writeFileSync(stubborn, `process.on("SIGTERM", () => console.log("ignoring SIGTERM")); setInterval(() => {}, 1000); console.log("up");\n`);

function httpOk(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const req = request({ host: "127.0.0.1", port, path: "/", agent: false, timeout: 500 }, (res) => {
      res.resume();
      res.on("end", () => resolvePromise(res.statusCode === 200));
    });
    req.on("error", () => resolvePromise(false));
    req.end();
  });
}

function goodSpec(name: string) {
  const portFile = join(dir, `${name}.port`);
  started.push([dir, name]);
  return {
    name,
    dir,
    script: good,
    args: [portFile],
    timeoutMs: 10_000,
    readyCheck: async () => existsSync(portFile) && (await httpOk(Number(readFileSync(portFile, "utf8")))),
  };
}

const alive = isAlive;

after(async () => {
  for (const [d, n] of started) await stopDaemon(d, n, 1_000).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe("daemon runner", () => {
  it("starts a detached service, waits for it to answer, and start is idempotent", async () => {
    const { pid } = await startDaemon(goodSpec("svc"));
    assert.ok(alive(pid));
    assert.deepEqual(daemonStatus(dir, "svc"), { running: true, pid });
    assert.equal(readFileSync(pidFileOf(dir, "svc"), "utf8").split("\n")[0], String(pid));
    assert.match(readFileSync(logFileOf(dir, "svc"), "utf8"), /listening/);
    const again = await startDaemon(goodSpec("svc"));
    assert.equal(again.pid, pid);
  });

  it("stops with SIGTERM (the service shuts down cleanly) and stop is idempotent", async () => {
    const { pid } = daemonStatus(dir, "svc");
    await stopDaemon(dir, "svc");
    assert.ok(!alive(pid!));
    assert.deepEqual(daemonStatus(dir, "svc"), { running: false });
    assert.ok(!existsSync(pidFileOf(dir, "svc")));
    assert.match(daemonLogTail(dir, "svc"), /bye/);
    await stopDaemon(dir, "svc");
  });

  it("reports a stale pid after kill -9, and starts again", async () => {
    const { pid } = await startDaemon(goodSpec("killed"));
    process.kill(pid, "SIGKILL");
    for (let i = 0; i < 100 && daemonStatus(dir, "killed").running; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(daemonStatus(dir, "killed"), { running: false, pid, stale: true });
    const again = await startDaemon(goodSpec("killed"));
    assert.notEqual(again.pid, pid);
    assert.equal(daemonStatus(dir, "killed").running, true);
  });

  it("does not take a live pid running another program for the daemon (pid reuse)", () => {
    writeFileSync(pidFileOf(dir, "reused"), `${process.pid}\n${good}\n`);
    assert.deepEqual(daemonStatus(dir, "reused"), { running: false, pid: process.pid, stale: true });
  });

  it("fails the start with the log tail when the child dies first", async () => {
    started.push([dir, "crash"]);
    await assert.rejects(
      startDaemon({ name: "crash", dir, script: crash, readyCheck: () => false, timeoutMs: 10_000, errorCode: "STORE_UNREACHABLE" }),
      (e) => isDrError(e, "STORE_UNREACHABLE") && /exited with 3 before it was ready/.test(e.message) && /boom: the config is missing/.test(e.message),
    );
    assert.ok(!existsSync(pidFileOf(dir, "crash")));
  });

  it("gives up after the bound when the service never gets ready, and stops it", async () => {
    const t0 = Date.now();
    await assert.rejects(
      startDaemon({ ...goodSpec("slow"), readyCheck: () => false, timeoutMs: 800 }),
      (e) => isDrError(e, "INTERNAL") && /not ready after/.test(e.message),
    );
    assert.ok(Date.now() - t0 < 20_000);
    assert.equal(daemonStatus(dir, "slow").running, false);
  });

  it("escalates to SIGKILL when SIGTERM is ignored", async () => {
    started.push([dir, "stubborn"]);
    const { pid } = await startDaemon({ name: "stubborn", dir, script: stubborn, readyCheck: () => /up/.test(daemonLogTail(dir, "stubborn")), timeoutMs: 10_000 });
    const t0 = Date.now();
    await stopDaemon(dir, "stubborn", 500);
    assert.ok(!alive(pid));
    assert.ok(Date.now() - t0 < 5_000);
    assert.match(daemonLogTail(dir, "stubborn"), /ignoring SIGTERM/);
  });
});
