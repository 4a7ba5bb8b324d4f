// The recovery plans, as the runbook tells them. `dr plan show <scenario>` prints these.
import type { Plan, Step } from "./plan";
import type { RunScenario } from "../core/run-record";
import { createDrillSiteStep, destroyDrillSiteStep, drillAuditStep, drillOpenStep, restorePointStep } from "./drill-steps";
import { assessStep, bringUpStep, fenceStep, firstWriteStep, openStep, postChecksStep, swapDnsStep } from "./failover-steps";
import { corruptionPlan } from "./corruption";
import { deletionPlan } from "./deletion";
import { securityPlan } from "./incident";
import { reportStep } from "./report-step";
import { restoreStep, verifyStep } from "./restore-steps";
import { switchoverPlan } from "./switchover";
import { reprotectPlan } from "./reprotect";

/** Runbook §4: the primary's data center is gone; the standby region takes over. */
export const datacenterPlan: Plan = {
  scenario: "datacenter",
  title: "data center outage: fail over to the secondary site from the offsite repository",
  runbook: "§4 Data Center Outage Recovery",
  steps: [assessStep, fenceStep, bringUpStep, restoreStep, verifyStep, openStep, swapDnsStep, firstWriteStep, postChecksStep, reportStep],
};

/** Runbook §3: the primary's host is lost; a replacement in the same region, from the site's own repository. */
export const hardwarePlan: Plan = {
  scenario: "hardware",
  title: "hardware failure: replace the primary's host in its region and restore it",
  runbook: "§3 Hardware Failure Recovery",
  steps: [assessStep, fenceStep, bringUpStep, restoreStep, verifyStep, openStep, swapDnsStep, firstWriteStep, postChecksStep, reportStep],
};

/** Runbook "Monthly Disaster Recovery Test": restore offsite into a throwaway site, prove it, destroy it. */
export const drillPlan: Plan = {
  scenario: "drill",
  title: "monthly DR drill: restore the offsite backup into a throwaway site, verify, measure, destroy",
  runbook: "Testing and Validation: Monthly Disaster Recovery Test",
  steps: [restorePointStep, createDrillSiteStep, restoreStep, verifyStep, drillOpenStep, drillAuditStep, destroyDrillSiteStep, reportStep],
  // destroy-drill-site always runs, so a failed drill has nothing left to resume against.
  notResumableAfterFailure: { why: "its site was destroyed", hint: "start a new drill: `dr drill`" },
};

const plans: Partial<Record<RunScenario, Plan>> = { datacenter: datacenterPlan, hardware: hardwarePlan, drill: drillPlan, corruption: corruptionPlan, deletion: deletionPlan, security: securityPlan, switchover: switchoverPlan, reprotect: reprotectPlan };

export function planFor(scenario: RunScenario): Plan {
  const p = plans[scenario];
  if (!p) throw new Error(`no plan for ${scenario}`);
  return p;
}

export function describePlan(plan: Plan): { scenario: string; title: string; runbook: string; steps: Pick<Step, "id" | "name" | "destructive" | "gate" | "always" | "estimateSeconds">[] } {
  return {
    scenario: plan.scenario,
    title: plan.title,
    runbook: plan.runbook,
    steps: plan.steps.map((s) => ({ id: s.id, name: s.name, destructive: s.destructive, gate: s.gate, always: s.always, estimateSeconds: s.estimateSeconds })),
  };
}

export const plannedScenarios = Object.keys(plans) as RunScenario[];
