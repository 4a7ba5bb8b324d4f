// A restore into a destination that holds no data reads its set once: it restores directly, and
// pgBackRest checks each file's checksum as it lays it down. Only a copy that stops with a read
// failure has the set verified whole, to tell a damaged set (BACKUP_INVALID, its bad files named)
// from another failure (the copy's own error). A damaged set leaves nothing behind: the
// destination is emptied again, as it was, and not left half-restored, since there is nothing to
// resume from a set that cannot be read.
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DrError, isDrError } from "../core/errors";
import type { Output } from "../core/output";
import type { Pgbackrest } from "../pgbackrest/client";
import type { Cluster } from "../postgres/cluster";
import { clearRestoreMark } from "./half-restored";
import type { RestorePlan } from "./plan";
import { takeRestoreLock } from "./target-lock";
import { damagedSetError, SET_READ_FAILURES } from "./verify-set";

/** Runs `restore` (the copy and recovery); when it stops on a damaged set, fails with BACKUP_INVALID and the destination empty. */
export async function restoreReadingOnce<T>(pgb: Pgbackrest, plan: RestorePlan, cluster: Cluster, out: Output, restore: () => Promise<T>): Promise<T> {
  // Emptying a directory that held data would destroy it: such a destination verifies first.
  if (plan.destination.willOverwrite) throw new DrError("INTERNAL", `${plan.destination.name} holds data: its set is verified before the restore, not read once`, { hint: "this is a bug in dr: report it" });
  try {
    return await restore();
  } catch (e) {
    if (!isDrError(e) || !SET_READ_FAILURES.has(e.code)) throw e;
    // Off the normal path: was it the set's files (bit rot, tampering)? pgBackRest verify of that set says.
    const damaged = await out.timed(`the restore stopped: verify backup set ${plan.set.label} (checksum of every file)`, () => damagedSetError(pgb, plan, e), (d) => (d ? "damaged" : "sound: the restore's own error stands"));
    if (!damaged) throw e;
    await out.timed(`empty ${plan.destination.dataDir} again`, () => emptyAgain(plan, cluster));
    throw damaged;
  }
}

/** Back to how the plan found it (absent or empty), under the restore lock: nothing restores into it meanwhile. */
async function emptyAgain(plan: RestorePlan, cluster: Cluster): Promise<void> {
  const { dataDir, state } = plan.destination;
  // A copy that stopped in recovery (the cluster died replaying) may have left it running.
  await cluster.stop("immediate");
  const lock = await takeRestoreLock(dataDir, undefined);
  try {
    if (state === "absent") rmSync(dataDir, { recursive: true, force: true });
    else for (const entry of readdirSync(dataDir)) rmSync(join(dataDir, entry), { recursive: true, force: true });
    clearRestoreMark(dataDir);
  } finally {
    lock.release();
  }
}
