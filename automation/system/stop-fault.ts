// A fault for the leftover-process tests, beside the process tools it uses: FP_DR_FAULT names
// it like the run's other faults (core/faults.ts). Unset in real use.
import { writeFileSync } from "node:fs";
import { allProcesses, processInfo, withDescendants } from "./leftovers";

/**
 * FP_DR_FAULT=stop-during:<what>: once the child `pid` has started copying (a pgBackRest worker
 * of it is running), it and everything it started are stopped (SIGSTOP), as a copy that takes
 * very long looks from outside; this process waits on it as it would. FP_DR_FAULT_MARK receives
 * the stopped pids, one per line, or "gone" when the child ended before it could be stopped.
 *
 * It watches rather than sleeping a fixed time: a small restore finishes in about a second, so
 * a timer either fired after the copy was over or stopped it before it had begun.
 */
export function checkStopFault(what: string, pid: number): void {
  if (process.env.FP_DR_FAULT !== `stop-during:${what}`) return;
  const started = Date.now();
  const mark = (text: string) => process.env.FP_DR_FAULT_MARK && writeFileSync(process.env.FP_DR_FAULT_MARK, text);
  const watch = setInterval(() => {
    if (!processInfo(pid)) {
      clearInterval(watch);
      mark("gone\n");
      return;
    }
    const procs = allProcesses();
    const inTree = withDescendants([pid], procs);
    const tree = procs.filter((p) => inTree.has(p.pid));
    const copying = tree.some((p) => p.pid !== pid && /:local$/.test(p.argv[p.argv.length - 1] ?? ""));
    if (!copying && Date.now() - started < 2_000) return;
    clearInterval(watch);
    mark(stopTree(pid).join("\n") + "\n");
  }, 10);
}

/** SIGSTOP `root` and its descendants until no new one appears (a child may start meanwhile). */
function stopTree(root: number): number[] {
  const seen = new Set<number>();
  const stopped: number[] = [];
  for (;;) {
    const pending = [...withDescendants([root], allProcesses())].filter((p) => !seen.has(p));
    if (pending.length === 0) return stopped;
    for (const p of pending) {
      seen.add(p);
      try {
        process.kill(p, "SIGSTOP");
        stopped.push(p);
      } catch {
        // ended between the listing and the signal: nothing to stop
      }
    }
  }
}
