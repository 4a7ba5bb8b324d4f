// `dr backup full|diff|incr|list|verify|manifest` over pgBackRest, always on the site that is
// primary: in the lab the one the service name answers with; on a site's own host (config
// `host:`) that host, which is what its backup timers use.
import type { Deps } from "./deps";
import { formatDuration } from "../config/common";
import { formatBytes, formatMs, table } from "../core/output";
import { listBackups, type BackupListing } from "../backups/list";
import { takeBackup, type TakenBackup } from "../backups/take";
import { verifyRepositories, type RepoVerifyReport } from "../backups/verify";
import type { BackupType } from "../pgbackrest/options";
import type { Manifest } from "../verify/manifest";
import { describeProof, recordManifestWithProofs, type BackupProof } from "../verify/backup-proofs";
import { openProofSite } from "./proof-site";
import type { SiteAccess } from "../engines/host/this-host";
import { siteAccess } from "./site-access";
import { invariantsFor } from "../verify/invariants";
import { DrError } from "../core/errors";

export type RepoChoice = 1 | 2 | "all";

function reposOf(choice: RepoChoice | undefined): (1 | 2)[] {
  return choice === undefined || choice === "all" ? [1, 2] : [choice];
}

export async function backup(deps: Deps, opts: { type: BackupType; repo?: RepoChoice; reason?: string }): Promise<{ site: string; backups: TakenBackup[]; proofs: BackupProof }> {
  const site = await siteAccess(deps);
  for (const repo of reposOf(opts.repo)) await site.probeRepo?.(repo);
  // The manifest and the proofs travel inside the backup: what a failover verifies against when the source is gone.
  const { proofs } = await recordWithProofs(deps, site, `before ${opts.type} backup`);
  const backups = await takeBackup(site.pgbackrest, deps.out, { type: opts.type, repos: reposOf(opts.repo), reason: opts.reason });
  return { site: site.name, backups, proofs };
}

/**
 * The proofs (amcheck, orphans, invariants) on the streaming standby or the primary, then the
 * manifest with them. A failed proof is loud but does not stop the backup: a backup of damaged
 * data is still the newest copy of everything else, and a restore of it runs the checks again.
 */
async function recordWithProofs(deps: Deps, site: SiteAccess, label: string): Promise<{ manifest: Manifest; proofs: BackupProof }> {
  const at = await openProofSite(deps, site);
  try {
    const r = await deps.out.timed(`prove the data on ${at.why} and record the manifest (schema, row counts, proofs)`, () =>
      recordManifestWithProofs(site.connection, label, at, { invariants: invariantsFor(deps.config), amcheck: deps.config.verification.amcheck, parallel: deps.config.verification.parallel }),
    );
    if (!r.proofs.ok) deps.out.warn(`the proofs taken with this backup FAILED (recorded with it; a restore of it runs the checks on the copy): ${describeProof(r.proofs)}`);
    return r;
  } finally {
    await at.close();
  }
}

export interface ManifestRecorded {
  site: string;
  takenAt: string;
  label: string;
  schemaObjects: number;
  tables: number;
  rows: number;
  proofs: BackupProof;
}

/**
 * `dr backup manifest`: records what a restore of the next backup is checked against when the
 * source is gone (schema, exact row counts). `dr backup` does it itself; a host's backup timers
 * run this before pgBackRest, so that their backups carry one too.
 */
export async function backupManifest(deps: Deps, opts: { reason?: string } = {}): Promise<ManifestRecorded> {
  const site = await siteAccess(deps);
  const { manifest: m, proofs } = await recordWithProofs(deps, site, opts.reason ?? "before a backup");
  return { site: site.name, takenAt: m.takenAt, label: m.label, schemaObjects: m.schema.length, tables: Object.keys(m.tables).length, rows: Object.values(m.tables).reduce((n, r) => n + r, 0), proofs };
}

export function renderManifest(r: ManifestRecorded): string {
  return `${r.site}: manifest "${r.label}" at ${r.takenAt}: ${r.schemaObjects} schema objects, ${r.tables} tables, ${r.rows} rows\nproofs: ${describeProof(r.proofs)}`;
}

export async function backupList(deps: Deps, opts: { repo?: RepoChoice } = {}): Promise<BackupListing> {
  const site = await siteAccess(deps);
  return listBackups(site.pgbackrest, deps.config, { repos: reposOf(opts.repo), probe: site.probeRepo });
}

export async function backupVerify(deps: Deps, opts: { repo?: RepoChoice; set?: string } = {}): Promise<RepoVerifyReport> {
  const site = await siteAccess(deps);
  return deps.out.timed("verify repositories (checksums, WAL continuity)", () => verifyRepositories(site.pgbackrest, { repos: reposOf(opts.repo), set: opts.set, probe: site.probeRepo }));
}

export function renderTaken(r: { site: string; backups: TakenBackup[]; proofs?: BackupProof }): string {
  return (r.proofs ? `proofs: ${describeProof(r.proofs)}\n` : "") + table(
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

/**
 * A repository asked for that could not be read (its store down): the command fails with that
 * error, naming the store, and the listing of the others goes with it.
 */
export function unreadableRepository(repos: { repo: 1 | 2; error?: string | { code: string; message: string }; errorCode?: string }[]): DrError | undefined {
  for (const r of repos) {
    const code = typeof r.error === "object" ? r.error.code : r.errorCode;
    if (code !== "STORE_UNREACHABLE") continue;
    const message = typeof r.error === "object" ? r.error.message : r.error ?? "";
    return new DrError("STORE_UNREACHABLE", `repo${r.repo} cannot be read: ${message.replace(/^repo\d cannot be read: /, "")}`, { hint: "the repository's object store is down or unreachable: `dr lab status` (lab) or the bucket's region status (AWS)" });
  }
  return undefined;
}

export function backupListFailure(l: BackupListing): DrError | undefined {
  return unreadableRepository(l.repos);
}

/** A repository or set that did not verify (the document goes with it). */
export function backupVerifyFailure(v: RepoVerifyReport): DrError | undefined {
  if (v.ok) return undefined;
  const unreadable = unreadableRepository(v.repos);
  if (unreadable) return unreadable;
  const bad = v.repos.filter((r) => !r.ok).map((r) => `repo${r.repo}${r.error ? ` (${r.error})` : `: ${r.sets.filter((s) => !s.ok).map((s) => s.label).join(", ") || "WAL"}`}`);
  return new DrError("BACKUP_INVALID", `backup verification failed: ${bad.join("; ")}`, { hint: "restore from a set that verified, or take a new full backup (`dr backup full`)" });
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
