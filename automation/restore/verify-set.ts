// How the set a restore uses is proved sound, in one of two orders. Read once: pgBackRest checks
// each file's checksum as it restores it, and only a copy that stops with a read failure has the
// set verified whole (pgBackRest verify), to tell a damaged set from another failure
// (read-once.ts). Verify first: the set is verified whole before a file is copied, so a damaged
// one fails here, named with its bad files and the set to use instead. Verifying first reads
// every byte of the set twice on the critical path (at 896 MiB from the offsite store, 10 of the
// 17 s the restore took), so it is kept for where it buys something (chooseSetCheck).
import { verifyRepositories, type SetVerdict } from "../backups/verify";
import { DrError, type ErrorCode } from "../core/errors";
import type { Pgbackrest } from "../pgbackrest/client";
import type { PlanCheck, RestorePlan } from "./plan";

/** How a restore fails when a file of the set cannot be read back as it was stored. */
export const SET_READ_FAILURES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(["RESTORE_FAILED", "BACKUP_INVALID", "BACKUP_UNKNOWN", "PGBACKREST_FAILED"]);

export type SetCheckOrder = "verify-first" | "read-once";

/** Which order a restore proves its set in, and why (shown in the plan and in --json). */
export interface SetCheck {
  order: SetCheckOrder;
  why: string;
}

const CHECK_NAME = "backup set checksums";

export function chooseSetCheck(plan: RestorePlan, opts: { dryRun?: boolean; verifyFirst?: boolean }): SetCheck {
  if (opts.verifyFirst) return { order: "verify-first", why: "asked for (--verify-first)" };
  // A dry run changes nothing, so the whole-set verify is the one proof of the set it can give.
  if (opts.dryRun) return { order: "verify-first", why: "a dry run proves the set without copying it" };
  // Over data a delta restore rewrites the directory file by file: a bad file found half way
  // through the copy would leave the data it replaced already destroyed.
  if (plan.destination.willOverwrite) return { order: "verify-first", why: `${plan.destination.name} holds data, which a copy stopped half way by a bad file would have destroyed` };
  return { order: "read-once", why: `${plan.destination.name} holds no data: a copy stopped by a bad file loses nothing and is emptied again` };
}

/** The plan's check for a set read once: nothing is read before the copy, so nothing can fail yet. */
export function readOnceCheck(plan: RestorePlan): PlanCheck {
  return { name: CHECK_NAME, ok: true, detail: `${plan.set.label}: checked by pgBackRest file by file as it restores (read once); verified whole only if the restore fails` };
}

/** Verify first: the set verified whole now; BACKUP_INVALID (its bad files, what to use instead) when it is damaged. */
export async function verifyChosenSet(pgb: Pgbackrest, plan: RestorePlan, why?: string): Promise<PlanCheck> {
  const { verdict, error } = await verdictOn(pgb, plan);
  if (verdict?.ok) return { name: CHECK_NAME, ok: true, detail: `${plan.set.label}: ${verdict.detail}; verified whole before the restore${why ? ` (${why})` : ""}` };
  throw await invalidSet(pgb, plan, verdict, verdict?.detail ?? error ?? "no verdict");
}

/**
 * Read once, after the copy stopped with `stopped`: the BACKUP_INVALID error to fail with when
 * pgBackRest verify finds the set damaged; undefined when it finds the set sound or cannot say
 * (then the copy's own error is the one that tells what happened).
 */
export async function damagedSetError(pgb: Pgbackrest, plan: RestorePlan, stopped: DrError): Promise<DrError | undefined> {
  const { verdict } = await verdictOn(pgb, plan).catch(() => ({ verdict: undefined }));
  if (!verdict || verdict.ok) return undefined;
  return invalidSet(pgb, plan, verdict, `${verdict.detail} (found after its restore stopped: ${stopped.message.split(/[;\n]/)[0]})`);
}

async function verdictOn(pgb: Pgbackrest, plan: RestorePlan): Promise<{ verdict?: SetVerdict; error?: string }> {
  const report = await verifyRepositories(pgb, { repos: [plan.repo], set: plan.set.label });
  return { verdict: report.repos[0]?.sets.find((s) => s.label === plan.set.label), error: report.repos[0]?.error };
}

async function invalidSet(pgb: Pgbackrest, plan: RestorePlan, verdict: SetVerdict | undefined, detail: string): Promise<DrError> {
  const { repo, set } = plan;
  const older = (await pgb.sets({ repo })).filter((s) => !s.error && s.stoppedAt < set.stoppedAt).pop();
  return new DrError("BACKUP_INVALID", `backup set ${set.label} in repo${repo} failed pgBackRest verify: ${detail}`, {
    hint: `${older ? `restore the previous set with --set ${older.label} (plus WAL to the same target), ` : ""}or from the other repository (--repo ${repo === 1 ? 2 : 1}); \`dr backup verify --repo ${repo}\` checks every set`,
    details: { set: set.label, invalidFiles: verdict?.invalidFiles },
  });
}
