// The local engine: recovery plans acting on the lab. Bringing a site up prepares its cluster
// directory; fencing stops the old primary and leaves a standby.signal so that, restarted, it
// comes back read-only, and a marker that makes its archive_command refuse (no diverged WAL in
// the shared repositories); the DNS swap changes the lab's answer for the service name; a drill
// site is a new cluster on a free loopback address, removed afterwards.
import { existsSync, writeFileSync, chownSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import { DrError } from "../../core/errors";
import { Output } from "../../core/output";
import { readCatalog, type RepoCatalog } from "../../backups/catalog";
import { lastArchivedCommit, type ArchivedCommit } from "../../backups/archived-commits";
import type { ArchivedSegment } from "../../backups/archive";
import { verifyRepositories } from "../../backups/verify";
import { planRestore, type RestorePlan } from "../../restore/plan";
import type { BackupProof } from "../../verify/proof";
import { recordManifest } from "../../verify/manifest";
import { invariantsFor } from "../../verify/invariants";
import { executeRestore, openForWrites } from "../../restore/run";
import { LAST_COMMIT_AT, readRecoveryState } from "../../postgres/recovery-state";
import type { Engine, EngineRestoreRequest, EngineRestoreResult, FenceResult, SiteEndpoint, SiteProbe } from "../engine";
import type { CredentialRotation, IncidentContext, IsolationResult, PreservationResult } from "../../incident/types";
import { isolateLabSite } from "./incident/lab-isolate";
import { preserveLabSite } from "./incident/lab-preserve";
import { rotateLabDatabaseCredentials, rotateLabRepositoryAccess } from "./incident/lab-rotate";
import { waitForAnswer } from "./dns";
import { Lab } from "./lab";
import type { Pgbackrest } from "../../pgbackrest/client";
import { FENCE_MARKER, fenceMarkerText, isolatedFor } from "./markers";
import { pinGuardedArchiving } from "./fence-archive";
import { siteArchiveCommand } from "./site";
import { labDestination, labRestoreHandle } from "./restore-target";
import { refuseForeignWriters } from "../../restore/target-lock";
import { siteEntry } from "./site-name";


export class LocalEngine implements Engine {
  readonly name = "local" as const;

  constructor(
    private readonly open: () => Lab,
    private readonly out: Output = new Output({ json: true }),
  ) {}

  /** Opened fresh each time: plans change lab.json (drill sites) as they go. */
  private get lab(): Lab {
    return this.open();
  }

  async sites() {
    return Object.entries(this.lab.state.sites).map(([name, s]) => ({ name, role: s.role }));
  }

  async probe(site: string): Promise<SiteProbe> {
    const lab = this.lab;
    if (lab.site(site).cluster.state() !== "running") return { site, reachable: false, error: "server not running" };
    let c: Client | undefined;
    try {
      c = await lab.connect(site, "postgres");
      const r = await c.query(`select pg_is_in_recovery() r, ${LAST_COMMIT_AT} t`);
      return { site, reachable: true, mode: r.rows[0].r ? "standby" : "primary", lastCommitAt: r.rows[0].t ? new Date(r.rows[0].t).toISOString() : undefined };
    } catch (e) {
      return { site, reachable: false, error: (e as Error).message };
    } finally {
      await c?.end().catch(() => undefined);
    }
  }

  /**
   * Stops the site (immediately: an outage does not wait for checkpoints) and leaves a
   * standby.signal and a marker in its data directory: started again by anyone, it comes up
   * in recovery and refuses writes; even promoted by hand, it archives nothing while the marker
   * is there. Works on a crashed site too, since the files are reachable.
   */
  async fence(site: string): Promise<FenceResult> {
    const lab = this.lab;
    const s = lab.site(site);
    const dataDir = lab.layout.dataDir(site);
    if (!existsSync(join(dataDir, "PG_VERSION"))) return { site, outcome: "unreachable", detail: `no cluster at ${dataDir}` };
    const already = existsSync(join(dataDir, FENCE_MARKER));
    const wasRunning = s.cluster.state() === "running";
    if (wasRunning) await s.cluster.stop("immediate");
    for (const f of ["standby.signal", FENCE_MARKER]) {
      const p = join(dataDir, f);
      writeFileSync(p, f === FENCE_MARKER ? fenceMarkerText() : "");
      if (lab.user.switched) chownSync(p, lab.user.uid, lab.user.gid);
    }
    pinGuardedArchiving(dataDir, siteArchiveCommand(lab.ctx, s.configPath), lab.user);
    return {
      site,
      outcome: already && !wasRunning ? "already-fenced" : "stopped",
      detail: `${wasRunning ? "stopped (immediate)" : "was not running"}; standby.signal written, so a restart comes back read-only; its archive_command refuses while fenced`,
    };
  }

  /** Prepares the site; a site the lab does not have yet (a replacement host) is added. */
  async bringUp(site: string): Promise<SiteEndpoint> {
    let lab = this.lab;
    if (!siteEntry(lab.state.sites, site)) {
      lab.addSite(site, "secondary");
      lab = this.lab;
    }
    await labRestoreHandle(lab, site).prepare();
    return this.endpoint(site);
  }

  async catalog(repo: 1 | 2): Promise<RepoCatalog> {
    const lab = this.lab;
    await lab.probeRepo(repo);
    return readCatalog(repositoryReader(lab), repo);
  }

  async lastArchivedCommit(repo: 1 | 2, segments: ArchivedSegment[], opts: { upToLsn?: string } = {}): Promise<ArchivedCommit> {
    const lab = this.lab;
    await lab.probeRepo(repo);
    // Any site's data directory holds the same database's pg_control (an isolated one too: it is only read).
    const pgPath = lab.siteNames().map((n) => lab.layout.dataDir(n)).find((d) => existsSync(join(d, "global", "pg_control")));
    return lastArchivedCommit(repositoryReader(lab), repo, segments, { ...opts, pgPath });
  }

  async verifyBackup(repo: 1 | 2, set: string): Promise<{ ok: boolean; detail: string }> {
    const lab = this.lab;
    await lab.probeRepo(repo);
    const report = await verifyRepositories(repositoryReader(lab), { repos: [repo], set });
    const verdict = report.repos[0]?.sets.find((s) => s.label === set);
    if (!verdict) return { ok: false, detail: report.repos[0]?.error ?? `pgBackRest verify reported nothing for ${set}` };
    return { ok: verdict.ok, detail: verdict.detail };
  }

  async planRestore(req: EngineRestoreRequest): Promise<RestorePlan> {
    const lab = this.lab;
    await lab.probeRepo(req.repo);
    return planRestore({
      // The repositories' reader: its pg1-path holds a cluster, which reading the archive needs.
      pgb: repositoryReader(lab),
      destination: await labDestination(lab, req.site),
      request: { set: req.set, target: req.target, repo: req.repo, overwrite: req.overwrite, databases: req.databases, arriving: req.arriving },
      rate: req.rate,
      // Read with a site's pg_control wherever one is left (the reader's own may be gone).
      archivedCommit: (segments) => this.lastArchivedCommit(req.repo, segments),
    });
  }

  async restore(req: EngineRestoreRequest): Promise<EngineRestoreResult> {
    const plan = await this.planRestore(req);
    const r = await executeRestore(plan, labRestoreHandle(this.lab, req.site), this.out, { runId: req.runId });
    return { site: req.site, set: r.set, repo: r.repo, replayLsn: r.replayLsn, lastCommitAt: r.lastCommitAt, timings: r.timings, bytes: r.bytes, ended: r.ended };
  }

  async openForWrites(site: string): Promise<void> {
    const cluster = this.lab.site(site).cluster;
    // Also when already promoted: the step that opens the site must not pass while a leftover writes there.
    refuseForeignWriters(cluster.spec.dataDir, cluster.postmasterPid(), `open ${site} for writes`);
    const state = await readRecoveryState(cluster.connection("postgres"));
    if (state.role === "primary") return;
    // A standby (restored to latest) is promoted; a cluster paused at a target is resumed.
    await openForWrites(cluster, !state.paused);
  }

  async swapDns(site: string): Promise<{ address: string; waitedMs: number }> {
    const lab = this.lab;
    await lab.pointServiceAt(site);
    return waitForAnswer(lab.state.serviceName, lab.site(site).address, { port: lab.state.dns.port, timeoutMs: 30_000 });
  }

  async activeSite(): Promise<string | undefined> {
    return this.lab.activeSite();
  }

  async endpoint(site: string): Promise<SiteEndpoint> {
    const lab = this.lab;
    const s = lab.site(site);
    return {
      site,
      address: s.address,
      port: s.port,
      admin: { ...s.cluster.connection(lab.state.database) },
      app: { host: s.address, port: s.port, database: lab.state.database, user: "app", password: lab.secrets.appPassword },
    };
  }

  async createDrillSite(id: string): Promise<SiteEndpoint> {
    const lab = this.lab;
    const name = `drill-${id}`;
    if (!siteEntry(lab.state.sites, name)) lab.addSite(name, "drill");
    return this.endpoint(name);
  }

  async destroyDrillSite(id: string): Promise<void> {
    const lab = this.lab;
    if (siteEntry(lab.state.sites, `drill-${id}`)) await lab.removeSite(`drill-${id}`);
  }

  async startBackup(site: string, type: "full" | "incr", proofs?: BackupProof): Promise<{ label?: string }> {
    const lab = this.lab;
    const c = await lab.connect(site);
    try {
      // No proofs taken here: they are O(size) work on a primary promoted seconds ago, while the
      // application comes back. What the failover's gate proved is handed on instead (when it
      // proved it: a promotion's gate does not); without it, a restore of this backup before the
      // next scheduled one runs amcheck and the orphan check on its copy.
      await recordManifest(c, `before the first ${type} backup on the new timeline`, invariantsFor(lab.config), proofs);
      // Just promoted, pg_control may still name the old timeline until the end-of-recovery
      // checkpoint completes; pgBackRest refuses such a backup ([058]). Checkpoint first.
      await c.query("checkpoint");
    } finally {
      await c.end();
    }
    const pgb = lab.site(site).pgbackrest;
    const before = new Set((await pgb.sets({ repo: 2 })).map((s) => s.label));
    await pgb.backup({ type, repo: 2, annotations: { by: "fp-dr failover", why: "first backup on the new timeline" } });
    const set = (await pgb.sets({ repo: 2 })).find((s) => !before.has(s.label));
    if (!set) throw new DrError("BACKUP_FAILED", `the ${type} backup on ${site} left no new set`, { hint: "see the pgBackRest log" });
    return { label: set.label };
  }

  async isolate(site: string, incident: IncidentContext): Promise<IsolationResult> {
    return isolateLabSite(this.lab, site, incident);
  }

  async preserve(site: string, incident: IncidentContext): Promise<PreservationResult> {
    return preserveLabSite(this.lab, site, incident);
  }

  async rotateDatabaseCredentials(site: string): Promise<CredentialRotation> {
    return rotateLabDatabaseCredentials(this.lab, site);
  }

  async rotateRepositoryAccess(withhold: string[]): Promise<CredentialRotation> {
    return rotateLabRepositoryAccess(this.lab, withhold);
  }
}

/**
 * The pgBackRest configuration that reads the shared repositories: the primary's, unless it was
 * isolated in a security incident (its configuration keeps the revoked repository key), then
 * the first site that was not.
 */
function repositoryReader(lab: Lab): Pgbackrest {
  const names = ["primary", ...lab.siteNames().filter((n) => n !== "primary")];
  const reader = names.find((n) => lab.state.sites[n] && isolatedFor(lab.layout.dataDir(n)) === undefined) ?? "primary";
  return lab.site(reader).pgbackrest;
}
