// Which lab site holds the primary role and which is its standby, from what is recorded: the
// roles in lab.json and the sites' own state (a fence marker says a site lost the primary role
// in a failover). Never from the DNS answer: with automatic DNS failover a real outage can make
// the service name point at the standby, and a plan that took its source from DNS would fence
// the very site it should promote.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { FENCE_MARKER } from "./fence";
import type { Lab } from "./lab";

export interface Topology {
  /** The site that holds the primary role. */
  primary: string;
  /** The other one of the pair: the standby (or the recovery target of a failover). */
  standby: string;
}

export function isFenced(lab: Lab, site: string): boolean {
  return existsSync(join(lab.layout.dataDir(site), FENCE_MARKER));
}

export function recordedTopology(lab: Lab): Topology {
  const byRole = (role: string) => Object.entries(lab.state.sites).find(([, s]) => s.role === role)?.[0];
  const primary = byRole("primary") ?? "primary";
  const secondary = byRole("secondary") ?? "secondary";
  // The recorded primary was fenced by a failover: the secondary took the role over.
  return isFenced(lab, primary) && !isFenced(lab, secondary) ? { primary: secondary, standby: primary } : { primary, standby: secondary };
}
