// `dr restore`: latest, a given set, or a point in time, to a named site or a scratch cluster,
// optionally one database only. Plans first (every check that can fail, fails here), prints
// the plan on --dry-run, otherwise carries it out and waits for recovery. The backup set is read
// once where the destination holds no data, else verified whole before it is copied
// (restore/verify-set.ts says why).
import type { Deps } from "./deps";
import { DrError } from "../core/errors";
import { checkInjectedFailure } from "../core/faults";
import { parseInstant } from "../core/instant";
import { formatBytes, formatMs, table } from "../core/output";
import type { RestoreTarget } from "../pgbackrest/options";
import { Lab } from "../engines/local/lab";
import { labDestination, labRestoreHandle } from "../engines/local/restore-target";
import { checkSiteName } from "../engines/local/site-name";
import { planRestore, type RestorePlan } from "../restore/plan";
import { executeRestore, type RestoreResult } from "../restore/run";
import { freeBytesAt } from "../restore/disk-space";
import { chooseSetCheck, readOnceCheck, verifyChosenSet, type SetCheck } from "../restore/verify-set";
import { restoreReadingOnce } from "../restore/read-once";
import { restoreRate } from "../restore/rate";
import { journalFor } from "../core/state-dirs";
import { confirmOrRefuse } from "./incident";
import { terminalConfirm } from "./run-context";
import { newRunId } from "../core/run-id";

export interface RestoreCommandOptions {
  set?: string;
  targetTime?: string;
  targetLsn?: string;
  targetName?: string;
  /** Destination site (default: secondary). */
  to?: string;
  /** Restore into a new scratch cluster instead of a site. */
  scratch?: boolean;
  /** Restore this database only. */
  database?: string;
  /** Repository: 1 (primary region) or 2 (offsite). Default: 2 for the secondary/scratch, else 1. */
  repo?: 1 | 2;
  dryRun?: boolean;
  overwrite?: boolean;
  open?: boolean;
  /** Do not ask before overwriting a site's data directory. */
  yes?: boolean;
  /** Verify the whole set before copying, also into a destination that holds no data (there it is read once by default). */
  verifyFirst?: boolean;
}

export interface RestoreCommandResult {
  dryRun: boolean;
  plan: RestorePlan;
  /** The order the set was proved sound in: verified whole first, or checked file by file as it was restored. */
  setCheck: SetCheck;
  result?: RestoreResult;
}

export function parseTarget(o: Pick<RestoreCommandOptions, "targetTime" | "targetLsn" | "targetName">): RestoreTarget {
  const given = [o.targetTime, o.targetLsn, o.targetName].filter((x) => x !== undefined);
  if (given.length > 1) {
    throw new DrError("USAGE", "give at most one of --target-time, --target-lsn, --target-name", { hint: "a restore has one target" });
  }
  if (o.targetTime !== undefined) {
    return { kind: "time", time: new Date(parseInstant("--target-time", o.targetTime)) };
  }
  if (o.targetLsn !== undefined) {
    if (!/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/.test(o.targetLsn)) {
      throw new DrError("TARGET_INVALID", `not an LSN: ${o.targetLsn}`, { hint: "an LSN looks like 0/3000060 (pg_current_wal_lsn())" });
    }
    return { kind: "lsn", lsn: o.targetLsn.toUpperCase() };
  }
  if (o.targetName !== undefined) return { kind: "name", name: o.targetName };
  return { kind: "latest" };
}

