// `dr reprotect [--site S]`: after a failover, the old primary becomes a standby of the new one
// (plans/reprotect.ts), on the lab or on AWS (the pulumi engine's standbyRoles). The pair comes
// from the recorded topology; --site must name the other site.
import type { Deps } from "./deps";
import { DrError } from "../core/errors";
import type { RunRecord } from "../core/run-record";
import type { Engine } from "../engines/engine";
import { startRun } from "../plans/runner";
import { reprotectPlan } from "../plans/reprotect";
import { finishRun, runOptions, type RecoverOptions } from "./recover";
import { runnerDepsFor } from "./run-context";
import { recordedPair } from "./topology";

export async function reprotect(deps: Deps, opts: Pick<RecoverOptions, "dryRun" | "yes"> & { site?: string }, engine?: Engine): Promise<RunRecord> {
  const rdeps = await runnerDepsFor(deps, engine);
  const pair = await recordedPair(deps.config, rdeps.engine);
  const site = opts.site ?? pair.target;
  if (site === pair.source) throw new DrError("USAGE", `${site} is the primary: there is nothing to reprotect it from`, { hint: `reprotect the other site, ${pair.target}` });
  if (site !== pair.target) throw new DrError("USAGE", `${site} is not a site of the pair (${pair.source}, ${pair.target})`, { hint: "`dr status` shows the sites" });
  const record = await startRun(reprotectPlan, rdeps, runOptions(opts), { sourceSite: pair.source, targetSite: site });
  return finishRun(deps, record, rdeps);
}
