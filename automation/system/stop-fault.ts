// A fault for the leftover-process tests, beside the process tools it uses: FP_DR_FAULT names
// it like the run's other faults (core/faults.ts). Unset in real use.
import { writeFileSync } from "node:fs";
import { allProcesses, withDescendants } from "./leftovers";

/**
 * FP_DR_FAULT=stop-during:<what>: shortly after the child `pid` starts, it and everything it
 * started are stopped (SIGSTOP), as a copy that takes very long looks from outside; this process
 * waits on it as it would. FP_DR_FAULT_MARK receives the stopped pids, one per line.
 */
export function checkStopFault(what: string, pid: number): void {
  if (process.env.FP_DR_FAULT !== `stop-during:${what}`) return;
  setTimeout(() => {
    const pids = [...withDescendants([pid], allProcesses())];
    for (const p of pids) process.kill(p, "SIGSTOP");
    if (process.env.FP_DR_FAULT_MARK) writeFileSync(process.env.FP_DR_FAULT_MARK, pids.join("\n") + "\n");
  }, 300);
}
