// The lab's main jobs around the recovery plans:
//   `dr lab drill` (npm run drill): lab up if needed, the write load running, then a drill;
//   `dr lab failover-demo` (npm run failover:demo): under continuous writes, kill the primary,
//   fail over to the secondary, and account for every acknowledged commit.
import type { Deps } from "./deps";
import type { RunRecord } from "../core/run-record";
import { Lab } from "../engines/local/lab";
import { loadRunning, missingAcks, readAcks, startLoad, stopLoad } from "../engines/local/load";
import { labUp } from "./lab";
import { drill, failover, renderRun, runExitCode } from "./recover";

export async function labDrill(deps: Deps, opts: { scale?: number } = {}): Promise<RunRecord> {
  await labUp(deps, { scale: opts.scale });
  const lab = Lab.open(deps.config);
  if (!loadRunning(lab)) await deps.out.timed("start the write load on the primary", () => startLoad(lab));
  return drill(deps, {});
}

export interface DemoResult {
  run: RunRecord;
  outageAt: string;
  acknowledgedBeforeOutage: number;
  /** Acknowledged before the outage, absent after the failover: the data actually lost. */
  lost: { count: number; oldestAt?: string; newestAt?: string };
  writesAfterFailover: number;
}

export async function failoverDemo(deps: Deps, opts: { scale?: number; loadSeconds?: number } = {}): Promise<DemoResult> {
  await labUp(deps, { scale: opts.scale });
  let lab = Lab.open(deps.config);
  await deps.out.timed("start the write load through the service name", () => startLoad(lab, { fresh: true }));
  // Longer than archive_timeout, so the load has been archived at least once before the kill.
  await new Promise((r) => setTimeout(r, (opts.loadSeconds ?? lab.state.archiveTimeoutSeconds + 5) * 1000));
  const victim = (await lab.activeSite()) ?? "primary";
  const outageAt = new Date().toISOString();
  await deps.out.timed(`kill the ${victim} site's postmaster (SIGKILL: the data center is gone)`, async () => {
    const pid = lab.site(victim).cluster.postmasterPid();
    if (pid) process.kill(pid, "SIGKILL");
  });
  const run = await failover(deps, { scenario: "datacenter", yes: true, outageAt });
  // Let the load find the new primary through DNS, then account for every acknowledged commit.
  await new Promise((r) => setTimeout(r, 2000));
  lab = Lab.open(deps.config);
  await stopLoad(lab);
  const acks = readAcks(lab);
  const outage = Date.parse(outageAt);
  const before = acks.filter((a) => a.at.getTime() <= outage);
  const target = (run.facts as { targetSite?: string }).targetSite ?? "secondary";
  const lost = run.status === "succeeded" ? await missingAcks(lab, target, before) : before;
  return {
    run,
    outageAt,
    acknowledgedBeforeOutage: before.length,
    lost: { count: lost.length, oldestAt: lost[0]?.at.toISOString(), newestAt: lost[lost.length - 1]?.at.toISOString() },
    writesAfterFailover: acks.filter((a) => a.at.getTime() > outage).length,
  };
}

export function renderDemo(d: DemoResult): string {
  return [
    renderRun(d.run),
    `outage at ${d.outageAt}: ${d.acknowledgedBeforeOutage} commits acknowledged before it, ${d.lost.count} of them lost${d.lost.count ? ` (${d.lost.oldestAt} … ${d.lost.newestAt}: the WAL not yet archived when the site died)` : ""}`,
    `${d.writesAfterFailover} writes acknowledged after the outage, through the service name on the new primary`,
  ].join("\n");
}

export const demoExitCode = (d: DemoResult) => runExitCode(d.run);
