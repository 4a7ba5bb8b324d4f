// The local DR lab: a primary and a secondary site on this machine, each a real PostgreSQL 15
// cluster on its own loopback address; an S3-compatible object store over TLS as the offsite
// repository; a DNS server that answers for the service name. This is the handle on a lab that
// exists; `dr lab up`, which builds or starts one, is ./lab-up/ in its phases.
import { existsSync, readdirSync, rmSync } from "node:fs";
import { Client, type ClientConfig } from "pg";
import { SHORT_CALL_BOUNDS } from "../../postgres/client";
import type { DrConfig } from "../../config/schema";
import { DrError, during } from "../../core/errors";
import { Pgbackrest } from "../../pgbackrest/client";
import { Cluster } from "../../postgres/cluster";
import { makeServiceDir, serviceUser, type ServiceUser } from "../../system/service-user";
import { resolveName, setRecord, stopDns, dnsStatus } from "./dns";
import { LabLayout } from "./layout";
import { labDir } from "../../core/state-dirs";
import { objectStoreInfo, probeObjectStore, stopObjectStore } from "./object-store";
import { loadRunning, readAcks, stopLoad } from "./load";
import { FENCE_MARKER, isolatedFor } from "./markers";
import { currentRole } from "./site-role";
import { splitBrainFindings } from "./split-brain";
import type { HealthFinding } from "../../postgres/health-types";
import { loadSecrets, type LabSecrets } from "./secrets";
import { labSite, writeSitePgbackrestConf, type LabSite, type SiteContext } from "./site";
import { restoreMarkState, type RestoreMarkState } from "../../restore/half-restored";
import { readLabState, writeLabState, type LabState } from "./state";
import { checkSiteName, siteEntry } from "./site-name";

export interface LabStep {
  /** Called when a named step starts; the returned function is called when it ends. */
  (label: string): (detail?: string) => void;
}

export const noStep: LabStep = () => () => undefined;

export interface LabUpOptions {
  scale?: number;
  /** Skip the first full backups (tests that make their own). */
  skipBackup?: boolean;
  step?: LabStep;
  onProgress?: (done: number, total: number, label: string) => void;
}

export interface SiteStatus {
  name: string;
  /** The role it plays now (site-role.ts): primary, isolated, fenced, … */
  role: string;
  /** What lab.json says it was built as. */
  builtAs: string;
  address: string;
  port: number;
  state: string;
  inRecovery?: boolean;
  serves: boolean;
  /** Lost the primary role in a failover: restarted, it comes back read-only. */
  fenced: boolean;
  /** A restore into the site under way, or one that ended without finishing (half-restored). */
  restore?: RestoreMarkState;
}

export interface LabStatus {
  dir: string;
  up: boolean;
  serviceName: string;
  answer?: string;
  activeSite?: string;
  sites: SiteStatus[];
  objectStore: { running: boolean; endpoint?: string };
  dns: { running: boolean; port?: number };
  load: { running: boolean; acknowledged: number };
  /** Critical findings across sites: a fenced site that runs, a second writable primary. */
  alerts: HealthFinding[];
}

export class Lab {
  private constructor(
    readonly config: DrConfig,
    readonly layout: LabLayout,
    readonly state: LabState,
    readonly secrets: LabSecrets,
    readonly user: ServiceUser,
  ) {}

  static dirFor(config: DrConfig): string {
    return labDir(config);
  }

  /** Opens an existing lab (LAB_NOT_UP if there is none). */
  static open(config: DrConfig): Lab {
    const layout = new LabLayout(Lab.dirFor(config));
    const state = readLabState(layout.stateFile);
    if (!state) throw new DrError("LAB_NOT_UP", `no lab at ${layout.root}`, { hint: "run `dr lab up` (or `npm start`) to build it" });
    return new Lab(config, layout, state, loadSecrets(layout.secretsFile), serviceUser(config.lab.serviceUser));
  }

