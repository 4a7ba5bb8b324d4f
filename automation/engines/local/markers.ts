// What a site's data directory says about it, read by the lab without running anything:
//   fenced    this site lost the primary role in a failover; restarted, it comes back read-only
//             (the marker file, with standby.signal)
//   isolated  cut off for a security incident: the first line of its pg_hba.conf names it
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const FENCE_MARKER = "FENCED_BY_FP_DR";

export const ISOLATION_HEADER = "# ISOLATED by fp-dr";

/** The incident id a data directory's pg_hba.conf was isolated for, if it was. */
export function isolatedFor(dataDir: string): string | undefined {
  const file = join(dataDir, "pg_hba.conf");
  if (!existsSync(file)) return undefined;
  const first = readFileSync(file, "utf8").split("\n", 1)[0];
  return first.startsWith(ISOLATION_HEADER) ? (/incident (\S+)/.exec(first)?.[1] ?? "unknown") : undefined;
}

/**
 * What the fence marker says: when, by which run and under which lease epoch (core/lease.ts),
 * so that a fence can be traced to the run that owned the decision.
 */
export function fenceMarkerText(now = new Date()): string {
  const by = [process.env.FP_DR_RUN_ID && `run ${process.env.FP_DR_RUN_ID}`, process.env.FP_DR_EPOCH && `lease epoch ${process.env.FP_DR_EPOCH}`].filter(Boolean).join(", ");
  return `fenced at ${now.toISOString()} by fp-dr${by ? ` (${by})` : ""}: this site lost the primary role; do not remove standby.signal\nepoch=${process.env.FP_DR_EPOCH ?? ""}\n`;
}
