// Fault injection for the resume tests: FP_DR_FAULT names a point in a run where the process
// kills itself with SIGKILL (no clean-up, no journal flush beyond what was already written),
// exactly as a dead operator laptop or an OOM kill would. Unset in real use.
//   FP_DR_FAULT=kill-before:<step-id> | kill-after:<step-id> | kill-during:<step-id>
//              | fail-in:<step-id>   (the step throws, as a failed command would)
//              | stop-before:<step-id> (the process stops itself with SIGSTOP, as a laptop that
//                                       sleeps or a stalled VM; the test continues it with SIGCONT)
//              | pause-during:<step-id> (the same at the step's "during" point, so that a test can
//                                       change what the step left before it goes on)
// (stop-during:<what>, which freezes a child process, is system/stop-fault.ts.)
import { writeFileSync } from "node:fs";
import { DrError } from "./errors";

export function checkFault(when: "before" | "after" | "during", stepId: string): void {
  const spec = process.env.FP_DR_FAULT;
  if (!spec) return;
  if ((when === "before" && spec === `stop-before:${stepId}`) || (when === "during" && spec === `pause-during:${stepId}`)) {
    if (process.env.FP_DR_FAULT_MARK) writeFileSync(process.env.FP_DR_FAULT_MARK, `${spec}\n`);
    process.kill(process.pid, "SIGSTOP");
    return;
  }
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