  /**
   * Stops everything a lab directory may have running, even a half-built lab without state
   * (a failed `up`), and with purge removes the directory.
   */
  static async teardown(config: DrConfig, opts: { purge?: boolean } = {}): Promise<void> {
    const layout = new LabLayout(Lab.dirFor(config));
    if (existsSync(layout.stateFile) && existsSync(layout.secretsFile)) {
      await Lab.open(config).down(opts);
      return;
    }
    const user = serviceUser(config.lab.serviceUser);
    const sitesDir = `${layout.root}/sites`;
    for (const name of existsSync(sitesDir) ? readdirSync(sitesDir) : []) {
      const cluster = new Cluster({ dataDir: layout.dataDir(name), runDir: layout.runDir(name), host: "127.0.0.1", port: 0, user });
      await cluster.stop("immediate").catch(() => undefined);
    }
    await stopObjectStore(layout.objectStoreDir).catch(() => undefined);
    await stopDns(layout.dnsDir).catch(() => undefined);
    if (opts.purge) rmSync(layout.root, { recursive: true, force: true });
  }

  static exists(config: DrConfig): boolean {
    return existsSync(new LabLayout(Lab.dirFor(config)).stateFile);
  }

  get ctx(): SiteContext {
    return { layout: this.layout, state: this.state, secrets: this.secrets, config: this.config, user: this.user };
  }

  siteNames(): string[] {
    return Object.keys(this.state.sites);
  }

  site(name: string): LabSite {
    if (!siteEntry(this.state.sites, name)) throw this.unknownSite(name);
    return labSite(this.ctx, name);
  }

  private unknownSite(name: string): DrError {
    return new DrError("SITE_UNKNOWN", `no site named ${name} in the lab`, { hint: `sites: ${this.siteNames().join(", ")}` });
  }

  /** The site the service name currently answers with. */
  async activeSite(): Promise<string | undefined> {
    const answer = await this.resolveService();
    return Object.entries(this.state.sites).find(([, s]) => s.address === answer)?.[0];
  }

  async resolveService(): Promise<string> {
    return resolveName(this.state.serviceName, { port: this.state.dns.port });
  }

  /** Points the service name at a site (the lab's DNS swap). */
  async pointServiceAt(site: string): Promise<void> {
    const s = this.site(site);
    setRecord(this.layout.dnsDir, this.state.serviceName, s.address);
  }

  /** A node-postgres client to a site as the superuser (over loopback TCP, scram); `bounds` for short calls. */
  async connect(site: string, database = this.state.database, bounds: ClientConfig = {}): Promise<Client> {
    const s = this.site(site);
    const client = new Client({ ...s.cluster.connection(database), connectionTimeoutMillis: 5000, ...bounds });
    await during(`connecting to site ${site}`, () => client.connect());
    return client;
  }

  /** Connects the way the application does: resolve the service name, then connect as the app role. */
  async connectService(database = this.state.database, role: "app" | "superuser" = "app"): Promise<Client> {
    const address = await this.resolveService();
    const client = new Client({
      host: address,
      port: this.state.port,
      database,
      user: role === "app" ? "app" : this.user.name,
      password: role === "app" ? this.secrets.appPassword : this.secrets.superuserPassword,
      connectionTimeoutMillis: 5000,
    });
    await during(`connecting to ${this.state.serviceName} (${address})`, () => client.connect());
    return client;
  }

  /**
   * Adds a site (a scratch or drill cluster) on the next free loopback address of the lab's
   * address block, recorded in lab.json so that status and `down` know about it.
   */
  addSite(name: string, role: "scratch" | "drill" | "secondary"): LabSite {
    checkSiteName(name);
    if (siteEntry(this.state.sites, name)) throw new DrError("SITE_UNKNOWN", `a site named ${name} already exists`, { hint: "choose another name" });
    const used = new Set(Object.values(this.state.sites).map((s) => s.address));
    const base = this.state.sites.primary.address.split(".").slice(0, 3).join(".");
    let n = 10;
    while (used.has(`${base}.${n}`)) n++;
    if (n > 250) throw new DrError("INTERNAL", "the lab has no free loopback address left", { hint: "remove scratch sites with `dr lab remove-site`" });
    this.state.sites[name] = { role, address: `${base}.${n}` };
    writeLabState(this.layout.stateFile, this.state);
    makeServiceDir(this.layout.siteDir(name), this.user, 0o750);
    writeSitePgbackrestConf(this.ctx, name);
    return this.site(name);
  }

