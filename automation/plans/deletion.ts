// Runbook §6, Accidental Data Deletion Recovery, as a plan: the runner journals, locks, times
// and reports it like every other recovery. `dr recover-table` starts it.
import type { Plan } from "./plan";
import { applyStep, createScratchStep, diffStep, locateStep, removeScratchStep, restoreScratchStep, verifyAppliedStep } from "./deletion-steps";
import { reportStep } from "./report-step";

/**
 * Find when the rows went, restore a throwaway copy of only that database to just before, diff
 * the table with production by key, write back what is missing (--apply), verify, remove the
 * copy (always), report.
 */
export const deletionPlan: Plan = {
  scenario: "deletion",
  title: "accidental deletion: restore a copy to just before it, diff the table with production, write the missing rows back",
  runbook: "§6 Accidental Data Deletion Recovery",
  steps: [locateStep, createScratchStep, restoreScratchStep, diffStep, applyStep, verifyAppliedStep, removeScratchStep, reportStep],
  // remove-copy always runs, so a failed run has no copy left to diff or write back from.
  notResumableAfterFailure: { why: "its throwaway copy was removed", hint: "start again: `dr recover-table --table <schema.table>`" },
};
