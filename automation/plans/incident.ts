// Runbook §5 Security Incident Recovery as a plan: ISOLATE, PRESERVE, (contain the backup
// repository), ASSESS, RESTORE the newest clean recovery point before the incident into a NEW
// site, the gate, open, rotate every credential, and only then DNS; the chain of custody and
// the report whatever happened. Run by the same runner as a failover (journal, lease, resume);
// the failover's own steps are reused, wrapped so that each one is written into the chain of
// custody as it happens.
import type { Plan } from "./plan";
import { bringUpStep, firstWriteStep, openStep, postChecksStep, swapDnsStep } from "./failover-steps";
import { assessIncidentStep, custodyStep, isolateStep, preserveStep, restoreSummary, rotateDatabaseStep, rotateRepositoryStep, verifySummary, withCustody } from "./incident-steps";
import { reportStep } from "./report-step";
import { restoreStep, verifyStep } from "./restore-steps";

export const securityPlan: Plan = {
  scenario: "security",
  title: "security incident: isolate, preserve, restore the last clean point before the incident elsewhere, rotate credentials",
  runbook: "§5 Security Incident Recovery",
  steps: [
    isolateStep,
    preserveStep,
    rotateRepositoryStep,
    assessIncidentStep,
    bringUpStep,
    withCustody(restoreStep, "restore", restoreSummary, (ctx) => ({ excludedSets: (ctx.facts.excludedSets as string[] | undefined) ?? [] })),
    withCustody(verifyStep, "verify", verifySummary),
    withCustody(openStep, "open-for-writes", (_ctx, detail) => detail ?? "opened for writes"),
    rotateDatabaseStep,
    withCustody(swapDnsStep, "swap-dns", (ctx, detail) => `service name moved to ${ctx.facts.targetSite}: ${detail ?? ""}`),
    firstWriteStep,
    postChecksStep,
    custodyStep,
    reportStep,
  ],
};
