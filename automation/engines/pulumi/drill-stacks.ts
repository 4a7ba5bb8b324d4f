// The drill-<id> stacks in the backend, for `dr drill list`, `dr drill destroy <id>` and the
// reaper (`dr drill reap`): a drill whose runner died, or whose destroy failed, leaves a stack
// behind; its `fp-dr:drill` config (id, expiresAt: also the fp-dr:expires-at tag on every
// resource) says whose it is and when it may go.
import type { StackOps } from "./stack-ops";
import { configValue } from "./stack-config";

export interface DrillStack {
  id: string;
  stack: string;
  /** From the stack's fp-dr:drill config; undefined when a creation died before writing it. */
  expiresAt?: string;
  /** Past its expiry (or without one: nothing will ever claim it). */
  expired: boolean;
}

export async function listDrillStacks(ops: StackOps, prefix: string, now: Date): Promise<DrillStack[]> {
  const out: DrillStack[] = [];
  for (const stack of (await ops.listStacks()).sort()) {
    const short = stack.split("/").pop()!;
    if (!short.startsWith(prefix)) continue;
    const drill = configValue(await ops.getAllConfig(short), "fp-dr:drill") as { id?: string; expiresAt?: string } | undefined;
    const expiresAt = drill?.expiresAt;
    out.push({ id: drill?.id ?? short.slice(prefix.length), stack: short, expiresAt, expired: expiresAt === undefined || new Date(expiresAt).getTime() <= now.getTime() });
  }
  return out;
}

export interface ReapOutcome {
  destroyed: string[];
  kept: string[];
  /** Drills whose destroy failed this time (the next reap tries again). */
  failed: { id: string; error: string }[];
}

/**
 * Destroys every drill stack past its expiry, one by one; a failure is recorded and the
 * others still go. Unexpired drills (one running now) are left alone.
 */
export async function reapExpiredDrills(engine: { listDrillSites(): Promise<DrillStack[]>; destroyDrillSite(id: string): Promise<void> }): Promise<ReapOutcome> {
  const outcome: ReapOutcome = { destroyed: [], kept: [], failed: [] };
  for (const d of await engine.listDrillSites()) {
    if (!d.expired) {
      outcome.kept.push(d.id);
      continue;
    }
    try {
      await engine.destroyDrillSite(d.id);
      outcome.destroyed.push(d.id);
    } catch (e) {
      outcome.failed.push({ id: d.id, error: (e as Error).message });
    }
  }
  return outcome;
}
