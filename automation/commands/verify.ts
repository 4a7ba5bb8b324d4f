// `dr verify`: the gate. Compares a restored site with its source (the primary) and runs the
// structural checks and the configured invariants. Exit status 0 only when every check passed.
import type { Deps } from "../cli/context";
import type { Invariant } from "../config/common";
import { table, formatMs } from "../core/output";
import { Lab } from "../engines/local/lab";
import { recordVerification } from "../engines/local/standby";
import { sampleInvariants } from "../engines/local/sample-data/invariants";
import { verifyDatabase, type VerifyReport } from "../verify/checks";

export interface VerifySiteResult extends VerifyReport {
  site: string;
  against?: string;
  database: string;
}

/** The lab's default invariants are the sample database's; config may replace them. */
export function invariantsFor(deps: Deps): Invariant[] {
  const configured = deps.config.verification.invariants;
  return configured.length > 0 ? configured : deps.config.engine === "local" ? sampleInvariants : [];
}

export async function verifySite(deps: Deps, opts: { site?: string; against?: string; noSource?: boolean } = {}): Promise<VerifySiteResult> {
  const lab = Lab.open(deps.config);
  const site = opts.site ?? "secondary";
  const against = opts.noSource ? undefined : opts.against ?? "primary";
  const restored = await lab.connect(site);
  const source = against ? await lab.connect(against) : undefined;
  try {
    const report = await deps.out.timed(`verify ${site}${against ? ` against ${against}` : ""}`, () =>
      verifyDatabase(restored, source, { invariants: invariantsFor(deps), amcheck: deps.config.verification.amcheck }),
    );
    recordVerification(lab, site, report);
    return { site, against, database: lab.state.database, ...report };
  } finally {
    await restored.end();
    await source?.end();
  }
}

export function renderVerifySite(r: VerifySiteResult): string {
  return [
    table(["check", "result", "detail", "took"], r.checks.map((c) => [c.name, c.ok ? "pass" : "FAIL", c.detail, formatMs(c.durationMs)])),
    `verdict: ${r.ok ? "VERIFIED" : "NOT VERIFIED"} — ${r.site}${r.against ? ` against ${r.against}` : ""} (${r.database}), ${formatMs(r.durationMs)}`,
  ].join("\n");
}
