// Fault injection for the resume tests: FP_DR_FAULT names a point in a run where the process
// kills itself with SIGKILL (no clean-up, no journal flush beyond what was already written),
// exactly as a dead operator laptop or an OOM kill would. Unset in real use.
//   FP_DR_FAULT=kill-before:<step-id> | kill-after:<step-id> | kill-during:<step-id>
//              | fail-in:<step-id>   (the step throws, as a failed command would)
import { writeFileSync } from "node:fs";
import { DrError } from "./errors";
import { allProcesses, withDescendants } from "../system/leftovers";

export function checkFault(when: "before" | "after" | "during", stepId: string): void {
  const spec = process.env.FP_DR_FAULT;
  if (!spec) return;
  if (spec === `kill-${when}:${stepId}`) {
    // Leave a trace for the test (stderr may be lost with SIGKILL).
    if (process.env.FP_DR_FAULT_MARK) writeFileSync(process.env.FP_DR_FAULT_MARK, `${spec}\n`);
    process.kill(process.pid, "SIGKILL");
  }
}

/** Throws inside a step when FP_DR_FAULT=fail-in:<step-id>. */
export function checkInjectedFailure(stepId: string): void {
  if (process.env.FP_DR_FAULT === `fail-in:${stepId}`) {
    throw new DrError("INTERNAL", `injected failure in step ${stepId} (FP_DR_FAULT)`, { hint: "unset FP_DR_FAULT: it is for tests" });
  }
}

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
