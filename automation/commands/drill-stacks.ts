// `dr drill list`, `dr drill destroy <id>`, `dr drill reap`: the drill sites a run left behind
// (its runner died, or its destroy failed). On the pulumi engine they are drill-<id> stacks
// with an expiry (fp-dr:expires-at on every resource); the reaper, scheduled next to the drill
// on AWS, destroys the expired ones. Destroying is idempotent, so it also finishes a destroy
// that failed half way.
import type { Deps } from "./deps";
import { DrError } from "../core/errors";
import { table } from "../core/output";
import type { Engine } from "../engines/engine";
import { reapExpiredDrills, type DrillStack, type ReapOutcome } from "../engines/pulumi/drill-stacks";
import { sweepLooseDrillResources, type LooseResource, type SweepOutcome } from "../engines/pulumi/loose-drill-resources";
import { engineFor } from "./run-context";

type ListingEngine = Engine & { listDrillSites(): Promise<DrillStack[]> };

async function listingEngine(deps: Deps): Promise<ListingEngine> {
  const engine = await engineFor(deps);
  if (!("listDrillSites" in engine)) {
    throw new DrError("USAGE", "drill sites are listed on the pulumi engine only", { hint: "the lab destroys its drill site within the run; `dr lab status` shows what exists" });
  }
  return engine as ListingEngine;
}

export async function drillList(deps: Deps): Promise<DrillStack[]> {
  return (await listingEngine(deps)).listDrillSites();
}

export function renderDrillList(list: DrillStack[]): string {
  if (!list.length) return "no drill sites";
  return table(["drill", "stack", "expires at", ""], list.map((d) => [d.id, d.stack, d.expiresAt ?? "(unknown)", d.expired ? "expired" : ""]));
}

export async function drillDestroy(deps: Deps, id: string): Promise<{ destroyed: string }> {
  const engine = await engineFor(deps);
  await deps.out.timed(`destroy drill site drill-${id}`, () => engine.destroyDrillSite(id));
  return { destroyed: id };
}

/** Expired drill stacks, then loose drill resources no stack holds any more (in every site's region). */
export async function drillReap(deps: Deps, now = new Date()): Promise<ReapOutcome & { loose: SweepOutcome }> {
  const stacks = await reapExpiredDrills(await listingEngine(deps));
  const regions = Object.values(deps.config.sites).flatMap((s) => (s.region ? [s.region] : []));
  const loose = await sweepLooseDrillResources({ environment: deps.config.environment, regions, now });
  return { ...stacks, loose };
}

const loose = (l: LooseResource) => `${l.kind} ${l.id} (${l.region})`;

export function renderReap(r: ReapOutcome & { loose: SweepOutcome }): string {
  return [
    `destroyed: ${r.destroyed.join(", ") || "none"}`,
    `kept (not expired): ${r.kept.join(", ") || "none"}`,
    ...r.failed.map((f) => `failed: ${f.id}: ${f.error}`),
    `loose drill resources deleted: ${r.loose.deleted.map(loose).join(", ") || "none"}`,
    ...r.loose.failed.map((f) => `failed: ${loose(f)}: ${f.error}`),
  ].join("\n");
}

/** Drills or loose resources that could not be destroyed this time (the document goes with it). */
export function reapFailure(r: ReapOutcome & { loose: SweepOutcome }): DrError | undefined {
  const failed = [...r.failed.map((f) => `drill-${f.id}`), ...r.loose.failed.map(loose)];
  if (failed.length === 0) return undefined;
  return new DrError("PULUMI_FAILED", `${failed.length} expired drill resource${failed.length === 1 ? "" : "s"} not destroyed: ${failed.join(", ")}`, { hint: "the next reap tries again; dr drill destroy <id> destroys one now" });
}
