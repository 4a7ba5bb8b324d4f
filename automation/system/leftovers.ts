// Processes that touch a data directory without being its server: a pgBackRest restore left
// running by a killed `dr` (pgBackRest takes no lock for a restore, and its children outlive
// ours when we die), or anything else holding a file there open for writing. Found through
// /proc (as root we see every process), so a leftover is found even when nothing recorded it.
// The postmaster and the processes it started are the data directory's rightful writers.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { basename } from "node:path";
import { pollUntil } from "../core/poll";

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** T: stopped (SIGSTOP), Z: zombie, … (the state letter of /proc/<pid>/stat). */
  state: string;
  /** Clock ticks after boot when it started: with the pid, it names one process for good. */
  startTicks: number;
  argv: string[];
}

/** What one pid names now, or undefined when it is gone (or a zombie: it can do nothing). */
export function processInfo(pid: number): ProcessInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name sits in parentheses and may contain anything: read after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z" || fields[0] === "X") return undefined;
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    return { pid, ppid: Number(fields[1]), state: fields[0], startTicks: Number(fields[19]), argv };
  } catch {
    return undefined;
  }
}

export function allProcesses(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    const p = processInfo(Number(e));
    if (p) out.push(p);
  }
  return out;
}

/** The processes started (directly or not) by `roots`, roots included. */
export function withDescendants(roots: number[], procs: ProcessInfo[]): Set<number> {
  const found = new Set(roots);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) {
      if (!found.has(p.pid) && found.has(p.ppid)) {
        found.add(p.pid);
        grew = true;
      }
    }
  }
  return found;
}

function inside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith("/") ? dir : `${dir}/`);
}

/** A pgBackRest restore (or one of its local workers) writing into `dataDir`. */
export function isRestoreInto(p: ProcessInfo, dataDir: string): boolean {
  if (basename(p.argv[0] ?? "") !== "pgbackrest") return false;
  const command = p.argv[p.argv.length - 1] ?? "";
  return /^restore(:|$)/.test(command) && p.argv.includes(`--pg1-path=${dataDir}`);
}

/** Files under `dataDir` the process holds open for writing (O_WRONLY or O_RDWR). */
export function writableFilesIn(pid: number, dataDir: string): string[] {
  const files: string[] = [];
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return files;
  }
  for (const fd of fds) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (!inside(target, dataDir)) continue;
      const flags = /^flags:\s+([0-7]+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8"));
      if (flags && (parseInt(flags[1], 8) & 3) !== 0) files.push(target);
    } catch {
      // closed while we looked
    }
  }
  return files;
}

export interface ForeignWriter extends ProcessInfo {
  /** Why it counts: a restore into the directory, or the files it holds open for writing. */
  why: string;
}

/**
 * Every process other than the server (the postmaster `serverPid` and its children) and
 * ourselves that writes into `dataDir`, plus `extra` pids (a restore lock's recorded children)
 * and whatever those started.
 */
export function foreignWriters(dataDir: string, serverPid: number | undefined, extra: number[] = []): ForeignWriter[] {
  const procs = allProcesses();
  const server = serverPid === undefined ? new Set<number>() : withDescendants([serverPid], procs);
  const recorded = withDescendants(extra.filter((pid) => procs.some((p) => p.pid === pid)), procs);
  const out: ForeignWriter[] = [];
  for (const p of procs) {
    if (server.has(p.pid) || p.pid === process.pid) continue;
    let why: string | undefined;
    if (isRestoreInto(p, dataDir)) why = "a pgBackRest restore into it";
    else if (recorded.has(p.pid)) why = "started by a restore into it";
    else {
      const files = writableFilesIn(p.pid, dataDir);
      if (files.length) why = `holds ${files.length} file(s) there open for writing (${files[0]})`;
    }
    if (why) out.push({ ...p, why });
  }
  return out;
}

/** The command line, long arguments shortened (a line of output, not a dump). */
function commandLine(p: ProcessInfo): string {
  return p.argv.map((a) => (a.length > 60 ? `${a.slice(0, 57)}...` : a)).join(" ").slice(0, 160);
}

export function describeProcess(p: ForeignWriter): string {
  return `pid ${p.pid}${p.state === "T" ? " (stopped)" : ""} ${commandLine(p)}: ${p.why}`;
}

/**
 * Ends the processes: SIGTERM, then SIGCONT (a stopped process acts on no signal but SIGKILL
 * until continued; sent in this order it wakes up to the pending SIGTERM and copies nothing
 * more), and SIGKILL for those still alive after `graceMs`. Returns the pids still alive.
 */
export async function endProcesses(procs: ProcessInfo[], graceMs = 5000): Promise<number[]> {
  const same = (p: ProcessInfo) => processInfo(p.pid)?.startTicks === p.startTicks;
  const signal = (sig: NodeJS.Signals) => {
    for (const p of procs) {
      if (!same(p)) continue;
      try {
        process.kill(p.pid, sig);
      } catch {
        // already gone
      }
    }
  };
  const waitGone = (ms: number) => pollUntil(async () => !procs.some(same) || undefined, { what: "the leftover processes to exit", timeoutMs: ms, intervalMs: 50, giveUp: "return" });
  signal("SIGTERM");
  signal("SIGCONT");
  await waitGone(graceMs);
  signal("SIGKILL");
  await waitGone(graceMs);
  return procs.filter(same).map((p) => p.pid);
}

/** A PostgreSQL server process (postmaster or backend): its cluster's own, stopped by pg_ctl, never signalled here. */
function isServer(p: ProcessInfo): boolean {
  return basename(p.argv[0] ?? "") === "postgres" || /^postgres: /.test(p.argv[0] ?? "");
}

/**
 * Ends `roots` (the children a process started) and everything they started, except PostgreSQL
 * servers (a pg_ctl cut short leaves its postmaster to the cluster's own stop). Returns one line
 * per process ended, for the run's notes.
 */
export async function endChildTrees(roots: number[], graceMs = 5000): Promise<string[]> {
  if (roots.length === 0) return [];
  const procs = allProcesses();
  const tree = withDescendants(roots, procs);
  const targets = procs.filter((p) => tree.has(p.pid) && p.pid !== process.pid && !isServer(p));
  const survivors = await endProcesses(targets, graceMs);
  return targets.map((p) => `ended pid ${p.pid}${p.state === "T" ? " (stopped)" : ""} ${commandLine(p)}${survivors.includes(p.pid) ? " (still alive after SIGKILL)" : ""}`);
}
