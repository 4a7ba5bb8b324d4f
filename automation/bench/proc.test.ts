// Proves the benchmark's memory accounting: /proc/<pid>/status is parsed into name, parent,
// RSS and high-water mark (kernel threads have none); the measured tree holds our descendants
// only, minus daemons that ran before and PostgreSQL servers with everything under them; the
// peak is the highest sum of a sample or one process's VmHWM, whichever is larger; and
// `measure` reads a real process table while real child processes run.
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { parseProcStatus, readProcTable, treeMembers, type ProcEntry } from "./proc";
import { measure, PeakTracker, SERVER_PROCESS_NAMES } from "./sampler";

const status = (name: string, ppid: number, rssKb?: number, hwmKb?: number) =>
  [`Name:\t${name}`, "Umask:\t0022", "State:\tS (sleeping)", `Tgid:\t42`, `PPid:\t${ppid}`, ...(hwmKb !== undefined ? [`VmHWM:\t  ${hwmKb} kB`] : []), ...(rssKb !== undefined ? [`VmRSS:\t  ${rssKb} kB`] : []), "Threads:\t1", ""].join("\n");

const entry = (pid: number, ppid: number, name: string, rssMb: number, hwmMb = rssMb): ProcEntry => ({ pid, ppid, name, rssBytes: rssMb * 1024 * 1024, hwmBytes: hwmMb * 1024 * 1024 });

describe("bench: /proc parsing and process trees", () => {
  it("parses name, parent, RSS and VmHWM from /proc/<pid>/status", () => {
    assert.deepEqual(parseProcStatus(42, status("pgbackrest", 7, 12345, 23456)), { pid: 42, ppid: 7, name: "pgbackrest", rssBytes: 12345 * 1024, hwmBytes: 23456 * 1024 });
  });

  it("gives kernel threads (no Vm lines) zero memory and rejects text without a parent", () => {
    assert.deepEqual(parseProcStatus(2, status("kthreadd", 0)), { pid: 2, ppid: 0, name: "kthreadd", rssBytes: 0, hwmBytes: 0 });
    assert.equal(parseProcStatus(3, "Name:\tx\n"), undefined);
  });

  it("keeps names with spaces and colons whole", () => {
    assert.equal(parseProcStatus(5, status("pg: odd name", 1, 1, 1))?.name, "pg: odd name");
  });

  const table = [
    entry(1, 0, "init", 10),
    entry(100, 1, "node", 80), // us
    entry(101, 100, "node", 90), // object store daemon, running before
    entry(102, 100, "bash", 3),
    entry(103, 102, "pg_dump", 20),
    entry(104, 102, "gzip", 2),
    entry(105, 100, "pg_ctl", 4),
    entry(106, 105, "postgres", 200), // server started by pg_ctl
    entry(107, 106, "postgres", 150),
    entry(108, 107, "sh", 1), // restore_command under the server
    entry(200, 1, "pgbackrest", 500), // somebody else's
  ];

  it("collects descendants of the root, not the root, not strangers", () => {
    const pids = treeMembers(table, 100).map((e) => e.pid).sort((a, b) => a - b);
    assert.deepEqual(pids, [101, 102, 103, 104, 105, 106, 107, 108]);
  });

  it("leaves out skipped pids and server processes with their whole subtrees", () => {
    const pids = treeMembers(table, 100, { skipPids: new Set([101]), skipNames: SERVER_PROCESS_NAMES }).map((e) => e.pid).sort((a, b) => a - b);
    assert.deepEqual(pids, [102, 103, 104, 105]);
  });

  it("survives a pid that claims to be its own parent", () => {
    assert.deepEqual(treeMembers([entry(0, 0, "swapper", 0), entry(5, 0, "x", 1)], 0).map((e) => e.pid), [5]);
  });

  it("takes the highest summed sample, or one process's VmHWM when that is higher", () => {
    const t = new PeakTracker();
    t.add([entry(1, 0, "a", 10), entry(2, 0, "b", 20)]);
    t.add([entry(1, 0, "a", 15), entry(3, 0, "c", 5)]);
    assert.equal(t.peakBytes, 30 * 1024 * 1024);
    assert.equal(t.peakProcesses, 2);
    t.add([entry(4, 0, "d", 1, 64)]);
    assert.equal(t.peakBytes, 64 * 1024 * 1024);
    assert.equal(t.samples, 3);
  });

  it("reads this machine's process table, ourselves included", () => {
    const me = readProcTable().find((e) => e.pid === process.pid);
    assert.ok(me, "own pid in /proc");
    assert.equal(me.ppid, process.ppid);
    assert.ok(me.rssBytes > 0 && me.hwmBytes >= me.rssBytes);
  });

  it("measures the memory of child processes started during the work", async () => {
    // a child that holds ~64 MB resident for a moment
    const m = await measure(
      () =>
        new Promise<string>((resolve, reject) => {
          const child = spawn(process.execPath, ["-e", "const b = Buffer.alloc(64 * 1024 * 1024, 1); setTimeout(() => console.log(b[0]), 600)"]);
          let out = "";
          child.stdout.on("data", (c: Buffer) => (out += c.toString()));
          child.on("error", reject);
          child.on("close", () => resolve(out.trim()));
        }),
      { intervalMs: 50 },
    );
    assert.equal(m.value, "1");
    assert.ok(m.samples > 0);
    assert.ok(m.peakRssBytes >= 64 * 1024 * 1024, `peak ${m.peakRssBytes}`);
    assert.ok(m.peakProcesses >= 1);
  });
});
