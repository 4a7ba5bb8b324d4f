// The one rule the program keeps while a switchover is in flight: it refuses to update any stack
// of the environment, except when the update is the switchover run's own (its promotion, its DNS
// answer). Between the old primary's clean shutdown and its restart as a standby, no stack
// declares what the sites are (one primary stopped, or two primaries for a moment); an
// operator's `pulumi up` from their checkout then could only act on a half-made change. The run
// is named so the operator can finish it: `dr resume` from any machine.
import { DrError } from "../../automation/core/errors";
import type { ControlDocument } from "./control-state";

/** Throws SWITCHOVER_IN_FLIGHT when `doc` holds a switchover that `runId` (the updating run, if any) is not. */
export function refuseDuringSwitchover(doc: ControlDocument | undefined, runId: string | undefined): void {
  const s = doc?.switchover;
  if (!s || s.runId === runId) return;
  const token = s.token ? `, demotion token ${s.token.lsn} on timeline ${s.token.timeline}` : "";
  throw new DrError("SWITCHOVER_IN_FLIGHT", `switchover ${s.runId} from ${s.from} to ${s.to} is in flight (step ${s.phase}${token}, started ${s.startedAt}): an update now could undo it`, {
    hint: `nothing was changed; \`dr resume ${s.runId}\` finishes it (from any machine), then run the update again`,
  });
}
