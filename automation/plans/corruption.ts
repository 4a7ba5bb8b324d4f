// Runbook §2, Database Corruption, as a plan. Detection decides which of two paths runs (the
// other's steps are recorded as skipped):
//   index-only: detect → reindex → recheck (gate) → first write → report
//   table:      detect → bring up → assess → drain → fence → restore → verify (gate)
//               → recheck restored (gate) → open → swap DNS → first write → post-checks → report
// The recovery site is brought up first (it may be a new replacement site that the pre-flight
// needs to exist); the damaged site keeps serving until the pre-flight has passed.
// The runbook's step 4, `pg_resetwal`, has no equivalent here: it discards WAL and with it
// committed transactions, and leaves the damage where it is (see corruption-steps.ts).
import type { Plan } from "./plan";
import { detectStep, drainStep, recheckRestoredStep, recheckStep, reindexStep } from "./corruption-steps";
import { assessStep, bringUpStep, fenceStep, firstWriteStep, openStep, postChecksStep, swapDnsStep } from "./failover-steps";
import { reportStep } from "./report-step";
import { restoreStep, verifyStep } from "./restore-steps";

export const corruptionPlan: Plan = {
  scenario: "corruption",
  title: "database corruption: find every damaged relation; REINDEX damaged indexes, or restore a clean copy on another site",
  runbook: "§2 Database Corruption Recovery",
  steps: [
    detectStep,
    reindexStep,
    recheckStep,
    bringUpStep,
    assessStep,
    drainStep,
    fenceStep,
    restoreStep,
    verifyStep,
    recheckRestoredStep,
    openStep,
    swapDnsStep,
    firstWriteStep,
    postChecksStep,
    reportStep,
  ],
};
