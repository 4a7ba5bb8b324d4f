// Split brain as the lab sees it, from every site's state: a fenced site that runs (restarted by
// hand after a failover: read-only with its standby.signal, but it must stay down), and more
// than one site of the service accepting writes (the standby.signal removed: two primaries
// diverge). Both are critical in `dr health` and `dr lab status`. Drill and scratch sites are
// opened for writes on purpose and never serve the application: not counted.
import type { HealthFinding } from "../../postgres/health-types";

/** What the check needs of a site (lab status gathers it). */
export interface SiteRoleView {
  name: string;
  role: string;
  /** What lab.json says the site was built as (roles in status follow what happened to it). */
  builtAs?: string;
  state: string;
  /** undefined: running but its mode could not be read. */
  inRecovery?: boolean;
  fenced: boolean;
  serves: boolean;
}

const mode = (s: SiteRoleView) => (s.inRecovery === false ? "accepting writes" : s.inRecovery ? "read-only, in recovery" : "mode unknown");

export function splitBrainFindings(sites: SiteRoleView[]): HealthFinding[] {
  const findings: HealthFinding[] = [];
  for (const s of sites.filter((x) => x.fenced && x.state === "running")) {
    findings.push({
      check: "fenced-site-running",
      severity: "critical",
      message: `site ${s.name} is fenced (it lost the primary role in a failover) but running, ${mode(s)}: stop it (\`pg_ctl stop\`) and keep it down until it is rebuilt`,
    });
  }
  const serviceSite = (s: SiteRoleView) => ["primary", "secondary"].includes(s.builtAs ?? s.role);
  const writable = sites.filter((s) => serviceSite(s) && s.state === "running" && s.inRecovery === false);
  if (writable.length > 1) {
    const serving = writable.find((s) => s.serves)?.name;
    findings.push({
      check: "split-brain",
      severity: "critical",
      message: `split brain: ${writable.length} sites accept writes (${writable.map((s) => s.name).join(", ")}); the service name answers ${serving ?? "none of them"}: stop every other one now, then reconcile the writes it took`,
      value: writable.length,
      unit: "count",
    });
  }
  return findings;
}
