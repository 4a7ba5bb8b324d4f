// Sites a run left in the lab: a drill or a recover-table copy whose run died before its clean-up
// step (kill -9, a power cut) stays in lab.json, and the next one moves to the next address.
// A site is a leftover when it is a drill site that no live run holds; the live run is the
// lease's holder (core/lease.ts), and what it holds is what its journal names (its target, its
// drill or scratch copy). `dr lab status` lists leftovers; `dr lab remove-site` removes one and
// refuses the topology's sites, the one the service name serves and any a live run holds.
import type { DrConfig } from "../config/schema";
import { DrError } from "../core/errors";
import { leaseFree, readLease } from "../core/lease";
import { sharedStoreFor } from "./shared-store";
import { journalFor } from "../core/state-dirs";
import type { Lab } from "../engines/local/lab";

export interface SiteHolder {
  runId: string;
  /** The sites its journal names; undefined when its journal could not be read (it may hold any). */
  sites?: string[];
}

/** The live run (its lease is held) and the sites it holds, or undefined when no run is live. */
export async function liveRunHolder(config: DrConfig): Promise<SiteHolder | undefined> {
  const store = await sharedStoreFor(config);
  const cur = await readLease(store, config.environment);
  if (!cur || leaseFree(cur.doc)) return undefined;
  const record = await journalFor(config)
    .share(store, config.environment)
    .loadAnywhere(cur.doc.runId)
    .catch(() => undefined);
  if (!record) return { runId: cur.doc.runId };
  const f = record.facts as { targetSite?: unknown; drillId?: unknown; scratchId?: unknown };
  const named = [f.targetSite, typeof f.drillId === "string" ? `drill-${f.drillId}` : undefined, typeof f.scratchId === "string" ? `drill-${f.scratchId}` : undefined];
  return { runId: cur.doc.runId, sites: named.filter((s): s is string => typeof s === "string") };
}

function holds(holder: SiteHolder | undefined, site: string): boolean {
  return holder !== undefined && (holder.sites === undefined || holder.sites.includes(site));
}

/** Drill sites of the lab no live run holds. */
export function leftoverSites(lab: Lab, holder: SiteHolder | undefined): string[] {
  return Object.entries(lab.state.sites)
    .filter(([name, s]) => s.role === "drill" && !holds(holder, name))
    .map(([name]) => name);
}

/** Refuses (SITE_IN_USE) to remove a site of the topology, the one the service name serves, or one a live run holds. */
export async function refuseSiteInUse(lab: Lab, name: string, holder: SiteHolder | undefined): Promise<void> {
  const role = lab.state.sites[name]?.role;
  if (role === "primary" || role === "secondary") {
    throw new DrError("SITE_IN_USE", `refusing to remove site ${name}: it is the lab's ${role}`, { hint: "only drill and scratch sites can be removed; `dr lab status` lists the leftovers" });
  }
  const active = await lab.activeSite().catch(() => undefined);
  if (active === name) {
    throw new DrError("SITE_IN_USE", `refusing to remove site ${name}: the service name ${lab.state.serviceName} answers with it`, { hint: "point the service elsewhere first (a failover or switchover to another site)" });
  }
  if (holds(holder, name)) {
    throw new DrError("SITE_IN_USE", `refusing to remove site ${name}: run ${holder!.runId} holds it${holder!.sites ? "" : " (its journal could not be read)"}`, {
      hint: `wait for that run to end (\`dr lease show\`); its clean-up removes its own sites`,
    });
  }
}