  /** Stops a scratch or drill site and removes its files. Never the primary or secondary. */
  async removeSite(name: string): Promise<void> {
    const entry = siteEntry(this.state.sites, name);
    if (!entry) throw this.unknownSite(name);
    if (entry.role === "primary" || entry.role === "secondary") {
      throw new DrError("SITE_UNKNOWN", `refusing to remove site ${name}: it is the ${entry.role}`, { hint: "only scratch and drill sites can be removed" });
    }
    await this.site(name).cluster.stop("immediate");
    rmSync(this.layout.siteDir(name), { recursive: true, force: true });
    delete this.state.sites[name];
    writeLabState(this.layout.stateFile, this.state);
  }

  /** Fails fast (STORE_UNREACHABLE) when a repository's storage is down; pgBackRest would retry for minutes. */
  async probeRepo(repo: 1 | 2): Promise<void> {
    // The key is read now, not from this.secrets: an incident's rotation replaces it mid-run.
    if (repo === 2) {
      const { s3AccessKey, s3SecretKey } = loadSecrets(this.layout.secretsFile);
      await probeObjectStore({ ...this.state.objectStore, accessKey: s3AccessKey, secretKey: s3SecretKey });
    } else if (!existsSync(this.layout.repo1Dir)) {
      throw new DrError("STORE_UNREACHABLE", `repo1 directory ${this.layout.repo1Dir} is missing`, { hint: "run `dr lab up` to recreate the lab" });
    }
  }

  /** The pgBackRest client of the site that is primary now. */
  pgbackrestOf(site: string): Pgbackrest {
    return this.site(site).pgbackrest;
  }

  async status(): Promise<LabStatus> {
    const dnsInfo = dnsStatus(this.layout.dnsDir);
    const store = objectStoreInfo(this.layout.objectStoreDir);
    let answer: string | undefined;
    try {
      answer = dnsInfo.running ? await this.resolveService() : undefined;
    } catch {
      answer = undefined;
    }
    const sites: SiteStatus[] = [];
    for (const name of this.siteNames()) {
      const s = this.site(name);
      const state = s.cluster.state();
      let inRecovery: boolean | undefined;
      if (state === "running") {
        try {
          const c = await this.connect(name, "postgres", SHORT_CALL_BOUNDS);
          try {
            inRecovery = (await c.query("select pg_is_in_recovery() r")).rows[0].r;
          } finally {
            await c.end().catch(() => undefined);
          }
        } catch {
          inRecovery = undefined;
        }
      }
      const fenced = existsSync(`${this.layout.dataDir(name)}/${FENCE_MARKER}`);
      const restore = restoreMarkState(this.layout.dataDir(name));
      sites.push({ name, role: s.role, builtAs: s.role, address: s.address, port: s.port, state: restore?.state ?? state, inRecovery, serves: answer === s.address, fenced, restore });
    }
    for (const x of sites) x.role = currentRole({ built: x.builtAs, isolated: isolatedFor(this.layout.dataDir(x.name)) !== undefined, fenced: x.fenced, serves: x.serves, state: x.state, inRecovery: x.inRecovery, anotherServes: sites.some((o) => o !== x && o.serves) });
    return {
      dir: this.layout.root,
      up: sites.some((s) => s.state === "running"),
      serviceName: this.state.serviceName,
      answer,
      activeSite: sites.find((s) => s.serves)?.name,
      sites,
      objectStore: { running: store?.running ?? false, endpoint: store?.endpoint },
      dns: { running: dnsInfo.running, port: this.state.dns.port },
      load: { running: loadRunning(this), acknowledged: readAcks(this).length },
      alerts: splitBrainFindings(sites),
    };
  }

  /** Stops every server; with purge, removes the whole lab directory (backups included). */
  async down(opts: { purge?: boolean; step?: LabStep } = {}): Promise<void> {
    const step = opts.step ?? noStep;
    await stopLoad(this);
    for (const name of this.siteNames()) {
      const done = step(`stop site ${name}`);
      await this.site(name).cluster.stop("fast");
      done();
    }
    let done = step("stop the object store and DNS");
    await stopObjectStore(this.layout.objectStoreDir);
    await stopDns(this.layout.dnsDir);
    done();
    if (opts.purge) {
      done = step(`remove ${this.layout.root}`);
      rmSync(this.layout.root, { recursive: true, force: true });
      done();
    }
  }
}
