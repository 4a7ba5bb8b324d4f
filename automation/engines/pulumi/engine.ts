// The pulumi engine: recovery plans acting on the AWS sites through the Automation API
// (StackOps on a LocalWorkspace of this repository's project). Each method is a short recipe
// of stack operations:
//   bringUp          select the site's stack, mark the host reachable, `up` (never refresh)
//   restore          write a new restore request (fp-dr:restore), `up --target` its command
//   fence            only if the old primary's region answers: fp-dr:fence, `up --target` the instance
//   bringUp of replacement-<id> (hardware failure): fp-dr:replacement on the primary's stack,
//                    `up` with the new host alone, the path to it, then `up` moving the site's
//                    host-bound resources to it; the site keeps its stack, its repository and DNS
//   swapDns          fp-dr:dns.activeSite on the stack that owns DNS, `up --target` the two
//                    failover records and its host's permissions (write only while active),
//                    then poll the service name's answer (bounded)
//   createDrillSite  stack drill-<id>: the template stack's config + drill overrides, `up`
//   destroyDrillSite destroy + stack rm (idempotent; also after a failed drill or destroy)
//   listDrillSites   the drill-<id> stacks and their expiry (dr drill list / reap)
// Promotion, switchover and reprotect (standbyRoles) are ./standby-roles.ts.
// The security-incident methods (isolate, preserve, credential rotation) are ./incident.ts.
// What Pulumi cannot do alone (a network path to the private hosts, SQL, the DNS answer from
// inside the VPC, reading the S3 repositories, a command on a host) comes in through ./access.ts
// injectables; without them the engine says so instead of pretending.
import { hostPaths } from "../../../infra/cloud-init/host-spec";
import { requestEntries, requestForTarget } from "../../../infra/config/requests";
import { parseSiteOutputs, type SiteOutputs } from "../../../infra/outputs";
import { readCatalog, type RepoCatalog } from "../../backups/catalog";
import { lastArchivedCommit, type ArchivedCommit } from "../../backups/archived-commits";
import type { ArchivedSegment } from "../../backups/archive";
import { verifyRepositories } from "../../backups/verify";
import type { DrConfig, SiteRole } from "../../config/schema";
import { DrError, withContext } from "../../core/errors";
import type { Pgbackrest } from "../../pgbackrest/client";
import { planRestore, type RestorePlan } from "../../restore/plan";
import type { Engine, EngineRestoreRequest, EngineRestoreResult, FenceResult, SiteEndpoint, SiteProbe } from "../engine";
import type { CredentialRotation, IncidentContext, IsolationResult, PreservationResult } from "../../incident/types";
import { actor } from "../../incident/custody";
import { sdkClients, type AwsClients } from "./aws";
import { PulumiIncident } from "./incident";
import { PulumiStandbyRoles } from "./standby-roles";
import {
  pgSiteDatabase,
  privateNetworkAccess,
  systemResolver,
  tcpRegionProbe,
  type DnsResolver,
  type HostCommandRunner,
  type RegionProbe,
  type SiteAccess,
  type SiteDatabase,
} from "./access";
import {
  compactTime,
  configValue,
  connectionConfig,
  drillConfigEntries,
  hostReachable,
  siteNameInStack,
  stackOfRole,
  type SiteConnectionConfig,
} from "./stack-config";
import type { RawOutputs, StackOps, StoredConfig } from "./stack-ops";
import type { ControlState } from "./control-writes";
import { activeSiteUrns, fenceUrns, primaryStackReferenceUrn, replacementInstanceUrn, restoreUrns } from "./urns";
import { listDrillStacks, type DrillStack } from "./drill-stacks";
import { backupUnit } from "../../../infra/cloud-init/systemd";
import { pollUntil } from "../../core/poll";

/** The parts of the dr config the engine reads. */
export type PulumiEngineConfig = Pick<DrConfig, "sites" | "serviceName" | "pulumi">;

