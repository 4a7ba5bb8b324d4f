// `dr backup full|diff|incr|list|verify` over pgBackRest, always on the site that is primary.
import type { Deps } from "../cli/context";
import { formatDuration } from "../config/common";
import { formatBytes, formatMs, table } from "../core/output";
import { listBackups, type BackupListing } from "../backups/list";
import { takeBackup, type TakenBackup } from "../backups/take";
import { verifyRepositories, type RepoVerifyReport } from "../backups/verify";
import { Lab } from "../engines/local/lab";
import type { BackupType } from "../pgbackrest/options";
import { recordManifest } from "../verify/manifest";

export type RepoChoice = 1 | 2 | "all";

function reposOf(choice: RepoChoice | undefined): (1 | 2)[] {
  return choice === undefined || choice === "all" ? [1, 2] : [choice];
}

/** Records the verification manifest on a lab site (before a backup). */
export async function manifestOn(lab: Lab, site: string, label: string): Promise<void> {
  const c = await lab.connect(site);
  try {
    await recordManifest(c, label);
  } finally {
    await c.end();
  }
}

/** The lab site that takes backups now: the one the service name answers with, else the primary. */
async function backupSite(lab: Lab) {
  const active = await lab.activeSite().catch(() => undefined);
  return lab.site(active ?? "primary");
}

export async function backup(deps: Deps, opts: { type: BackupType; repo?: RepoChoice; reason?: string }): Promise<{ site: string; backups: TakenBackup[] }> {
  const lab = Lab.open(deps.config);
  const site = await backupSite(lab);
  for (const repo of reposOf(opts.repo)) await lab.probeRepo(repo);
  const backups = await takeBackup(site.pgbackrest, deps.out, {
    type: opts.type,
    repos: reposOf(opts.repo),
    reason: opts.reason,
    recordManifest: () => manifestOn(lab, site.name, `before ${opts.type} backup`),
  });
  return { site: site.name, backups };
}

export async function backupList(deps: Deps, opts: { repo?: RepoChoice } = {}): Promise<BackupListing> {
  const lab = Lab.open(deps.config);
  return listBackups((await backupSite(lab)).pgbackrest, deps.config, { repos: reposOf(opts.repo), probe: (r) => lab.probeRepo(r) });
}

export async function backupVerify(deps: Deps, opts: { repo?: RepoChoice; set?: string } = {}): Promise<RepoVerifyReport> {
  const lab = Lab.open(deps.config);
  const site = await backupSite(lab);
  return deps.out.timed("verify repositories (checksums, WAL continuity)", () => verifyRepositories(site.pgbackrest, { repos: reposOf(opts.repo), set: opts.set, probe: (r) => lab.probeRepo(r) }));
}

export function renderTaken(r: { site: string; backups: TakenBackup[] }): string {
  return table(
    ["repo", "set", "type", "size", "in repo", "took"],
    r.backups.map((b) => [`repo${b.repo}`, b.set.label, b.set.type, formatBytes(b.set.size), formatBytes(b.set.repoSize), formatMs(b.durationMs)]),
  );
}

export function renderListing(l: BackupListing): string {
  const out: string[] = [];
  for (const r of l.repos) {
    out.push(`repo${r.repo} (${r.name}): ${r.reachable ? "reachable" : `UNREACHABLE — ${r.error?.message}`}`);
    if (!r.reachable) continue;
    out.push(
      table(
        ["set", "type", "started", "stopped", "size", "in repo", "WAL range", "WAL to end"],
        r.sets.map((s) => [s.label, s.type, s.startedAt.toISOString(), s.stoppedAt.toISOString(), formatBytes(s.size), formatBytes(s.repoSize), `${s.walStart ?? "?"} → ${s.walStop ?? "?"}`, s.walComplete ? "ok" : "GAP"]),
      ),
    );
    out.push(`  restorable window: ${r.window ? `${r.window.oldest} → ${r.window.newest}` : "none"}`);
    out.push(`  newest archived WAL: ${r.wal.max ?? "none"}${r.wal.ageSeconds !== undefined ? `, ${formatDuration(r.wal.ageSeconds)} ago` : ""} — ${r.rpo.ok ? "within" : "OUTSIDE"} the ${formatDuration(r.rpo.objectiveSeconds)} RPO objective (${r.rpo.scenario})`);
    out.push(`  retention: ${r.retention.fullKept} full of ${r.retention.fullRetention} kept — ${r.retention.compliant ? "compliant" : `NOT compliant: ${r.retention.problems.join("; ")}`}`);
  }
  return out.join("\n");
}

export function renderVerify(v: RepoVerifyReport): string {
  const out: string[] = [];
  for (const r of v.repos) {
    out.push(`repo${r.repo}: ${r.ok ? "valid" : "INVALID"}${r.error ? ` — ${r.error}` : ""}`);
    if (r.sets.length) out.push(table(["set", "verdict", "detail"], r.sets.map((s) => [s.label, s.ok ? "valid" : "INVALID", s.detail])));
    if (r.archive) out.push(`  WAL: ${r.archive.ok ? "continuous, checksums ok" : `PROBLEMS — ${r.archive.detail}`}`);
  }
  out.push(v.ok ? "verdict: every repository verified" : "verdict: verification FAILED");
  return out.join("\n");
}
