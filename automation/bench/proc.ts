// Reading the process table from /proc: who is whose child and how much memory each holds.
// Parsing and tree walking are pure (tested with canned text); only readProcTable touches /proc.
import { readdirSync, readFileSync } from "node:fs";

export interface ProcEntry {
  pid: number;
  ppid: number;
  /** The executable's name as the kernel keeps it (`Name:`), e.g. pgbackrest, pg_dump, postgres. */
  name: string;
  /** Resident set size now, in bytes (0 for kernel threads). */
  rssBytes: number;
  /** Resident set high-water mark of the process so far, in bytes. */
  hwmBytes: number;
}

/** Parses /proc/<pid>/status; undefined when it lacks the fields every process has. */
export function parseProcStatus(pid: number, text: string): ProcEntry | undefined {
  const fields = new Map<string, string>();
  for (const line of text.split("\n")) {
    const i = line.indexOf(":");
    if (i > 0) fields.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  const name = fields.get("Name");
  const ppid = Number(fields.get("PPid"));
  if (name === undefined || !Number.isInteger(ppid)) return undefined;
  return { pid, ppid, name, rssBytes: kilobytes(fields.get("VmRSS")), hwmBytes: kilobytes(fields.get("VmHWM")) };
}

/** "12345 kB" → bytes; absent → 0. */
function kilobytes(value: string | undefined): number {
  const m = value === undefined ? null : /^(\d+)\s*kB$/i.exec(value);
  return m ? Number(m[1]) * 1024 : 0;
}

export interface TreeFilter {
  /** Processes left out together with their descendants (e.g. daemons running before we began). */
  skipPids?: ReadonlySet<number>;
  /** Executable names left out together with their descendants (e.g. postgres servers). */
  skipNames?: ReadonlySet<string>;
}

/** The descendants of `root` (not root itself), minus skipped processes and their subtrees. */
export function treeMembers(entries: readonly ProcEntry[], root: number, filter: TreeFilter = {}): ProcEntry[] {
  const children = new Map<number, ProcEntry[]>();
  for (const e of entries) {
    if (e.pid === e.ppid) continue;
    const list = children.get(e.ppid);
    if (list) list.push(e);
    else children.set(e.ppid, [e]);
  }
  const members: ProcEntry[] = [];
  const seen = new Set<number>([root]);
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    for (const child of children.get(pid) ?? []) {
      if (seen.has(child.pid)) continue;
      seen.add(child.pid);
      if (filter.skipPids?.has(child.pid) || filter.skipNames?.has(child.name)) continue;
      members.push(child);
      queue.push(child.pid);
    }
  }
  return members;
}

/** Every process /proc shows now (processes that end while we read are simply absent). */
export function readProcTable(procDir = "/proc"): ProcEntry[] {
  const entries: ProcEntry[] = [];
  for (const name of readdirSync(procDir)) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const e = parseProcStatus(Number(name), readFileSync(`${procDir}/${name}/status`, "utf8"));
      if (e) entries.push(e);
    } catch {
      // gone between readdir and read
    }
  }
  return entries;
}