export async function restore(deps: Deps, opts: RestoreCommandOptions): Promise<RestoreCommandResult> {
  const target = parseTarget(opts);
  const lab = Lab.open(deps.config);
  if (opts.to !== undefined) checkSiteName(opts.to);
  if (opts.scratch && opts.to) throw new DrError("USAGE", "give either --to SITE or --scratch, not both", { hint: "--scratch makes a new throwaway cluster" });
  const source = lab.site("primary");

  // A scratch destination is only created once the plan is known to be feasible.
  const scratchName = opts.scratch ? `scratch-${Date.now().toString(36)}` : undefined;
  const siteName = opts.to ?? "secondary";
  if (!opts.scratch) lab.site(siteName); // SITE_UNKNOWN before anything else
  const role = opts.scratch ? "scratch" : lab.site(siteName).role;
  const repo = opts.repo ?? (role === "primary" ? 1 : 2);

  // The offsite store answers at once or not at all; pgBackRest would retry for minutes.
  await lab.probeRepo(repo);

  const scratchDir = lab.layout.dataDir(scratchName ?? "");
  const destination = opts.scratch
    ? { name: scratchName!, kind: "scratch" as const, dataDir: scratchDir, address: "(next free lab address)", port: lab.state.port, state: "absent" as const, serving: false, space: { freeBytes: freeBytesAt(scratchDir), reusableBytes: 0 } }
    : await labDestination(lab, siteName);
  const plan = await deps.out.timed("plan the restore (repository, set, target, WAL continuity, databases, disk space)", () =>
    planRestore({
      pgb: source.pgbackrest,
      destination,
      request: { set: opts.set, target, repo, databases: opts.database ? [opts.database] : undefined, overwrite: opts.overwrite, open: opts.open },
      repoChoosable: true,
      rate: restoreRate(journalFor(deps.config).list()),
    }),
  );
  const setCheck = chooseSetCheck(plan, opts);
  if (setCheck.order === "verify-first") plan.checks.push(await deps.out.timed(`verify backup set ${plan.set.label} (checksum of every file)`, () => verifyChosenSet(source.pgbackrest, plan, setCheck.why)));
  else plan.checks.push(readOnceCheck(plan));
  if (opts.dryRun) return { dryRun: true, plan, setCheck };
  if (plan.destination.willOverwrite) {
    await confirmOrRefuse(deps, `restore over ${plan.destination.name} (${plan.destination.existing?.length ?? 0} entries in ${plan.destination.dataDir}${plan.destination.willStop ? "; it is stopped first" : ""})`, opts.yes, terminalConfirm());
  }

  const runId = newRunId("restore");
  const run = (at: Lab, site: string) => {
    const handle = labRestoreHandle(at, site);
    const copy = () => executeRestore(plan, handle, deps.out, { runId });
    return setCheck.order === "read-once" ? restoreReadingOnce(source.pgbackrest, plan, handle.cluster, deps.out, copy) : copy();
  };
  if (!opts.scratch) return { dryRun: false, plan, setCheck, result: await run(lab, siteName) };
  // A scratch site exists only for this restore: a failed one is removed, not left behind.
  const name = lab.addSite(scratchName!, "scratch").name;
  try {
    checkInjectedFailure("restore-scratch");
    return { dryRun: false, plan, setCheck, result: await run(Lab.open(deps.config), name) };
  } catch (e) {
    await Lab.open(deps.config).removeSite(name).catch((r: Error) => deps.out.warn(`could not remove the scratch site ${name}: ${r.message}`));
    throw e;
  }
}

export function renderRestore(r: RestoreCommandResult): string {
  const p = r.plan;
  const lines = [
    r.dryRun ? "restore plan (dry run: nothing was changed)" : "restore done",
    table(
      ["", ""],
      [
        ["backup set", `${p.set.label} (${p.set.type}) from repo${p.repo}; chain ${p.chain.join(" → ")}`],
        ["target", p.target.description],
        ["WAL needed", `${p.wal.from} → ${p.wal.to} (${p.wal.segments} segments)`],
        ["destination", `${p.destination.name} ${p.destination.dataDir} (${p.destination.state})`],
        ["overwrites", p.destination.willOverwrite ? `yes: ${p.destination.existing?.length ?? 0} entries in ${p.destination.dataDir}${p.destination.willStop ? "; the cluster will be stopped first" : ""}` : "nothing (destination empty)"],
        ["databases", p.databases?.join(", ") ?? "all"],
        ["estimate", p.estimate.basis],
        ["size", `${formatBytes(p.estimate.bytes)}; needs ${formatBytes(p.estimate.diskBytes)} of disk with the WAL it replays`],
        ["opens for writes", p.open ? "yes (promote after recovery)" : "no (stays read-only; --open to promote)"],
        ["set checked", r.setCheck.order === "read-once" ? `read once: file by file as it is restored (${r.setCheck.why})` : `verified whole before the restore (${r.setCheck.why})`],
      ],
    ),
  ];
  lines.push(...p.checks.map((c) => `${!c.ok ? "✗" : c.warning ? "!" : "✓"} ${c.name}: ${c.detail}`));
  if (r.result) {
    const t = r.result.timings;
    lines.push(
      `restored ${r.result.destination} to ${r.result.replayLsn ?? "?"} (last commit ${r.result.lastCommitAt ?? "none"}); ${r.result.inRecovery ? "read-only (in recovery)" : "open for writes"}`,
      `files ${formatMs(t.restoreFilesMs)}, recovery ${formatMs(t.recoveryMs)}${t.openMs !== undefined ? `, open ${formatMs(t.openMs)}` : ""}, total ${formatMs(t.totalMs)}`,
    );
  }
  return lines.join("\n");
}
