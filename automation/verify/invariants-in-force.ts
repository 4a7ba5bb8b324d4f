// The invariants the gate checks and every manifest records: the configured ones, or, when none
// are configured on the lab, the sample database's built-in set. `dr config show` lists them
// with where they come from, so that an operator sees what can fail (or warn at) the gate.
import type { Invariant } from "../config/common";
import type { DrConfig } from "../config/schema";
import { sampleInvariants } from "../engines/local/sample-data/invariants";

export interface InvariantsInForce {
  origin: "configured (verification.invariants)" | "built-in (the lab's sample database)" | "none";
  invariants: Invariant[];
}

export function invariantsInForce(config: DrConfig): InvariantsInForce {
  const configured = config.verification.invariants;
  if (configured.length > 0) return { origin: "configured (verification.invariants)", invariants: configured };
  if (config.engine === "local") return { origin: "built-in (the lab's sample database)", invariants: sampleInvariants };
  return { origin: "none", invariants: [] };
}

/** The lab's default invariants are the sample database's; config may replace them. */
export function invariantsFor(deps: { config: DrConfig }): Invariant[] {
  return invariantsInForce(deps.config).invariants;
}
