// The lock a restore holds on its target data directory for the whole restore. pgBackRest
// takes none, so without it a second restore (or a resume) could lay files down under a copy
// still running, and a killed `dr` leaves its pgBackRest children writing with nothing to say
// so. The lock file sits beside the data directory (a restore rewrites what is inside it) and
// names the holder (pid, its start time, run, since) and every pgBackRest process the restore
// started. Taking the lock: a live holder refuses it; a dead holder's leftovers — the recorded
// processes and anything else still writing into the directory — are ended first, and said so.
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import { DrError } from "../core/errors";
import { redact } from "../core/redact";
import { describeProcess, endProcesses, foreignWriters, processInfo } from "../system/leftovers";

interface Pid {
  pid: number;
  /** With the pid, names one process: a reused pid is not the holder. */
  startTicks: number;
}

export interface RestoreLockHolder extends Pid {
  dataDir: string;
  host: string;
  runId?: string;
  /** The holder's command line, for the operator who finds the lock. */
  command: string;
  since: string;
  /** pgBackRest processes the restore started (their own children are found from these). */
  children: Pid[];
}

export interface HeldRestoreLock {
  readonly path: string;
  /** One line per leftover process ended before this restore could start. */
  readonly ended: string[];
  recordChild(pid: number): void;
  release(): void;
}

export function restoreLockPath(dataDir: string): string {
  return join(dirname(dataDir), `${basename(dataDir)}.restore.lock`);
}

export function readRestoreLock(path: string): RestoreLockHolder | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as RestoreLockHolder;
  } catch {
    return undefined;
  }
}

function alive(p: Pid): boolean {
  return processInfo(p.pid)?.startTicks === p.startTicks;
}

/** Written whole under a temporary name, then put in place: a reader never sees half a holder. */
function writeTemp(path: string, holder: RestoreLockHolder): string {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, JSON.stringify(holder, null, 2) + "\n", { mode: 0o644 });
  return tmp;
}

/**
 * Takes the lock on `dataDir` or refuses with nothing changed. `serverPid` is the postmaster
 * running there, if any: it and its children are the directory's own writers, never ended.
 */
export async function takeRestoreLock(dataDir: string, serverPid: number | undefined): Promise<HeldRestoreLock> {
  const path = restoreLockPath(dataDir);
  const me = processInfo(process.pid)!;
  const holder: RestoreLockHolder = {
    pid: process.pid,
    startTicks: me.startTicks,
    dataDir,
    host: hostname(),
    runId: process.env.FP_DR_RUN_ID || undefined,
    command: redact(me.argv.slice(1).join(" ")).slice(0, 300),
    since: new Date().toISOString(),
    children: [],
  };
  mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
  const tmp = writeTemp(path, holder);
  let previous: RestoreLockHolder | undefined;
  try {
    linkSync(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    previous = readRestoreLock(path);
    if (previous && previous.pid !== process.pid && alive(previous)) {
      rmSync(tmp, { force: true });
      throw new DrError("RESTORE_TARGET_LOCKED", `a restore into ${dataDir} is running: pid ${previous.pid}${previous.runId ? `, run ${previous.runId}` : ""}, since ${previous.since}`, {
        hint: `wait for it to finish; if that restore must stop, stop its \`dr\` process (pid ${previous.pid}): the next restore ends what it left running`,
        details: { holder: previous },
      });
    }
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
  if (readRestoreLock(path)?.pid !== process.pid) {
    throw new DrError("RESTORE_TARGET_LOCKED", `another restore took the lock on ${dataDir} at the same moment`, { hint: "run one restore at a time into a data directory" });
  }

  // What a dead holder (or anyone else) left writing here is ended before a file is touched.
  const recorded = (previous?.children ?? []).filter(alive).map((c) => c.pid);
  const leftovers = foreignWriters(dataDir, serverPid, recorded);
  const ended = leftovers.map((p) => `ended ${describeProcess(p)}${previous ? ` (left by pid ${previous.pid}${previous.runId ? `, run ${previous.runId}` : ""})` : ""}`);
  const survivors = await endProcesses(leftovers);
  if (survivors.length) {
    rmSync(path, { force: true });
    throw new DrError("FOREIGN_WRITER", `processes still write into ${dataDir} after SIGKILL: pid ${survivors.join(", ")}`, {
      hint: "a process in uninterruptible I/O cannot be ended; wait for it (ps -o pid,stat,cmd -p <pid>) and run again",
    });
  }

  return {
    path,
    ended,
    recordChild(pid: number) {
      const p = processInfo(pid);
      if (!p) return;
      holder.children.push({ pid, startTicks: p.startTicks });
      renameSync(writeTemp(path, holder), path);
    },
    release() {
      const cur = readRestoreLock(path);
      if (cur?.pid === holder.pid && cur.startTicks === holder.startTicks) rmSync(path, { force: true });
    },
  };
}

/** Refuses when anything but the server writes into `dataDir` (opening it for writes then would let both write). */
export function refuseForeignWriters(dataDir: string, serverPid: number | undefined, action: string): void {
  const lock = readRestoreLock(restoreLockPath(dataDir));
  const recorded = lock && lock.pid !== process.pid ? lock.children.filter(alive).map((c) => c.pid) : [];
  const writers = foreignWriters(dataDir, serverPid, recorded);
  if (writers.length === 0) return;
  throw new DrError("FOREIGN_WRITER", `refusing to ${action}: ${writers.length} process(es) other than the server write into ${dataDir}: ${writers.map(describeProcess).join("; ")}`, {
    hint: "a restore left running would overwrite what the server writes: end those processes (or `dr resume` the run that started them, which ends them) and try again",
    details: { pids: writers.map((w) => w.pid) },
  });
}
