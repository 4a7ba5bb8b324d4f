// The pulumi engine: recovery plans acting on the AWS sites through the Automation API
// (StackOps on a LocalWorkspace of this repository's project). Each method is a short recipe
// of stack operations:
//   bringUp          select the site's stack, mark the host reachable, `up` (never refresh)
//   restore          write a new restore request (fp-dr:restore), `up --target` its command
//   fence            only if the old primary's region answers: fp-dr:fence, `up --target` the instance
//   swapDns          fp-dr:dns.activeSite on the stack that owns DNS, `up --target` the two
//                    failover records and its host's permissions (write only while active),
//                    then poll the service name's answer (bounded)
//   createDrillSite  stack drill-<id>: the template stack's config + drill overrides, `up`
//   destroyDrillSite destroy + stack rm (idempotent; also after a failed drill or destroy)
//   listDrillSites   the drill-<id> stacks and their expiry (dr drill list / reap)
//   isolate          the fence, plus live sessions ended over SQL
//   preserve         EC2 CreateSnapshots of the host's volumes (AWS SDK, not a stack resource)
//   rotateDatabase…  SCRAM rotation over SQL; the new passwords become the stack's secrets
//   rotateRepository IAM "revoke older sessions" policy on the compromised hosts' roles
// What Pulumi cannot do alone (a network path to the private hosts, SQL, the DNS answer from
// inside the VPC, reading the S3 repositories, a command on a host) comes in through ./access.ts
// injectables; without them the engine says so instead of pretending. What must not be a
// Pulumi resource at all (EBS snapshots as incident evidence, which must outlive a destroy of
// the compromised site; revoking a host role's sessions) goes through the AWS SDK (./aws.ts).
import { existsSync, renameSync } from "node:fs";
import { join } from "node:path";
import { hostPaths } from "../../../infra/cloud-init/host-spec";
import { hostRoleName } from "../../../infra/naming";
import { parseSiteOutputs, type SiteOutputs } from "../../../infra/outputs";
import { readCatalog, type RepoCatalog } from "../../backups/catalog";
import { verifyRepositories } from "../../backups/verify";
import type { DrConfig, SiteRole } from "../../config/schema";
import { DrError, withContext } from "../../core/errors";
import type { Pgbackrest } from "../../pgbackrest/client";
import { planRestore, type RestorePlan } from "../../restore/plan";
import type { CredentialRotation, Engine, EngineRestoreRequest, EngineRestoreResult, FenceResult, IncidentContext, IsolationResult, PreservationResult, SiteEndpoint, SiteProbe, TerminatedSession } from "../engine";
import type { Client } from "pg";
import { connect } from "../../postgres/client";
import { actor } from "../../incident/custody";
import { terminateOtherSessions } from "../../incident/sessions";
import { writeEvidence } from "../../incident/evidence";
import { newPassword, rotateLoginRoles, tryLogin } from "../../incident/rotate";
import { registerSecret } from "../../core/redact";
import { ec2Commands, iamCommands, revokeOlderSessionsPolicy, sdkClients, type AwsClients, type Ec2Api } from "./aws";
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
  configValue,
  connectionConfig,
  drillConfigEntries,
  fenceEntries,
  hostReachable,
  restoreModeFor,
  restoreRequestEntries,
  siteNameInStack,
  stackOfRole,
  storedSecret,
  type SiteConnectionConfig,
} from "./stack-config";
import type { ConfigEntries, RawOutputs, StackOps, StoredConfig } from "./stack-ops";
import { activeSiteUrns, fenceUrns, restoreUrns } from "./urns";
import { listDrillStacks, type DrillStack } from "./drill-stacks";
import { backupUnit } from "../../../infra/cloud-init/systemd";

/** The parts of the dr config the engine reads. */
export type PulumiEngineConfig = Pick<DrConfig, "sites" | "serviceName" | "pulumi">;

export interface PulumiEngineOptions {
  ops: StackOps;
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
  /** Request ids for restore and fence requests (must match infra's requestId pattern). */
  newRequestId?: (purpose: "restore" | "fence") => string;
  /** DNS poll interval. Default 5 s. */
  dnsPollMs?: number;
  /** The CLI's progress output of ups and destroys. */
  onOutput?: (text: string) => void;
}

function defaultActor(): string {
  const a = actor("dr incident");
  return `fp-dr ${a.sudoUser ?? a.user}@${a.host}`;
}

