// The set a restore is about to use, checked file by file first (pgBackRest verify): a set
// damaged in the repository fails here, named with its bad files and the set to use instead,
// not half way through the copy with a decompression error.
import { verifyRepositories } from "../backups/verify";
import { DrError } from "../core/errors";
import type { Pgbackrest } from "../pgbackrest/client";
import type { PlanCheck, RestorePlan } from "./plan";

export async function verifyChosenSet(pgb: Pgbackrest, plan: RestorePlan): Promise<PlanCheck> {
  const { repo, set } = plan;
  const report = await verifyRepositories(pgb, { repos: [repo], set: set.label });
  const verdict = report.repos[0]?.sets.find((s) => s.label === set.label);
  if (verdict?.ok) return { name: "backup set checksums", ok: true, detail: `${set.label}: ${verdict.detail}` };
  const older = (await pgb.sets({ repo })).filter((s) => !s.error && s.stoppedAt < set.stoppedAt).pop();
  throw new DrError("BACKUP_INVALID", `backup set ${set.label} in repo${repo} failed pgBackRest verify: ${verdict?.detail ?? report.repos[0]?.error ?? "no verdict"}`, {
    hint: `${older ? `restore the previous set with --set ${older.label} (plus WAL to the same target), ` : ""}or from the other repository (--repo ${repo === 1 ? 2 : 1}); \`dr backup verify --repo ${repo}\` checks every set`,
    details: { set: set.label, invalidFiles: verdict?.invalidFiles },
  });
}
