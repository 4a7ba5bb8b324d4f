// The runbook's "Escalation Matrix" in the shape Incident Manager takes it: stages with the
// minutes to wait before the next one, and the impact of an incident per alert severity
// (runbook impact levels: Level 1 critical, Level 2 degraded). Pure.
import type { Escalation, Severity } from "../automation/config/common";

/** Incident Manager impact (1 = critical … 5 = no impact) of the severities that open incidents. */
export const severityImpact: Partial<Record<Severity, number>> = {
  /** Runbook Level 1: complete system unavailable, disk full, backups failing. */
  critical: 1,
  /** Runbook Level 2: degraded performance (slow queries, pool exhaustion, login attacks). */
  warning: 2,
};

export interface PlanStage {
  /** Contact name, as in escalation.stages[].contact. */
  contact: string;
  /** Minutes before the next stage starts (0 for the last). */
  durationInMinutes: number;
}

/**
 * Stages from the matrix: "0-15 min on-call DBA, 15-30 senior DBA + dev lead, 30-60 IT
 * director + business lead, 1h+ executive team" → durations 15, 15, 30, 0.
 */
export function escalationStages(matrix: Escalation): PlanStage[] {
  const stages = [...matrix.stages].sort((a, b) => a.after - b.after);
  if (stages[0].after !== 0) throw new Error(`the first escalation stage must start at 0 (it starts at ${stages[0].after}s)`);
  return stages.map((s, i) => {
    const next = stages[i + 1];
    const minutes = next ? Math.round((next.after - s.after) / 60) : 0;
    if (next && minutes < 1) throw new Error(`escalation stages "${s.contact}" and "${next.contact}" start less than a minute apart`);
    return { contact: s.contact, durationInMinutes: minutes };
  });
}