function compactTime(d: Date): string {
  return d.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "z").toLowerCase();
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
  private readonly newRequestId: (purpose: "restore" | "fence") => string;
  private readonly aws: AwsClients;
  private readonly actor: string;
  private readonly snapshotTimeoutMs: number;

  constructor(private readonly o: PulumiEngineOptions) {
    this.ops = o.ops;
    this.access = o.access ?? privateNetworkAccess;
    this.database = o.database ?? pgSiteDatabase();
    this.resolver = o.resolver ?? systemResolver;
    this.regionProbe = o.regionProbe ?? tcpRegionProbe();
    this.now = o.now ?? (() => new Date());
    this.sleep = o.sleep ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms)));
    this.aws = o.aws ?? sdkClients();
    this.actor = o.actor ?? defaultActor();
    this.snapshotTimeoutMs = o.snapshotTimeoutMs ?? 15 * 60_000;
    this.newRequestId = o.newRequestId ?? ((purpose) => `${purpose}-${compactTime(this.now())}-${Math.random().toString(16).slice(2, 8)}`);
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

  private roleOf(site: string): SiteRole {
    const configured = this.o.config.sites[site];
    if (configured) return configured.role;
    if (this.drillIdOf(site) !== undefined) return "drill";
    throw new DrError("SITE_UNKNOWN", `no site named ${site}`, { hint: `known sites: ${Object.keys(this.o.config.sites).join(", ")} (and drill-<id> sites)` });
  }

  private stackOf(site: string): string {
    const configured = this.o.config.sites[site];
    if (configured?.stack) return configured.stack;
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
    return this.endpointFrom(site, await this.siteOutputs(stack), connectionConfig(config));
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

  async verifyBackup(repo: 1 | 2, set: string): Promise<{ ok: boolean; detail: string }> {
    const report = await verifyRepositories(await this.pgbackrest(`verifying ${set} in repo${repo}`), { repos: [repo], set });
    const verdict = report.repos[0]?.sets.find((s) => s.label === set);
    if (!verdict) return { ok: false, detail: report.repos[0]?.error ?? `pgBackRest verify reported nothing for ${set}` };
    return { ok: verdict.ok, detail: verdict.detail };
  }

  async planRestore(req: EngineRestoreRequest): Promise<RestorePlan> {
    const pgb = await this.pgbackrest(`planning the restore into ${req.site}`);
    const stack = this.stackOf(req.site);
    const outputs = await this.siteOutputs(stack);
    const probe = await this.probe(req.site);
    const active = this.roleOf(req.site) === "drill" ? undefined : await this.activeSite().catch(() => undefined);
    return planRestore({
      pgb,
      destination: {
        name: req.site,
        kind: "site",
        dataDir: hostPaths.dataDir,
        address: outputs.endpoint.host,
        port: outputs.endpoint.port,
        // Not reachable from here says nothing about the host's disk: count it as holding data.
        state: probe.reachable ? "running" : "stopped",
        serving: active === req.site,
      },
      request: { set: req.set, target: req.target, repo: req.repo, overwrite: req.overwrite },
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
    if (site.repositories.repo1.bucket === wanted.bucket) return 1;
    if (site.repositories.repo2?.bucket === wanted.bucket) return 2;
    throw new DrError("REPO_UNKNOWN", `site ${site.site} cannot read repo${repo} (bucket ${wanted.bucket} in ${wanted.region})`, {
      hint: "restore from the repository in the site's own region (a drill reads only its region's bucket)",
    });
  }

  async restore(req: EngineRestoreRequest): Promise<EngineRestoreResult> {
    const stack = this.stackOf(req.site);
    try {
      const target = restoreModeFor(req.target);
      // 1. Pre-flight when the repositories are readable from here: the set that will be used.
      const plan = this.o.repositories ? await this.planRestore(req) : undefined;
      const set = req.set ?? plan?.set.label;
      // 2. The stack, its config (site name, credentials) and where the repository is for its host.
      const config = await this.selectedConfig(stack);
      const site = siteNameInStack(config);
      const repo = await this.hostRepo(req.repo, await this.siteOutputs(stack));
      // 3. A new request: the old one is removed whole so none of its fields survive.
      await this.ops.removeConfig(stack, ["fp-dr:restore"]);
      const requestId = this.newRequestId("restore");
      await this.ops.setConfig(
        stack,
        restoreRequestEntries({ requestId, set, ...target, repo, allowOverwrite: req.overwrite, timeoutSeconds: this.settings.restoreTimeout }),
        { path: true },
      );
      // 4. Only the restore command runs (it re-runs because its trigger, the request, changed).
      const started = this.now().getTime();
      const up = await this.ops.up(stack, { targets: restoreUrns(stack, site), message: `fp-dr: restore ${requestId}`, onOutput: this.o.onOutput });
      const restoreFilesMs = this.now().getTime() - started;
      // 5. Recovery, watched over SQL (Pulumi only knows that the command exited 0): paused at
      //    the target, or a standby caught up with the archive; read-only either way.
      const ep = await this.endpointFrom(req.site, await this.siteOutputs(stack, up.outputs), connectionConfig(config));
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
      await this.ops.setConfig(stack, fenceEntries(requestId, "isolate"), { path: true });
      await this.ops.up(stack, { targets: fenceUrns(stack, name, "isolate"), message: `fp-dr: fence ${site} ${requestId}`, onOutput: this.o.onOutput });
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
      const up = await this.ops.up(stack, { targets: activeSiteUrns(stack, siteNameInStack(config)), message: `fp-dr: point ${serviceName} at ${site}`, onOutput: this.o.onOutput });
      // 3. The address it must answer: the site's host (a targeted update leaves it as it was).
      const target = this.stackOf(site) === stack ? await this.siteOutputs(stack, up.outputs) : await this.siteOutputs(this.stackOf(site));
      return await this.waitForAnswer(serviceName, target.privateIp);
    } catch (e) {
      throw withContext(`pointing the service name at ${site}`, e);
    }
  }

  /** Polls the real answer until it is `address` only, within pulumi.dnsTimeout. */
  private async waitForAnswer(name: string, address: string): Promise<{ address: string; waitedMs: number }> {
    const start = this.now().getTime();
    const bound = this.settings.dnsTimeout * 1000;
    let last: string[] = [];
    for (;;) {
      try {
        last = await this.resolver(name);
      } catch (e) {
        last = [`(${(e as Error).message})`];
      }
      const waitedMs = this.now().getTime() - start;
      if (last.length > 0 && last.every((a) => a === address)) return { address, waitedMs };
      if (waitedMs >= bound) {
        throw new DrError("DNS_FAILED", `${name} still answers ${last.join(", ") || "nothing"} after ${Math.round(waitedMs / 1000)} s, not ${address}`, {
          hint: "the records were updated; check Route 53 (the hosted zone and TTL) and the resolver this machine uses (it must see the private zone)",
        });
      }
      await this.sleep(this.o.dnsPollMs ?? 5000);
    }
  }

  async activeSite(): Promise<string | undefined> {
    const answer = await this.resolver(this.o.config.serviceName);
    if (answer.length === 0) return undefined;
    for (const [name, s] of Object.entries(this.o.config.sites)) {
      if (s.role === "drill") continue;
      const outputs = await this.siteOutputs(this.stackOf(name)).catch(() => undefined);
      if (outputs && answer.every((a) => a === outputs.privateIp)) return name;
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
    const outputs = await this.siteOutputs(this.stackOf(site));
    // The host's own region's repository (repo1): reachable even when the other region is down.
    await this.o.hostCommands(site, outputs, ["sudo", "systemctl", "start", "--no-block", backupUnit(type, 1)]);
    return {};
  }

  // ---- security incident -----------------------------------------------------------------

  /**
   * ISOLATE: the fence mechanism (fp-dr:fence swaps the host's security groups for the
   * isolation group: no ingress, no egress; the instance keeps running, so its memory stays).
   * Security groups are stateful and tracked connections can outlive a rule change, so the
   * live sessions are ended over SQL too, through a connection opened before the swap.
   * Not exercised against real AWS here (no credentials, no Pulumi CLI): the contract tests
   * pin the stack operations; the SQL part is the lab's.
   */
  async isolate(site: string, _incident: IncidentContext): Promise<IsolationResult> {
    const at = this.now().toISOString();
    const stack = this.stackOf(site);
    // The stack is read once, for the SQL connection and the fence; if it cannot be, the
    // fence reads it again itself (and says the site is unreachable if it still cannot).
    const read = await this.selectedConfig(stack)
      .then(async (config) => ({ config, outputs: await this.siteOutputs(stack) }))
      .catch(() => undefined);
    let admin: Client | undefined;
    if (read) {
      try {
        const ep = await this.endpointFrom(site, read.outputs, connectionConfig(read.config));
        admin = await connect({ ...ep.admin, connectionTimeoutMillis: 10_000 }, "fp-dr incident isolate");
      } catch {
        admin = undefined;
      }
    }
    const fence = await this.fenceStack(site, stack, read);
    let terminated: TerminatedSession[] = [];
    let sessions = "live sessions could not be reached over SQL: end them on the host (or restart it) before trusting the isolation";
    if (admin) {
      try {
        terminated = await terminateOtherSessions(admin);
        sessions = `${terminated.length} session(s) terminated`;
      } catch (e) {
        sessions = `sessions not terminated (${(e as Error).message.split("\n")[0]}): tracked connections may survive the security group swap; end them on the host`;
      } finally {
        await admin.end().catch(() => undefined);
      }
    }
    const outcome = fence.outcome === "unreachable" ? "unreachable" : "isolated";
    return { site, outcome, detail: `${fence.detail}; ${sessions}`, at, running: fence.outcome !== "unreachable", terminated, evidence: [] };
  }

  /**
   * PRESERVE: EBS snapshots of every volume of the site's host (root and data) in one
   * CreateSnapshots call: crash-consistent across the volumes (one point in time, I/O not
   * paused), outside the site's stack so a `pulumi destroy` cannot remove the evidence. Tagged
   * fp-dr:incident / fp-dr:site / fp-dr:taken-by besides the volume's own tags. A killed attempt
   * is picked up by those tags instead of snapshotting again. Waits for `completed` within
   * snapshotTimeoutMs; what is still pending is returned as pending.
   * The record of what was taken (ids, volumes, sizes, states) is written as evidence into the
   * incident directory and its SHA-256 goes into the custody record.
   */
  async preserve(site: string, incident: IncidentContext): Promise<PreservationResult> {
    const stack = this.stackOf(site);
    try {
      const startedAt = this.now().toISOString();
      // 1. The host, from the site's stack outputs (read from the backend, no cloud contacted).
      const outputs = await this.siteOutputs(stack);
      const ec2 = this.aws.ec2(outputs.region);
      const { CreateSnapshotsCommand, DescribeSnapshotsCommand } = await ec2Commands();
      const filters = [
        { Name: "tag:fp-dr:incident", Values: [incident.id] },
        { Name: "tag:fp-dr:site", Values: [site] },
      ];
      // 2. Snapshots of an earlier attempt for this incident and site (not failed ones).
      const earlier = ((await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ["self"], Filters: filters }))).Snapshots ?? []).filter((x) => x.State !== "error");
      let snapshots: SnapshotView[];
      let taken: "now" | "earlier";
      if (earlier.length > 0) {
        snapshots = earlier.map(snapshotView);
        taken = "earlier";
      } else {
        // 3. Every volume of the instance, one point in time.
        const created = await ec2.send(
          new CreateSnapshotsCommand({
            InstanceSpecification: { InstanceId: outputs.instanceId, ExcludeBootVolume: false },
            Description: `fp-dr incident ${incident.id}: ${site} (${outputs.instanceId})`,
            CopyTagsFromSource: "volume",
            TagSpecifications: [
              {
                ResourceType: "snapshot",
                Tags: [
                  { Key: "fp-dr:incident", Value: incident.id },
                  { Key: "fp-dr:site", Value: site },
                  { Key: "fp-dr:taken-by", Value: this.actor },
                ],
              },
            ],
          }),
        );
        snapshots = (created.Snapshots ?? []).map(snapshotView);
        taken = "now";
        if (snapshots.length === 0) throw new DrError("INTERNAL", `EC2 CreateSnapshots returned no snapshot for ${outputs.instanceId}`, { hint: "look at the instance's volumes in the EC2 console" });
      }
      // 4. Until every snapshot is completed, within the bound.
      snapshots = await this.waitForSnapshots(ec2, snapshots);
      const failed = snapshots.filter((x) => x.state === "error");
      if (failed.length) {
        throw new DrError("INTERNAL", `EBS snapshot(s) ${failed.map((x) => `${x.snapshotId} (${x.volumeId})`).join(", ")} failed: ${failed.map((x) => x.stateMessage ?? "no message").join("; ")}`, {
          hint: `run dr incident preserve again (the failed ones are not reused), or snapshot the volume by hand and record it with --manual-evidence`,
        });
      }
      const pending = snapshots.filter((x) => x.state !== "completed");
      const finishedAt = this.now().toISOString();
      // 5. The record, as evidence with its SHA-256.
      const rel = `evidence/${site}/ebs-snapshots.json`;
      const full = join(incident.dir, rel);
      if (existsSync(full)) renameSync(full, `${full}.superseded-${Date.now()}`);
      const ids = snapshots.map((x) => x.snapshotId);
      const method = `EBS snapshots of every volume of instance ${outputs.instanceId} (root and data) in one EC2 CreateSnapshots request (multi-volume, crash-consistent), ${taken === "now" ? "taken now" : "taken by an earlier attempt for this incident (found by its tags)"}; tagged fp-dr:incident=${incident.id}, fp-dr:site=${site}, fp-dr:taken-by=${this.actor}, plus the volumes' own tags; the instance kept running`;
      const consistency = `crash-consistent: every volume at the same moment, as after a power loss (I/O was not paused); a volume created from them and started as PostgreSQL replays its WAL from the last checkpoint; ${pending.length ? `${pending.length} of ${snapshots.length} snapshot(s) still ${pending.map((x) => `${x.snapshotId} ${x.state} ${x.progress ?? ""}`.trim()).join(", ")} when the wait ended: they are usable once completed (aws ec2 wait snapshot-completed --region ${outputs.region} --snapshot-ids ${pending.map((x) => x.snapshotId).join(" ")})` : "every snapshot completed"}; the sizes are the volumes' provisioned sizes`;
      const record = { site, incident: incident.id, region: outputs.region, instanceId: outputs.instanceId, stack, takenBy: this.actor, startedAt, finishedAt, method, consistency, snapshots };
      const evidence = writeEvidence(incident.dir, rel, JSON.stringify(record, null, 2) + "\n");
      return {
        site,
        location: `EBS snapshots in ${outputs.region}: ${ids.join(", ")}${pending.length ? ` (pending: ${pending.map((x) => x.snapshotId).join(", ")})` : ""}`,
        method,
        consistency,
        startedAt,
        finishedAt,
        files: snapshots.length,
        bytes: snapshots.reduce((n, x) => n + (x.volumeSizeGiB ?? 0) * 1024 ** 3, 0),
        manifests: [evidence],
        vanished: [],
      };
    } catch (e) {
      throw withContext(`preserving ${site} (stack ${stack})`, e);
    }
  }

  /** DescribeSnapshots of the ids until none is pending, or the bound passes. */
  private async waitForSnapshots(ec2: Ec2Api, snapshots: SnapshotView[]): Promise<SnapshotView[]> {
    const start = this.now().getTime();
    let current = snapshots;
    for (;;) {
      if (current.every((x) => x.state === "completed" || x.state === "error")) return current;
      if (this.now().getTime() - start >= this.snapshotTimeoutMs) return current;
      await this.sleep(this.o.snapshotPollMs ?? 15_000);
      const { DescribeSnapshotsCommand } = await ec2Commands();
      const described = (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: current.map((x) => x.snapshotId) }))).Snapshots ?? [];
      current = current.map((x) => {
        const d = described.find((y) => y.SnapshotId === x.snapshotId);
        return d ? snapshotView(d) : x;
      });
    }
  }

  /**
   * New passwords for the site's login roles, through the engine's SQL path (the endpoint and
   * admin credentials of the site's stack): the managed roles (access.postgres.username and
   * databaseObjects.roles app / backup / verifier) get new passwords as SCRAM verifiers, every
   * other login role loses its password (automation/incident/rotate.ts, as on the lab). The new
   * passwords are written into the stack's secret config (fp-dr:adminPassword, appPassword,
   * backupPassword, verifierPassword) BEFORE the transaction commits, so the next `up` keeps them
   * and they are never only in this process; if the commit then fails, the old values are put
   * back. Proven like the lab: old passwords refused, new ones accepted, over the same path.
   */
  async rotateDatabaseCredentials(site: string): Promise<CredentialRotation> {
    const stack = this.stackOf(site);
    try {
      const config = await this.selectedConfig(stack);
      const conn = connectionConfig(config);
      if (!conn.adminPassword) {
        throw new DrError("CONFIG_INVALID", `stack ${stack} has no fp-dr:adminPassword: the automation cannot log in to ${site} to rotate its roles`, { hint: `pulumi config set --secret fp-dr:adminPassword <the restored cluster's admin password> --stack ${stack}` });
      }
      const roles = (configValue(config, "fp-dr:databaseObjects") as { roles?: Record<string, string> } | undefined)?.roles ?? {};
      const managed = [
        { key: "adminPassword", role: conn.adminUser, old: conn.adminPassword },
        { key: "appPassword", role: conn.appUser, old: conn.appPassword },
        { key: "backupPassword", role: roles.backup ?? "fp_backup", old: storedSecret(config, "backupPassword") },
        { key: "verifierPassword", role: roles.verifier ?? "fp_verifier", old: storedSecret(config, "verifierPassword") },
      ].map((m) => ({ ...m, next: newPassword() }));
      for (const m of managed) {
        registerSecret(m.old);
        registerSecret(m.next);
      }
      const ep = await this.endpointFrom(site, await this.siteOutputs(stack), conn);

      // 1. In as the admin role, with the stack's (old) password.
      let admin: Client;
      try {
        admin = await connect({ ...ep.admin, connectionTimeoutMillis: 10_000 }, "fp-dr incident rotate");
      } catch (e) {
        throw new DrError("SITE_UNREACHABLE", `cannot log in to ${site} as ${conn.adminUser} with the stack's fp-dr:adminPassword: ${(e as Error).message}`, {
          hint: `if an earlier rotation was interrupted after writing the stack's config, set the role's password from the host (SSM session, sudo -u postgres psql, \\password ${conn.adminUser}) to the stack's fp-dr:adminPassword and run again`,
          cause: e,
        });
      }
      // 2. Every login role in one transaction; the stack holds the new values before it commits.
      let written: ConfigEntries = {};
      let rotation;
      try {
        rotation = await rotateLoginRoles(admin, Object.fromEntries(managed.map((m) => [m.role, m.next])), {
          beforeCommit: async (r) => {
            written = Object.fromEntries(managed.filter((m) => r.rotated.includes(m.role)).map((m) => [`fp-dr:${m.key}`, { value: m.next, secret: true }]));
            if (Object.keys(written).length) await this.ops.setConfig(stack, written, { path: false });
          },
        });
      } catch (e) {
        // Rolled back: the database keeps the old passwords, so the stack must too.
        const back: ConfigEntries = Object.fromEntries(managed.filter((m) => written[`fp-dr:${m.key}`] && m.old).map((m) => [`fp-dr:${m.key}`, { value: m.old!, secret: true }]));
        if (Object.keys(back).length) await this.ops.setConfig(stack, back, { path: false }).catch(() => undefined);
        throw e;
      } finally {
        await admin.end().catch(() => undefined);
      }

      // 3. Proof over the engine's path: old refused, new accepted.
      const checks: string[] = [];
      const unproven: string[] = [];
      const problems: string[] = [];
      for (const m of managed) {
        if (!rotation.rotated.includes(m.role)) continue;
        const base = m.role === conn.adminUser ? ep.admin : { ...ep.app };
        const before = m.old === undefined ? "unknown" : await tryLogin({ ...base, user: m.role, password: m.old });
        const after = await tryLogin({ ...base, user: m.role, password: m.next });
        if (before === "accepted" || after === "refused") problems.push(`${m.role}: old password ${before}, new ${after}`);
        else if (before === "refused" && after === "accepted") checks.push(m.role);
        else unproven.push(`${m.role} (old password ${before === "unknown" ? "not in the stack" : before}, new ${after})`);
      }
      if (problems.length) {
        throw new DrError("INTERNAL", `credential rotation on ${site} did not take effect: ${problems.join("; ")}`, { hint: `the new passwords are in stack ${stack}'s secret config; check the site's pg_hba.conf and roles` });
      }
      const missing = managed.filter((m) => !rotation.rotated.includes(m.role)).map((m) => m.role);
      return {
        scope: site,
        at: this.now().toISOString(),
        rotated: rotation.rotated.map((r) => `role ${r}`),
        locked: rotation.locked,
        proof: `old passwords refused and new ones accepted over the engine's path for ${checks.join(", ") || "no role"}${unproven.length ? `; not proven: ${unproven.join(", ")}` : ""}; new passwords stored as secrets on stack ${stack} (${Object.keys(written).join(", ")})`,
        notRotated: [
          ...(missing.length ? [{ what: `roles ${missing.join(", ")}`, why: "they do not exist on the site (nothing to rotate)" }] : []),
          {
            what: "copies of the passwords outside this stack",
            why: `the application's secret store (role ${conn.appUser}) and any other stack configured with the same roles (the compromised site's stack keeps the old values; it is isolated) were not changed: update them from stack ${stack}'s config (pulumi config get --stack ${stack} fp-dr:appPassword)`,
          },
        ],
        withheldFrom: [],
      };
    } catch (e) {
      throw withContext(`rotating the database credentials of ${site} (stack ${stack})`, e);
    }
  }

  /**
   * The hosts reach the S3 repositories with their instance role's temporary credentials:
   * there is no long-lived key to replace, but sessions an attacker may have taken from the
   * compromised host's metadata service. For every site in `withhold` (the compromised ones),
   * an inline policy fp-dr-revoke-<time> on its host role (infra/naming.ts hostRoleName)
   * denies everything to credentials issued before now (AWS's "revoke older sessions"), then
   * is read back. Sessions issued later are not affected; the other sites' roles are untouched.
   */
  async rotateRepositoryAccess(withhold: string[]): Promise<CredentialRotation> {
    const at = this.now();
    const policyName = `fp-dr-revoke-${compactTime(at)}`;
    const document = JSON.stringify(revokeOlderSessionsPolicy(at));
    const rotated: string[] = [];
    const sites = [...new Set(withhold)];
    for (const site of sites) {
      const stack = this.stackOf(site);
      try {
        const outputs = await this.siteOutputs(stack);
        const role = hostRoleName(outputs.environment, outputs.site);
        const iam = this.aws.iam(outputs.region);
        const { GetRolePolicyCommand, PutRolePolicyCommand } = await iamCommands();
        await iam.send(new PutRolePolicyCommand({ RoleName: role, PolicyName: policyName, PolicyDocument: document }));
        const back = await iam.send(new GetRolePolicyCommand({ RoleName: role, PolicyName: policyName }));
        if (!back.PolicyDocument || JSON.stringify(JSON.parse(decodeURIComponent(back.PolicyDocument))) !== document) {
          throw new DrError("INTERNAL", `IAM answered a different document for ${role}/${policyName}: ${back.PolicyDocument ?? "(none)"}`, { hint: "look at the role's inline policies in the IAM console" });
        }
        rotated.push(`IAM role ${role} (${site}): sessions issued before ${at.toISOString()} revoked by inline policy ${policyName}`);
      } catch (e) {
        const done = rotated.length ? ` (already revoked: ${rotated.join("; ")})` : "";
        throw withContext(`revoking the sessions of ${site}'s host role${done}`, e);
      }
    }
    return {
      scope: "repository",
      at: at.toISOString(),
      rotated,
      locked: [],
      proof: sites.length
        ? `IAM accepted each policy and returned it unchanged on GetRolePolicy (read back); not proven with an old session's credentials (none are held here); IAM changes take effect within seconds (eventually consistent)`
        : "no site to revoke (withhold was empty)",
      notRotated: [
        {
          what: "sessions of the compromised host's role issued after the revocation",
          why: "the instance profile stays attached (the host is evidence and keeps running), so its metadata service can still issue new credentials; the isolation group (no ingress, no egress) keeps them from being used or carried off; detach the instance profile or attach an unconditional deny to end that too",
        },
        {
          what: "repository cipher passphrases (repo1, repo2)",
          why: "pgBackRest cannot change them for a stanza that exists, and the compromised host held them: treat every existing backup as readable by the attacker. Integrity does not rest on them (object lock; pgBackRest verify before each restore). Follow-up (not automated): a new repository path, stanza and passphrase for the new site, a full backup into it",
        },
      ],
      withheldFrom: sites,
    };
  }
}

/** What preserve records of one snapshot. */
interface SnapshotView {
  snapshotId: string;
  volumeId?: string;
  volumeSizeGiB?: number;
  state?: string;
  stateMessage?: string;
  progress?: string;
  startTime?: string;
}

function snapshotView(x: { SnapshotId?: string; VolumeId?: string; VolumeSize?: number; State?: string; StateMessage?: string; Progress?: string; StartTime?: Date }): SnapshotView {
  return {
    snapshotId: x.SnapshotId ?? "(no id)",
    volumeId: x.VolumeId,
    volumeSizeGiB: x.VolumeSize,
    state: x.State,
    ...(x.StateMessage ? { stateMessage: x.StateMessage } : {}),
    progress: x.Progress,
    startTime: x.StartTime ? new Date(x.StartTime).toISOString() : undefined,
  };
}
