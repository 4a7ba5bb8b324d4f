// `dr reprotect [--site S]`: after a failover, the old primary becomes a standby of the new one
// (plans/reprotect.ts). The pair comes from the recorded topology; --site must name the other site.
import type { Deps } from "./deps";
import { DrError } from "../core/errors";
import type { RunRecord } from "../core/run-record";
import { startRun } from "../plans/runner";
import { reprotectPlan } from "../plans/reprotect";
import { finishRun, runOptions, type RecoverOptions } from "./recover";
import { runnerDepsFor } from "./run-context";
import { failoverPair } from "./topology";

export async function reprotect(deps: Deps, opts: Pick<RecoverOptions, "dryRun" | "yes"> & { site?: string }): Promise<RunRecord> {
  if (deps.config.engine !== "local") {
    throw new DrError("USAGE", "dr reprotect acts on the lab's sites; the pulumi engine is not covered yet", { hint: "on AWS, rebuild the old primary's stack as a standby by hand" });
  }
  const pair = failoverPair(deps.config);
  const site = opts.site ?? pair.target;
  if (site === pair.source) throw new DrError("USAGE", `${site} is the primary: there is nothing to reprotect it from`, { hint: `reprotect the other site, ${pair.target}` });
  if (site !== pair.target) throw new DrError("USAGE", `${site} is not a site of the pair (${pair.source}, ${pair.target})`, { hint: "`dr status` shows the sites" });
  const record = await startRun(reprotectPlan, await runnerDepsFor(deps), runOptions(opts), { sourceSite: pair.source, targetSite: site });
  return finishRun(deps, record);
}