export interface PulumiEngineOptions {
  ops: StackOps;
  /** The environment's control document, where a switchover in flight is kept. Default: none (nothing recorded). */
  control?: ControlState;
  config: PulumiEngineConfig;
  /** Network path to the hosts. Default: their private addresses (only inside the VPC). */
  access?: SiteAccess;
  /** SQL on the sites. Default: node-postgres through `access`. */
  database?: SiteDatabase;
  /** The service name's answer. Default: the system resolver. */
  resolver?: DnsResolver;
  /** Whether a region answers. Default: a TCP connection to its EC2 endpoint. */
  regionProbe?: RegionProbe;
  /** A command on a host (startBackup). Default: none; startBackup then refuses. */
  hostCommands?: HostCommandRunner;
  /**
   * pgBackRest client whose repo1/repo2 are the primary's own and the offsite S3 repositories
   * (numbered as in the dr config), for catalog / verifyBackup / planRestore. Default: none;
   * those then refuse (reading S3 from here needs a rendered pgbackrest.conf and AWS keys).
   */
  repositories?: () => Promise<Pgbackrest>;
  /**
   * AWS API clients for the security-incident steps Pulumi must not own (EBS snapshots as
   * evidence, revoking a host role's sessions). Default: SDK v3 clients in the site's region
   * (its stack output `region`), default credential chain.
   */
  aws?: AwsClients;
  /** How long preserve waits for its snapshots to complete before returning them as pending. Default 15 min. */
  snapshotTimeoutMs?: number;
  /** Snapshot state poll interval. Default 15 s. */
  snapshotPollMs?: number;
  /** Who acts (the snapshots' fp-dr:taken-by tag). Default fp-dr <OS user>@<host name>. */
  actor?: string;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  /** Request ids for restore, fence, promote and reprotect requests (must match infra's requestId pattern). */
  newRequestId?: (purpose: RequestPurpose) => string;
  /** DNS poll interval. Default 5 s. */
  dnsPollMs?: number;
  /** The CLI's progress output of ups and destroys. */
  onOutput?: (text: string) => void;
}

type RequestPurpose = "restore" | "fence" | "promote" | "reprotect";

function defaultActor(): string {
  const a = actor("dr incident");
  return `fp-dr ${a.sudoUser ?? a.user}@${a.host}`;
}

export class PulumiEngine implements Engine {
  readonly name = "pulumi" as const;
  private readonly ops: StackOps;
  private readonly access: SiteAccess;
  private readonly database: SiteDatabase;
  private readonly resolver: DnsResolver;
  private readonly regionProbe: RegionProbe;
  private readonly now: () => Date;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly newRequestId: (purpose: RequestPurpose) => string;
  private readonly incident: PulumiIncident;
  readonly standbyRoles: PulumiStandbyRoles;

