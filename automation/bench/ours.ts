// Our method, through the product's own paths: `dr backup` (takeBackup) into one repository at a
// time, and `dr restore --to secondary` (plan, pgBackRest restore, start, wait for recovery)
// followed by a first query. The destination is emptied first, so every restore lays down every
// file (a delta restore over an identical copy would only compare checksums), and reads its set
// once as `dr restore` does into any empty destination: no whole-set verify before the copy.
import type { Deps } from "../commands/deps";
import { takeBackup } from "../backups/take";
import { restore, type RestoreCommandResult } from "../commands/restore";
import { DrError } from "../core/errors";
import type { Lab } from "../engines/local/lab";
import type { BackupSet } from "../pgbackrest/info";
import type { BackupType } from "../pgbackrest/options";
import { emptySite } from "./bench-lab";
import { measure, type Measured } from "./sampler";
import { untilUsable } from "./usable";

export async function measuredBackup(deps: Deps, lab: Lab, type: BackupType, repo: 1 | 2, reason: string): Promise<Measured<BackupSet>> {
  return measure(async () => {
    const taken = await takeBackup(lab.site("primary").pgbackrest, deps.out, { type, repos: [repo], by: "dr bench", reason });
    const set = taken[0]?.set;
    if (!set) throw new DrError("BACKUP_FAILED", `the ${type} backup to repo${repo} left no new set`, { hint: "run `pgbackrest info` on the benchmark lab (--keep)" });
    return set;
  });
}

export interface UsableRestore {
  restore: RestoreCommandResult;
  firstQueryMs: number;
}

/** Restores (latest, or `set`) from `repo` into the emptied secondary and waits until a query answers. */
export async function measuredRestore(deps: Deps, lab: Lab, repo: 1 | 2, set?: string): Promise<Measured<UsableRestore>> {
  await emptySite(lab, "secondary");
  return measure(async () => {
    const result = await restore(deps, { to: "secondary", repo, set, overwrite: true, yes: true });
    const usable = await untilUsable(() => lab.connect("secondary"));
    return { restore: result, firstQueryMs: usable.ms };
  });
}
