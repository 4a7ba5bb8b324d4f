// `dr switchover --to SITE`: the planned role change (plans/switchover.ts), on the lab or on
// AWS (the pulumi engine's standbyRoles). The pair comes from the recorded topology: --to must
// name the standby.
import type { Deps } from "./deps";
import type { Engine } from "../engines/engine";
import { DrError } from "../core/errors";
import type { RunRecord } from "../core/run-record";
import { startRun } from "../plans/runner";
import { switchoverPlan } from "../plans/switchover";
import { finishRun, runOptions, type RecoverOptions } from "./recover";
import { runnerDepsFor } from "./run-context";
import { recordedPair } from "./topology";

export async function switchover(deps: Deps, opts: Pick<RecoverOptions, "dryRun" | "yes"> & { to: string }, engine?: Engine): Promise<RunRecord> {
  const rdeps = await runnerDepsFor(deps, engine);
  const pair = await recordedPair(deps.config, rdeps.engine);
  if (opts.to === pair.source) throw new DrError("USAGE", `${opts.to} already is the primary`, { hint: `the standby is ${pair.target}` });
  if (opts.to !== pair.target || pair.targetFenced) {
    throw new DrError("STANDBY_UNUSABLE", `${opts.to} is not the standby of ${pair.source}${pair.targetFenced ? " (it is fenced)" : ""}`, { hint: "`dr status` shows the roles" });
  }
  const record = await startRun(switchoverPlan, rdeps, runOptions(opts), { sourceSite: pair.source, targetSite: pair.target });
  return finishRun(deps, record, rdeps);
}