  constructor(private readonly o: PulumiEngineOptions) {
    this.ops = o.ops;
    this.access = o.access ?? privateNetworkAccess;
    this.database = o.database ?? pgSiteDatabase();
    this.resolver = o.resolver ?? systemResolver;
    this.regionProbe = o.regionProbe ?? tcpRegionProbe();
    this.now = o.now ?? (() => new Date());
    this.sleep = o.sleep ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms)));
    this.newRequestId = o.newRequestId ?? ((purpose) => `${purpose}-${compactTime(this.now())}-${Math.random().toString(16).slice(2, 8)}`);
    this.incident = new PulumiIncident({
      ops: this.ops,
      aws: o.aws ?? sdkClients(),
      actor: o.actor ?? defaultActor(),
      snapshotTimeoutMs: o.snapshotTimeoutMs ?? 15 * 60_000,
      snapshotPollMs: o.snapshotPollMs ?? 15_000,
      now: this.now,
      stackOf: (site) => this.stackOf(site),
      selectedConfig: (stack) => this.selectedConfig(stack),
      siteOutputs: (stack) => this.siteOutputs(stack),
      endpointFrom: (site, outputs, c) => this.endpointFrom(site, outputs, c),
      fenceStack: (site, stack, read) => this.fenceStack(site, stack, read),
    });
    this.standbyRoles = new PulumiStandbyRoles({
      ops: this.ops,
      control: o.control,
      database: this.database,
      hostCommands: o.hostCommands,
      stackOf: (site) => this.stackOf(site),
      dnsStack: () => this.dnsStack,
      siteOfRole: (role) => Object.entries(this.o.config.sites).find(([, s]) => s.role === role)?.[0],
      selectedConfig: (stack) => this.selectedConfig(stack),
      siteOutputs: (stack) => this.siteOutputs(stack),
      endpointFrom: (site, outputs, c) => this.endpointFrom(site, outputs, connectionConfig(c)),
      hostRepoOf: (primary, host) => repoNumberOf(primary.repositories.repo1.bucket, host),
      newRequestId: (purpose) => this.newRequestId(purpose),
      promoteWaitSeconds: 60,
      restoreTimeoutSeconds: this.settings.restoreTimeout,
      onOutput: o.onOutput,
    });
  }

  private get settings() {
    return this.o.config.pulumi;
  }

  // ---- sites and stacks -------------------------------------------------------------------

  private drillStack(id: string): string {
    if (!/^[a-z0-9][a-z0-9-]{0,24}$/.test(id)) {
      throw new DrError("USAGE", `drill id ${JSON.stringify(id)} is not usable as a stack name and drill tag`, { hint: "use lowercase letters, digits and dashes, at most 25 characters (e.g. a timestamp 20250901t040000z)" });
    }
    return `${this.settings.drillStackPrefix}${id}`;
  }

  /** Drill sites are named drill-<id> (infra/config/resolve.ts); anything else must be configured. */
  private drillIdOf(site: string): string | undefined {
    return this.o.config.sites[site] ? undefined : /^drill-(.+)$/.exec(site)?.[1];
  }

  /**
   * A replacement host of the primary site (hardware failure: the plan names it
   * replacement-<id>): declared in the primary's stack, never configured under `sites:`.
   */
  private replacementIdOf(site: string): string | undefined {
    return this.o.config.sites[site] ? undefined : /^replacement-([a-z0-9]{1,20})$/.exec(site)?.[1];
  }

  private roleOf(site: string): SiteRole {
    const configured = this.o.config.sites[site];
    if (configured) return configured.role;
    if (this.replacementIdOf(site) !== undefined) return "primary";
    if (this.drillIdOf(site) !== undefined) return "drill";
    throw new DrError("SITE_UNKNOWN", `no site named ${site}`, { hint: `known sites: ${Object.keys(this.o.config.sites).join(", ")} (and drill-<id> sites)` });
  }

  private stackOf(site: string): string {
    const configured = this.o.config.sites[site];
    if (configured?.stack) return configured.stack;
    if (this.replacementIdOf(site) !== undefined) return this.stackOfRole("primary");
    const role = this.roleOf(site);
    if (role === "drill") return this.drillStack(this.drillIdOf(site) ?? site);
    return this.settings.stacks[role];
  }

  /** The stack that owns the failover records. */
  private get dnsStack(): string {
    return this.stackOfRole("secondary");
  }

  /** The stack of the site with this role; CONFIG_INVALID if the dr config names none. */
  private stackOfRole(role: "primary" | "secondary"): string {
    if (!Object.values(this.o.config.sites).some((s) => s.role === role)) {
      throw new DrError("CONFIG_INVALID", `no site with role ${role} in the dr config`, { hint: "list the sites under `sites:` with their roles" });
    }
    return stackOfRole(this.o.config, role);
  }

  private async siteOutputs(stack: string, raw?: RawOutputs): Promise<SiteOutputs> {
    return parseSiteOutputs(raw ?? (await this.ops.outputs(stack)));
  }

  /**
   * The outputs of a site's stack as they concern `site`: a replacement host's are its
   * stack's with the replacement's instance and address (before its host-bound resources
   * moved to it, too). SITE_UNKNOWN while the stack does not declare it.
   */
  private async outputsFor(site: string, raw?: RawOutputs): Promise<SiteOutputs> {
    const stack = this.stackOf(site);
    const outputs = await this.siteOutputs(stack, raw);
    const id = this.replacementIdOf(site);
    if (id === undefined) return outputs;
    const r = outputs.replacement;
    if (r?.id !== id) {
      throw new DrError("SITE_UNKNOWN", `replacement host ${id} is not declared in stack ${stack}${r ? ` (it declares ${r.id})` : ""}`, { hint: "the hardware failover's bring-up step declares it: dr resume the run" });
    }
    return { ...outputs, instanceId: r.instanceId, privateIp: r.privateIp, endpoint: { host: r.privateIp, port: outputs.endpoint.port } };
  }

  /** SiteEndpoint through the access path, with the credentials from the site's stack config. */
  private async endpointFrom(site: string, outputs: SiteOutputs, c: SiteConnectionConfig): Promise<SiteEndpoint> {
    const at = await this.access.open(site, outputs, { ssh: c.sshLocalPort, postgres: c.postgresLocalPort, via: c.via });
    const ssl = c.sslmode === "require" ? { rejectUnauthorized: false } : { rejectUnauthorized: true };
    return {
      site,
      admin: { host: at.host, port: at.port, user: c.adminUser, password: c.adminPassword, database: "postgres", ssl },
      app: { host: at.host, port: at.port, user: c.appUser, password: c.appPassword, database: c.database, ssl },
      // The site's own address on its network: what the service name answers for it.
      address: outputs.endpoint.host,
      port: outputs.endpoint.port,
    };
  }

  async sites(): Promise<{ name: string; role: string }[]> {
    return Object.entries(this.o.config.sites).map(([name, s]) => ({ name, role: s.role }));
  }

  /** Selects the stack and reads its whole config (secrets included): the start of most actions. */
  private async selectedConfig(stack: string): Promise<StoredConfig> {
    await this.ops.select(stack);
    return this.ops.getAllConfig(stack);
  }

  async endpoint(site: string): Promise<SiteEndpoint> {
    const stack = this.stackOf(site);
    const config = await this.ops.getAllConfig(stack);
    return this.endpointFrom(site, await this.outputsFor(site), connectionConfig(config));
  }

  async probe(site: string): Promise<SiteProbe> {
    try {
      const ep = await this.endpoint(site);
      return { site, ...(await this.database.probe(ep)) };
    } catch (e) {
      return { site, reachable: false, error: (e as Error).message };
    }
  }

  // ---- bring up -------------------------------------------------------------------------

  /**
   * `up` of the site's stack, without refresh. A stack whose host was never reachable goes in
   * two phases (infra's first-deployment rule): first without the resources that connect to
   * the host, then — once `access` has opened the path to the new instance — with them. A
   * standing site (the warm standby) takes one update; its path is opened afterwards, so an
   * update that replaces its host needs access.hostReachable set to false first.
   */
  async bringUp(site: string): Promise<SiteEndpoint> {
    const stack = this.stackOf(site);
    const replacement = this.replacementIdOf(site);
    if (replacement !== undefined) return this.bringUpReplacement(site, replacement, stack);
    try {
      // 1. The site's stack (it exists ahead of any outage; a missing one is an error).
      const config = await this.selectedConfig(stack);
      const conn = connectionConfig(config);
      // 2. Phase one if the host was never reachable: declare it without the host-bound resources.
      if (!hostReachable(config)) {
        const first = await this.ops.up(stack, { message: `fp-dr: bring up ${site} (host)`, onOutput: this.o.onOutput });
        await this.access.open(site, await this.siteOutputs(stack, first.outputs), { ssh: conn.sshLocalPort, postgres: conn.postgresLocalPort, via: conn.via });
      }
      // 3. Site mode: the host is reachable, so readiness (and any restore request) are declared.
      await this.ops.setConfig(stack, { "fp-dr:access.hostReachable": { value: "true" } }, { path: true });
      // 4. The update itself; the secondary region only, nothing is refreshed.
      const up = await this.ops.up(stack, { message: `fp-dr: bring up ${site}`, onOutput: this.o.onOutput });
      return await this.endpointFrom(site, await this.siteOutputs(stack, up.outputs), conn);
    } catch (e) {
      throw withContext(`bringing up ${site} (stack ${stack})`, e);
    }
  }

  /**
   * Hardware failure: a replacement host for the primary site in its own stack, in the two
   * phases of a new host (infra's fp-dr:replacement): the host alone, the path to it, then the
   * site's host-bound resources (readiness, database objects, restore, the host-apply
   * association) moved to it. The old host keeps its fence; nothing is refreshed. A resumed
   * run whose replacement is already reachable only reopens the path and updates again.
   */
  private async bringUpReplacement(site: string, id: string, stack: string): Promise<SiteEndpoint> {
    try {
      // 1. The primary's stack, its config and the replacement it already declares, if any.
      const config = await this.selectedConfig(stack);
      const conn = connectionConfig(config);
      const ports = { ssh: conn.sshLocalPort, postgres: conn.postgresLocalPort, via: conn.via };
      const declared = configValue(config, "fp-dr:replacement") as { id?: string; reachable?: boolean } | undefined;
      // The fence the old host was failed away with stays on it (a later fence covers both).
      const oldHostFence = (configValue(config, "fp-dr:fence") as { requestId?: string } | undefined)?.requestId;
      // The old host's path (same local ports) is closed: everything after this reaches the new one.
      await this.access.close(siteNameInStack(config));
      if (declared?.id !== id || declared.reachable !== true) {
        // 2. Phase one: the new host alone (a request of another run's replacement is replaced whole).
        await this.ops.removeConfig(stack, ["fp-dr:replacement"]);
        await this.ops.setConfig(stack, requestEntries("replacement", { id, reachable: false, oldHostFence }), { path: true });
        const first = await this.ops.up(stack, { message: `fp-dr: replacement host ${id} (host)`, onOutput: this.o.onOutput });
        await this.access.open(site, await this.outputsFor(site, first.outputs), ports);
        // 3. Phase two: the site's host-bound resources move to it (both fields: one decision).
        await this.ops.setConfig(stack, requestEntries("replacement", { id, reachable: true, oldHostFence }), { path: true });
      } else {
        await this.access.open(site, await this.outputsFor(site), ports);
      }
      const up = await this.ops.up(stack, { message: `fp-dr: bring up ${site}`, onOutput: this.o.onOutput });
      return await this.endpointFrom(site, await this.outputsFor(site, up.outputs), conn);
    } catch (e) {
      throw withContext(`bringing up ${site} (stack ${stack})`, e);
    }
  }

  // ---- repositories (need a pgBackRest client for the S3 buckets) ------------------------

  private async pgbackrest(doing: string): Promise<Pgbackrest> {
    if (!this.o.repositories) {
      throw new DrError("DEPENDENCY_MISSING", `${doing} needs pgBackRest access to the S3 repositories from this machine, and none is configured`, {
        hint: "give the pulumi engine a repositories client (a pgbackrest.conf for the primary's and the offsite bucket, with AWS keys or an instance profile)",
      });
    }
    return this.o.repositories();
  }

  async catalog(repo: 1 | 2): Promise<RepoCatalog> {
    return readCatalog(await this.pgbackrest(`reading repo${repo}`), repo);
  }

  async lastArchivedCommit(repo: 1 | 2, segments: ArchivedSegment[], opts: { upToLsn?: string } = {}): Promise<ArchivedCommit> {
    return lastArchivedCommit(await this.pgbackrest(`reading the archived WAL of repo${repo}`), repo, segments, opts);
  }

  async verifyBackup(repo: 1 | 2, set: string): Promise<{ ok: boolean; detail: string }> {
    const report = await verifyRepositories(await this.pgbackrest(`verifying ${set} in repo${repo}`), { repos: [repo], set });
    const verdict = report.repos[0]?.sets.find((s) => s.label === set);
    if (!verdict) return { ok: false, detail: report.repos[0]?.error ?? `pgBackRest verify reported nothing for ${set}` };
    return { ok: verdict.ok, detail: verdict.detail };
  }

  async planRestore(req: EngineRestoreRequest): Promise<RestorePlan> {
    const pgb = await this.pgbackrest(`planning the restore into ${req.site}`);
    const outputs = await this.outputsFor(req.site).catch((e: unknown) => {
      // A replacement host is planned for before the bring-up step declares it: nothing there yet.
      if (this.replacementIdOf(req.site) !== undefined && e instanceof DrError && e.code === "SITE_UNKNOWN") return undefined;
      throw e;
    });
    const probe = outputs ? await this.probe(req.site) : undefined;
    const active = this.roleOf(req.site) === "drill" ? undefined : await this.activeSite().catch(() => undefined);
    return planRestore({
      pgb,
      destination: {
        name: req.site,
        kind: "site",
        dataDir: hostPaths.dataDir,
        address: outputs?.endpoint.host ?? "(a new host)",
        port: outputs?.endpoint.port ?? 5432,
        // Not reachable from here says nothing about the host's disk: count it as holding data.
        state: !outputs ? "empty" : probe?.reachable ? "running" : "stopped",
        serving: active === req.site,
      },
      request: { set: req.set, target: req.target, repo: req.repo, overwrite: req.overwrite, arriving: req.arriving },
      rate: req.rate,
      now: this.now(),
    });
  }

  // ---- restore ---------------------------------------------------------------------------

  /**
   * The repository number on the site's host for a repository numbered as in the dr config
   * (1 = the primary's own, 2 = offsite): matched by bucket through the stacks' outputs, since
   * a host numbers its own region's bucket 1.
   */
  private async hostRepo(repo: 1 | 2, site: SiteOutputs): Promise<1 | 2> {
    const primary = await this.siteOutputs(this.stackOfRole("primary"));
    const wanted = primary.repositories[repo === 1 ? "repo1" : "repo2"];
    if (!wanted) throw new DrError("REPO_UNKNOWN", `the primary stack's outputs name no repo${repo}`, { hint: "run `pulumi up` on the primary stack with this version of fp-dr" });
    return repoNumberOf(wanted.bucket, site);
  }

  async restore(req: EngineRestoreRequest): Promise<EngineRestoreResult> {
    const stack = this.stackOf(req.site);
    try {
      // 1. Pre-flight when the repositories are readable from here: the set that will be used,
      //    and where a time target stops (the end of the archive when no commit after it is archived).
      const plan = this.o.repositories ? await this.planRestore(req) : undefined;
      const target = requestForTarget(plan?.targetSpec ?? req.target);
      const set = req.set ?? plan?.set.label;
      // 2. The stack, its config (site name, credentials) and where the repository is for its host.
      const config = await this.selectedConfig(stack);
      const site = siteNameInStack(config);
      const repo = await this.hostRepo(req.repo, await this.outputsFor(req.site));
      // 3. A new request: the old one is removed whole so none of its fields survive.
      await this.ops.removeConfig(stack, ["fp-dr:restore"]);
      const requestId = this.newRequestId("restore");
      await this.ops.setConfig(
        stack,
        requestEntries("restore", { requestId, set, ...target, repo, allowOverwrite: req.overwrite, timeout: this.settings.restoreTimeout }),
        { path: true },
      );
      // 4. Only the restore command runs (it re-runs because its trigger, the request, changed).
      //    The host starts the copy as soon as its files are down: a target's WAL still on its
      //    way to the archive is awaited first (no overlap here, unlike the lab's restore).
      if (req.arriving) await req.arriving.archived;
      const started = this.now().getTime();
      const up = await this.ops.up(stack, { targets: restoreUrns(stack, site), message: `fp-dr: restore ${requestId}`, onOutput: this.o.onOutput });
      const restoreFilesMs = this.now().getTime() - started;
      // 5. Recovery, watched over SQL (Pulumi only knows that the command exited 0): paused at
      //    the target, or a standby caught up with the archive; read-only either way.
      const ep = await this.endpointFrom(req.site, await this.outputsFor(req.site, up.outputs), connectionConfig(config));
      const recovered = await this.database.waitForRecovery(ep, { mode: target.mode, timeoutMs: this.settings.restoreTimeout * 1000 });
      return {
        site: req.site,
        // Without a repositories client pgBackRest picks the newest set on the host, which
        // does not report its label back through Pulumi.
        set: set ?? "newest",
        repo: req.repo,
        replayLsn: recovered.replayLsn,
        lastCommitAt: recovered.lastCommitAt,
        timings: { restoreFilesMs, recoveryMs: this.now().getTime() - started - restoreFilesMs },
        bytes: plan?.estimate.bytes,
      };
    } catch (e) {
      throw withContext(`restoring into ${req.site} (stack ${stack})`, e);
    }
  }

  async openForWrites(site: string): Promise<void> {
    await this.database.promote(await this.endpoint(site));
  }

  // ---- fence -----------------------------------------------------------------------------

  /**
   * Best effort and never a throw for an unreachable site: the old primary's stack is touched
   * only if its region answers (nothing is refreshed either way). Then fp-dr:fence (mode
   * isolate) makes the host's only security group the isolation group (no ingress, no egress),
   * the instance updated alone; its data volume and everything else stay as they are.
   */
  async fence(site: string): Promise<FenceResult> {
    return this.fenceStack(site, this.stackOf(site));
  }

  /** fence, given what the caller has already read of the site's stack (selected). */
  private async fenceStack(site: string, stack: string, read?: { config: StoredConfig; outputs: SiteOutputs }): Promise<FenceResult> {
    let region = this.o.config.sites[site]?.region ?? read?.outputs.region;
    if (!region) {
      try {
        region = (await this.siteOutputs(stack)).region;
      } catch (e) {
        return { site, outcome: "unreachable", detail: `its region is unknown (no sites.${site}.region, stack outputs unreadable: ${(e as Error).message.split("\n")[0]}); fence it by hand` };
      }
    }
    const answer = await this.regionProbe(region);
    if (!answer.reachable) {
      return {
        site,
        outcome: "unreachable",
        detail: `${region} does not answer (${answer.detail}); not fenced: before the region comes back, plan to isolate the host (fp-dr:fence on stack ${stack}, or stop the instance) so it cannot take writes`,
      };
    }
    try {
      const config = read?.config ?? (await this.selectedConfig(stack));
      const name = siteNameInStack(config);
      const requestId = this.newRequestId("fence");
      await this.ops.setConfig(stack, requestEntries("fence", { mode: "isolate", requestId }), { path: true });
      // A site whose host was replaced: its replacement is fenced too (the old one already is).
      const replaced = (configValue(config, "fp-dr:replacement") as { id?: string } | undefined)?.id !== undefined;
      const targets = [...fenceUrns(stack, name, "isolate"), ...(replaced ? [replacementInstanceUrn(stack, name)] : [])];
      await this.ops.up(stack, { targets, message: `fp-dr: fence ${site} ${requestId}`, onOutput: this.o.onOutput });
      return { site, outcome: "isolated", detail: `${region}: the host's security groups were replaced by the isolation group (request ${requestId})` };
    } catch (e) {
      const again = await this.regionProbe(region);
      if (!again.reachable) {
        return { site, outcome: "unreachable", detail: `${region} stopped answering while fencing (${again.detail}): ${(e as Error).message.split("\n")[0]}` };
      }
      throw withContext(`fencing ${site} (stack ${stack})`, e);
    }
  }

  // ---- DNS -------------------------------------------------------------------------------

  async swapDns(site: string): Promise<{ address: string; waitedMs: number }> {
    const role = this.roleOf(site);
    if (role === "drill") throw new DrError("USAGE", `the service name never points at a drill site (${site})`, { hint: "drills do not touch DNS" });
    const stack = this.dnsStack;
    try {
      // 1. The stack that owns the records (no resource in the primary region).
      const config = await this.selectedConfig(stack);
      const serviceName = (configValue(config, "fp-dr:dns") as { serviceName?: string } | undefined)?.serviceName ?? this.o.config.serviceName;
      // 2. Force the answer to the site, and update the two records only.
      await this.ops.setConfig(stack, { "fp-dr:dns.activeSite": { value: role } }, { path: true });
      // A replacement host has a new address: the primary's stack outputs are read again.
      const dnsStackName = siteNameInStack(config);
      const targets = [...activeSiteUrns(stack, dnsStackName), ...(this.replacementIdOf(site) !== undefined ? [primaryStackReferenceUrn(stack, dnsStackName)] : [])];
      const up = await this.ops.up(stack, { targets, message: `fp-dr: point ${serviceName} at ${site}`, onOutput: this.o.onOutput });
      // 3. The address it must answer: the site's host (a targeted update leaves it as it was).
      const target = this.stackOf(site) === stack ? await this.siteOutputs(stack, up.outputs) : await this.outputsFor(site);
      return await this.waitForAnswer(serviceName, target.privateIp);
    } catch (e) {
      throw withContext(`pointing the service name at ${site}`, e);
    }
  }

  /** Polls the real answer until it is `address` only, within pulumi.dnsTimeout. */
  private async waitForAnswer(name: string, address: string): Promise<{ address: string; waitedMs: number }> {
    const start = this.now().getTime();
    let last: string[] = [];
    return pollUntil(
      async () => {
        try {
          last = await this.resolver(name);
        } catch (e) {
          last = [`(${(e as Error).message})`];
        }
        return last.length > 0 && last.every((a) => a === address) ? { address, waitedMs: this.now().getTime() - start } : undefined;
      },
      {
        what: `${name} to answer ${address}`,
        timeoutMs: this.settings.dnsTimeout * 1000,
        intervalMs: this.o.dnsPollMs ?? 5000,
        now: () => this.now().getTime(),
        sleep: this.sleep,
        onTimeout: ({ waitedMs }) =>
          new DrError("DNS_FAILED", `${name} still answers ${last.join(", ") || "nothing"} after ${Math.round(waitedMs / 1000)} s, not ${address}`, {
            hint: "the records were updated; check Route 53 (the hosted zone and TTL) and the resolver this machine uses (it must see the private zone)",
          }),
      },
    );
  }

  async activeSite(): Promise<string | undefined> {
    const answer = await this.resolver(this.o.config.serviceName);
    if (answer.length === 0) return undefined;
    for (const [name, s] of Object.entries(this.o.config.sites)) {
      if (s.role === "drill") continue;
      const outputs = await this.siteOutputs(this.stackOf(name)).catch(() => undefined);
      if (!outputs || !answer.every((a) => a === outputs.privateIp)) continue;
      // The site's replacement host serves under its own name (the run's target site).
      const r = outputs.replacement;
      return r?.reachable && r.privateIp === outputs.privateIp ? `replacement-${r.id}` : name;
    }
    return undefined;
  }

  // ---- drills ----------------------------------------------------------------------------

  /**
   * Stack drill-<id> in the template stack's region: its config copied, the drill overrides
   * applied, then the two-phase `up` (host first, then readiness once `access` reaches it).
   * On failure the stack stays for destroyDrillSite, which plans call whatever happened.
   */
  async createDrillSite(id: string): Promise<SiteEndpoint> {
    const stack = this.drillStack(id);
    const site = `drill-${id}`;
    try {
      // 1. The stack (selected again when a run resumes).
      const created = (await this.ops.selectOrCreate(stack)) === "created";
      // 2. Its config: the template's (secrets stay secrets) with the drill overrides; a resumed
      //    run keeps what it wrote the first time (same expiry, same tags).
      let config = created ? undefined : await this.ops.getAllConfig(stack);
      if (config === undefined || configValue(config, "fp-dr:drill") === undefined) {
        const template = this.settings.drillTemplateStack ?? this.dnsStack;
        const expiresAt = new Date(this.now().getTime() + this.settings.drillExpiry * 1000).toISOString();
        await this.ops.setConfig(stack, drillConfigEntries(await this.ops.getAllConfig(template), { id, expiresAt }), { path: true });
        config = await this.ops.getAllConfig(stack);
      }
      const conn = connectionConfig(config);
      const ports = { ssh: conn.sshLocalPort, postgres: conn.postgresLocalPort, via: conn.via };
      if (!hostReachable(config)) {
        // 3. Phase one: network and host, then the path to it.
        const first = await this.ops.up(stack, { message: `fp-dr: drill ${id} (host)`, onOutput: this.o.onOutput });
        await this.access.open(site, await this.siteOutputs(stack, first.outputs), ports);
        await this.ops.setConfig(stack, { "fp-dr:access.hostReachable": { value: "true" } }, { path: true });
      } else {
        // 3. Resumed after phase one: the host exists; reopen the path to it.
        await this.access.open(site, await this.siteOutputs(stack), ports);
      }
      // 4. Phase two: the host is reachable; readiness gate.
      const up = await this.ops.up(stack, { message: `fp-dr: drill ${id}`, onOutput: this.o.onOutput });
      return await this.endpointFrom(site, await this.siteOutputs(stack, up.outputs), conn);
    } catch (e) {
      throw withContext(`creating drill site ${site} (stack ${stack})`, e);
    }
  }

  /** The drill stacks in the backend, with their expiry (./drill-stacks.ts). */
  listDrillSites(): Promise<DrillStack[]> {
    return listDrillStacks(this.ops, this.settings.drillStackPrefix, this.now());
  }

  async destroyDrillSite(id: string): Promise<void> {
    const stack = this.drillStack(id);
    try {
      // 1. Gone already (an earlier attempt finished): nothing left but the path to the host.
      try {
        await this.ops.select(stack);
      } catch (e) {
        if (!(e instanceof DrError && e.code === "STACK_NOT_FOUND")) throw e;
        await this.access.close(`drill-${id}`);
        return;
      }
      // 2. Every resource, then the stack itself; then the path to the host.
      await this.ops.destroy(stack, { onOutput: this.o.onOutput });
      await this.ops.removeStack(stack);
      await this.access.close(`drill-${id}`);
    } catch (e) {
      throw withContext(`destroying drill site drill-${id} (stack ${stack})`, e);
    }
  }

  // ---- backups ---------------------------------------------------------------------------

  /** Starts the host's own full/incremental backup unit (its pgbackrest.conf, its repositories). */
  async startBackup(site: string, type: "full" | "incr"): Promise<{ label?: string }> {
    if (!this.o.hostCommands) {
      throw new DrError("DEPENDENCY_MISSING", `starting a backup on ${site} needs a command on its host, which Pulumi cannot run on demand`, {
        hint: `run \`sudo systemctl start ${backupUnit(type, 1)}\` on the host (SSM), or give the pulumi engine a host command runner`,
      });
    }
    const outputs = await this.outputsFor(site);
    // The host's own region's repository (repo1): reachable even when the other region is down.
    await this.o.hostCommands(site, outputs, ["sudo", "systemctl", "start", "--no-block", backupUnit(type, 1)]);
    return {};
  }

  // ---- security incident (./incident.ts) ---------------------------------------------------

  isolate(site: string, incident: IncidentContext): Promise<IsolationResult> {
    return this.incident.isolate(site, incident);
  }

  preserve(site: string, incident: IncidentContext): Promise<PreservationResult> {
    return this.incident.preserve(site, incident);
  }

  rotateDatabaseCredentials(site: string): Promise<CredentialRotation> {
    return this.incident.rotateDatabaseCredentials(site);
  }

  rotateRepositoryAccess(withhold: string[]): Promise<CredentialRotation> {
    return this.incident.rotateRepositoryAccess(withhold);
  }
}

/** The host's repository number (1 its own region's, 2 the other) of a bucket. */
function repoNumberOf(bucket: string, site: SiteOutputs): 1 | 2 {
  if (site.repositories.repo1.bucket === bucket) return 1;
  if (site.repositories.repo2?.bucket === bucket) return 2;
  throw new DrError("REPO_UNKNOWN", `site ${site.site} cannot read the repository in bucket ${bucket}`, {
    hint: "restore from the repository in the site's own region (a drill reads only its region's bucket)",
  });
}
