// `dr verify`: the gate. Compares a restored site with its source (the primary) and runs the
// structural checks and the configured invariants. Exit status 0 only when every check passed.
import type { Deps } from "./deps";
import { table, formatMs } from "../core/output";
import { Lab } from "../engines/local/lab";
import { gateOptions } from "../verify/invariants";
import { recordVerification } from "../engines/local/standby";
import { verifyDatabase, type VerifyReport } from "../verify/checks";
import { DrError } from "../core/errors";

export interface VerifySiteResult extends VerifyReport {
  site: string;
  against?: string;
  database: string;
}

export async function verifySite(deps: Deps, opts: { site?: string; against?: string; noSource?: boolean } = {}): Promise<VerifySiteResult> {
  const lab = Lab.open(deps.config);
  const site = opts.site ?? "secondary";
  const against = opts.noSource ? undefined : opts.against ?? "primary";
  const restored = await lab.connect(site);
  const source = against ? await lab.connect(against) : undefined;
  try {
    const report = await deps.out.timed(`verify ${site}${against ? ` against ${against}` : ""}`, () =>
      verifyDatabase(restored, source, gateOptions(deps.config, () => lab.connect(site))),
    );
    recordVerification(lab, site, report);
    return { site, against, database: lab.state.database, ...report };
  } finally {
    await restored.end();
    await source?.end();
  }
}

/** A verification with a failed check is the gate failing (the document goes with it). */
export function verifyFailure(r: VerifySiteResult): DrError | undefined {
  if (r.ok) return undefined;
  const failed = r.checks.filter((c) => !c.ok).map((c) => c.name);
  return new DrError("GATE_FAILED", `${r.site} is not verified${r.against ? ` against ${r.against}` : ""}: ${failed.length} of ${r.checks.length} checks failed (${failed.join("; ")})`, {
    hint: "see the checks in the result; restore again (another set, or the other repository) before anything is opened",
  });
}

export function renderVerifySite(r: VerifySiteResult): string {
  return [
    table(["check", "result", "detail", "took"], r.checks.map((c) => [c.name, c.ok ? (c.warning ? "warn" : "pass") : "FAIL", c.detail, formatMs(c.durationMs)])),
    `verdict: ${r.ok ? "VERIFIED" : "NOT VERIFIED"} — ${r.site}${r.against ? ` against ${r.against}` : ""} (${r.database}), ${formatMs(r.durationMs)}`,
  ].join("\n");
}
