// The recorded topology a failover acts on, per engine: on the lab, lab.json's roles and the
// sites' fence markers (engines/local/topology.ts); on AWS, the primary the DNS stack's config
// was last forced to (activeSite, set by every promotion) and the fences in the stacks' outputs,
// else the configured site roles. Never the DNS answer.
import type { DrConfig } from "../config/schema";
import type { Engine } from "../engines/engine";
import { Lab } from "../engines/local/lab";
import { isFenced, recordedTopology } from "../engines/local/topology";

export interface FailoverPair {
  source: string;
  target: string;
  /** The target carries a fence (it lost the primary role before): never promoted. */
  targetFenced: boolean;
}

export function failoverPair(config: DrConfig): FailoverPair {
  if (config.engine === "local") {
    const lab = Lab.open(config);
    const t = recordedTopology(lab);
    return { source: t.primary, target: t.standby, targetFenced: isFenced(lab, t.standby) };
  }
  const byRole = (role: string) => Object.entries(config.sites).find(([, s]) => s.role === role)?.[0];
  return { source: byRole("primary") ?? "primary", target: byRole("secondary") ?? "secondary", targetFenced: false };
}

/** failoverPair, with what the engine records of role changes (AWS: activeSite and fences). */
export async function recordedPair(config: DrConfig, engine: Engine): Promise<FailoverPair> {
  const configured = failoverPair(config);
  const roles = engine.standbyRoles;
  if (config.engine === "local" || !roles?.recordedPrimary) return configured;
  const primary = (await roles.recordedPrimary()) ?? configured.source;
  const target = primary === configured.source ? configured.target : configured.source;
  return { source: primary, target, targetFenced: (await roles.fenced?.(target)) ?? false };
}
