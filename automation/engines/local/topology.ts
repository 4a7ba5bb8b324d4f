// Which lab site holds the primary role and which is its standby, from what is recorded: the
// pair a switchover wrote in topology.json, else the roles in lab.json, and the sites' own state
// (a fence marker says a site lost the primary role in a failover). Never from the DNS answer: with automatic DNS failover a real outage can make
// the service name point at the standby, and a plan that took its source from DNS would fence
// the very site it should promote.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FENCE_MARKER } from "./markers";
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

/** <lab>/topology.json: written by a switchover, which swaps the roles of the pair without fencing either. */
function topologyFile(lab: Lab): string {
  return join(lab.layout.root, "topology.json");
}

export function recordTopology(lab: Lab, t: Topology): void {
  const tmp = `${topologyFile(lab)}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify({ ...t, at: new Date().toISOString() }) + "\n");
  renameSync(tmp, topologyFile(lab));
}

export function recordedTopology(lab: Lab): Topology {
  const byRole = (role: string) => Object.entries(lab.state.sites).find(([, s]) => s.role === role)?.[0];
  const recorded = existsSync(topologyFile(lab)) ? (JSON.parse(readFileSync(topologyFile(lab), "utf8")) as Topology) : undefined;
  const primary = recorded?.primary ?? byRole("primary") ?? "primary";
  const secondary = recorded?.standby ?? byRole("secondary") ?? "secondary";
  // The recorded primary was fenced by a failover: the secondary took the role over.
  return isFenced(lab, primary) && !isFenced(lab, secondary) ? { primary: secondary, standby: primary } : { primary, standby: secondary };
}
