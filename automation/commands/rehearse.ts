// `dr lab rehearse` (npm start): the main job of the foundation, a DR rehearsal on the lab.
// 1. bring the lab up (or start it), 2. take an incremental backup to both repositories,
// 3. restore the newest offsite backup to the secondary site (over a previous rehearsal),
// 4. verify it against the primary. Exits 0 only when verification passed.
import type { Deps } from "./deps";
import { formatMs, table } from "../core/output";
import { Lab } from "../engines/local/lab";
import { requireArchived } from "../postgres/archiver";
import { backup } from "./backup";
import { labUp } from "./lab";
import { restore, type RestoreCommandResult } from "./restore";
import { verifyFailure, verifySite, type VerifySiteResult } from "./verify";
import type { DrError } from "../core/errors";

export interface RehearsalResult {
  ok: boolean;
  labDir: string;
  backup: { label: string; repo: number; durationMs: number }[];
  restore: RestoreCommandResult;
  verification: VerifySiteResult;
  steps: { label: string; durationMs: number; ok: boolean }[];
  totalMs: number;
}

/** A rehearsal whose restored copy did not verify (the document goes with it). */
export function rehearsalFailure(r: RehearsalResult): DrError | undefined {
  return verifyFailure(r.verification);
}

export async function rehearse(deps: Deps, opts: { scale?: number } = {}): Promise<RehearsalResult> {
  const started = Date.now();
  await labUp(deps, { scale: opts.scale });
  const lab = Lab.open(deps.config);
  const taken = await backup(deps, { type: "incr", reason: "dr lab rehearse" });
  // Everything committed is archived before the restore, so the comparison is exact.
  const source = taken.site;
  const c = await lab.connect(source);
  try {
    await requireArchived(c, `${source}'s newest WAL`);
  } finally {
    await c.end();
  }
  const restored = await restore(deps, { to: "secondary", repo: 2, overwrite: true, yes: true });
  const verification = await verifySite(deps, { site: "secondary", against: "primary" });
  return {
    ok: verification.ok,
    labDir: lab.layout.root,
    backup: taken.backups.map((b) => ({ label: b.set.label, repo: b.repo, durationMs: b.durationMs })),
    restore: restored,
    verification,
    steps: deps.out.steps.map((s) => ({ label: s.label, durationMs: s.durationMs, ok: s.ok })),
    totalMs: Date.now() - started,
  };
}

export function renderRehearsal(r: RehearsalResult): string {
  const t = r.restore.result?.timings;
  return [
    table(["step", "took", ""], r.steps.map((s) => [s.label, formatMs(s.durationMs), s.ok ? "ok" : "FAILED"])),
    `restore of ${r.restore.plan.set.label} from the offsite store: files ${t ? formatMs(t.restoreFilesMs) : "?"}, recovery ${t ? formatMs(t.recoveryMs) : "?"}`,
    `verification: ${r.verification.checks.filter((c) => c.ok).length}/${r.verification.checks.length} checks passed`,
    `${r.ok ? "REHEARSAL PASSED" : "REHEARSAL FAILED"} in ${formatMs(r.totalMs)} — lab ${r.labDir} (dr lab status; dr lab down --purge to remove)`,
  ].join("\n");
}
