// Failover by promotion of the warm standby (datacenter and hardware alike): the same plan
// shape as the restore path, with the restore and its O(size) gate replaced by a catch-up and
// an O(1) gate, so that recovery time does not grow with the database. Which path a failover
// takes is decided here, from the standby's own state: a standby that is missing, unreachable,
// fenced, on an older timeline than the archive, or further behind than `standby.maxLag` sends
// the failover down the restore path, and the run says why.
import { formatDuration } from "../config/common";
import type { DrConfig } from "../config/schema";
import type { Plan } from "./plan";
import type { RunScenario } from "../core/run-record";
import type { Engine } from "../engines/engine";
import { segmentNumber, lsnSegment } from "../backups/archive";
import { lagBehind, readRecoveryState } from "../postgres/recovery-state";
import { fenceStep, firstWriteStep, postChecksStep, swapDnsStep } from "./failover-steps";
import { assessStandbyStep, catchUpStep, promoteStep, standbyGateStep } from "./promote-steps";
import { reportStep } from "./report-step";

export function promoteFailoverPlan(scenario: "datacenter" | "hardware"): Plan {
  return {
    scenario,
    title: `${scenario === "datacenter" ? "data center outage" : "hardware failure"}: fail over by promoting the warm standby`,
    runbook: scenario === "datacenter" ? "§4 Data Center Outage Recovery" : "§3 Hardware Failure Recovery",
    steps: [assessStandbyStep, fenceStep, catchUpStep, standbyGateStep, promoteStep, swapDnsStep, firstWriteStep, postChecksStep, reportStep],
  };
}

/** A run's facts say which path it took; a resumed run must continue on the same one. */
export function promotes(scenario: RunScenario, facts: Record<string, unknown>): scenario is "datacenter" | "hardware" {
  return (scenario === "datacenter" || scenario === "hardware") && facts.path === "promote";
}

export interface PathChoice {
  path: "promote" | "restore";
  why: string;
}

/**
 * Whether `target` is a standby a failover can promote. Reads the standby (and the old primary
 * when it answers, for the lag) and the offsite archive; changes nothing.
 */
export async function choosePath(engine: Engine, config: DrConfig, pair: { source: string; target: string; targetFenced: boolean }, asked: { fromBackup?: boolean; targetTime?: string }): Promise<PathChoice> {
  const restore = (why: string): PathChoice => ({ path: "restore", why });
  if (asked.fromBackup) return restore("--from-backup: restoring from the offsite repository as asked");
  if (asked.targetTime) return restore("--target-time: a point in time is reached by a restore, not by promoting the standby");
  if (pair.targetFenced) return restore(`${pair.target} is fenced (it lost the primary role earlier): not a standby to promote`);
  if (!(await engine.sites()).some((s) => s.name === pair.target)) return restore(`no site ${pair.target}: no standby to promote`);
  let standby;
  try {
    standby = await readRecoveryState((await engine.endpoint(pair.target)).admin);
  } catch (e) {
    return restore(`the standby ${pair.target} cannot be read (${(e as Error).message.split("\n")[0]})`);
  }
  if (standby.role !== "standby") return restore(`${pair.target} is not a standby (it is a primary)`);
  const cat = await engine.catalog(2).catch(() => undefined);
  const newest = cat?.walMax ? segmentNumber(cat.walMax.slice(0, 24)) : undefined;
  if (newest && newest.timeline > standby.timeline) return restore(`the standby ${pair.target} diverged: it is on timeline ${standby.timeline}, the archive on ${newest.timeline}`);
  let lagSeconds: number | undefined;
  const probe = await engine.probe(pair.source);
  if (probe.reachable && probe.mode === "primary") {
    lagSeconds = lagBehind(standby, await readRecoveryState((await engine.endpoint(pair.source)).admin)).seconds;
  } else if (newest && lsnSegment(standby.replayLsn) < newest.number && cat?.newestWalAt && standby.lastReplayAt) {
    // The primary is gone: the standby is behind by what the archive holds that it has not replayed.
    lagSeconds = Math.max(0, (cat.newestWalAt.getTime() - Date.parse(standby.lastReplayAt)) / 1000);
  } else lagSeconds = 0;
  if (lagSeconds > config.standby.maxLag) {
    return restore(`the standby ${pair.target} is ${formatDuration(lagSeconds)} behind, over the limit of ${formatDuration(config.standby.maxLag)} (standby.maxLag)`);
  }
  return { path: "promote", why: `${pair.target} is a standby on timeline ${standby.timeline} (${standby.source}), ${formatDuration(lagSeconds)} behind` };
}
