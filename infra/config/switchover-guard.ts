// The one rule the program keeps while a switchover is in flight: it refuses to update any stack
// of the environment, except when the update is the switchover run's own (its promotion, its DNS
// answer). Between the old primary's clean shutdown and its restart as a standby, no stack
// declares what the sites are (one primary stopped, or two primaries for a moment); an
// operator's `pulumi up` from their checkout then could only act on a half-made change. The run
// is named so the operator can finish it: `dr resume` from any machine.
// A later dr run that holds the environment's lease with a newer epoch than the switchover's
// (a failover at 3 a.m., the reprotect the switchover's own hint asks for) is let through: the
// lease proves the switchover's run is no longer acting, and that run takes the environment
// over (its first decision drops the record: changedDocument). Without this, a switchover
// left half done would block the very failover an outage needs.
import { DrError } from "../../automation/core/errors";
import { supersedes, type ControlDocument } from "./control-state";

/** Throws SWITCHOVER_IN_FLIGHT when `doc` holds a switchover the updating run (if any) neither is nor supersedes. */
export function refuseDuringSwitchover(doc: ControlDocument | undefined, runId: string | undefined, epoch?: number): void {
  const s = doc?.switchover;
  if (!s || s.runId === runId || supersedes(runId, epoch, s)) return;
  const token = s.token ? `, demotion token ${s.token.lsn} on timeline ${s.token.timeline}` : "";
  throw new DrError("SWITCHOVER_IN_FLIGHT", `switchover ${s.runId} from ${s.from} to ${s.to} is in flight (step ${s.phase}${token}, started ${s.startedAt}): an update now could undo it`, {
    hint: `nothing was changed; \`dr resume ${s.runId}\` finishes it (from any machine), then run the update again`,
  });
}
