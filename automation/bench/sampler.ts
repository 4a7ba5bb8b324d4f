// Wall time and peak memory of one piece of work. The work runs child processes of ours
// (pg_dump, gzip, psql, pgbackrest, cp …); every ~100 ms the process table is read and the RSS
// of our new descendants is summed. The peak is the larger of the highest sum seen and the
// highest single-process VmHWM (which catches a spike between two samples).
// Left out: processes that already ran before the work began (the lab's object store and DNS
// daemons) and PostgreSQL servers started by it (their memory is the server's, not the tool's).
import { treeMembers, readProcTable, type ProcEntry } from "./proc";

export interface Measured<T> {
  value: T;
  wallMs: number;
  peakRssBytes: number;
  /** Most processes seen at once in the measured tree. */
  peakProcesses: number;
  samples: number;
}

export interface SamplerOptions {
  intervalMs?: number;
  /** Root of the tree (default: this process). */
  root?: number;
  /** Reads the process table (tests pass a fake). */
  readTable?: () => ProcEntry[];
}

/** Accumulates samples of a process tree; pure apart from what it is fed. */
export class PeakTracker {
  peakSumBytes = 0;
  peakHwmBytes = 0;
  peakProcesses = 0;
  samples = 0;

  add(members: readonly ProcEntry[]): void {
    let sum = 0;
    for (const m of members) {
      sum += m.rssBytes;
      if (m.hwmBytes > this.peakHwmBytes) this.peakHwmBytes = m.hwmBytes;
    }
    this.peakSumBytes = Math.max(this.peakSumBytes, sum);
    this.peakProcesses = Math.max(this.peakProcesses, members.length);
    this.samples++;
  }

  get peakBytes(): number {
    return Math.max(this.peakSumBytes, this.peakHwmBytes);
  }
}

export const SERVER_PROCESS_NAMES: ReadonlySet<string> = new Set(["postgres", "postmaster"]);

export async function measure<T>(work: () => Promise<T>, opts: SamplerOptions = {}): Promise<Measured<T>> {
  const root = opts.root ?? process.pid;
  const readTable = opts.readTable ?? (() => readProcTable());
  const before = new Set(treeMembers(readTable(), root).map((e) => e.pid));
  const tracker = new PeakTracker();
  const sample = () => {
    try {
      tracker.add(treeMembers(readTable(), root, { skipPids: before, skipNames: SERVER_PROCESS_NAMES }));
    } catch {
      // a sample lost is not a failure of the work
    }
  };
  const timer = setInterval(sample, opts.intervalMs ?? 100);
  const started = performance.now();
  try {
    const value = await work();
    const wallMs = Math.round(performance.now() - started);
    return { value, wallMs, peakRssBytes: tracker.peakBytes, peakProcesses: tracker.peakProcesses, samples: tracker.samples };
  } finally {
    clearInterval(timer);
  }
}
