// The local DR lab: a primary and a secondary site on this machine, each a real PostgreSQL 15
// cluster on its own loopback address; an S3-compatible object store over TLS as the offsite
// repository; a DNS server that answers for the service name. `up` is idempotent: it starts
// what is stopped and builds what is missing, then leaves a first full backup offsite.
import { existsSync, readdirSync, rmSync } from "node:fs";
import { Client } from "pg";
import type { DrConfig } from "../../config/schema";
import { parseDuration } from "../../config/common";
import { DrError, during } from "../../core/errors";
import { Pgbackrest } from "../../pgbackrest/client";
import { Cluster } from "../../postgres/cluster";
import { quoteIdent, quoteLiteral } from "../../postgres/client";
import { recordManifest } from "../../verify/manifest";
import { freePort } from "../../system/ports";
import { makeServiceDir, serviceUser, type ServiceUser } from "../../system/service-user";
import { checkDependencies } from "./dependencies";
import { resolveName, setRecord, startDns, stopDns, dnsStatus } from "./dns";
import { defaultLabDir, LabLayout } from "./layout";
import { objectStoreInfo, probeObjectStore, startObjectStore, stopObjectStore } from "./object-store";
import { createSampleDatabase } from "./sample-data/generate";
import { loadRunning, readAcks, stopLoad } from "./load";
import { FENCE_MARKER } from "./fence";
import { isolatedFor } from "../../incident/lab-isolate";
import { generateSecrets, loadSecrets, saveSecrets, type LabSecrets } from "./secrets";
import { labSite, siteServerSettings, writeSitePgbackrestConf, type LabSite, type SiteContext } from "./site";
import { readLabState, writeLabState, type LabState } from "./state";
import { ensureStandby } from "./standby";

export interface LabStep {
  /** Called when a named step starts; the returned function is called when it ends. */
  (label: string): (detail?: string) => void;
}

const noStep: LabStep = () => () => undefined;

export interface LabUpOptions {
  scale?: number;
  /** Skip the first full backups (tests that make their own). */
  skipBackup?: boolean;
  step?: LabStep;
  onProgress?: (done: number, total: number, label: string) => void;
}

export interface SiteStatus {
  name: string;
  role: string;
  address: string;
  port: number;
  state: string;
  inRecovery?: boolean;
  serves: boolean;
  /** Lost the primary role in a failover: restarted, it comes back read-only. */
  fenced: boolean;
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
    return config.lab.dir ?? defaultLabDir();
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
    if (!this.state.sites[name]) {
      throw new DrError("SITE_UNKNOWN", `no site named ${name} in the lab`, { hint: `sites: ${this.siteNames().join(", ")}` });
    }
    return labSite(this.ctx, name);
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

  /** A node-postgres client to a site as the superuser (over loopback TCP, scram). */
  async connect(site: string, database = this.state.database): Promise<Client> {
    const s = this.site(site);
    const client = new Client({ ...s.cluster.connection(database), connectionTimeoutMillis: 5000 });
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
    if (this.state.sites[name]) throw new DrError("SITE_UNKNOWN", `a site named ${name} already exists`, { hint: "choose another name" });
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
    const entry = this.state.sites[name];
    if (!entry) return;
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
    if (repo === 2) await probeObjectStore(this.state.objectStore);
    else if (!existsSync(this.layout.repo1Dir)) {
      throw new DrError("STORE_UNREACHABLE", `repo1 directory ${this.layout.repo1Dir} is missing`, { hint: "run `dr lab up` to recreate the lab" });
    }
  }

  /** The pgBackRest client of the site that is primary now. */
  pgbackrestOf(site: string): Pgbackrest {
    return this.site(site).pgbackrest;
  }

  static async up(config: DrConfig, opts: LabUpOptions = {}): Promise<Lab> {
    const step = opts.step ?? noStep;
    const layout = new LabLayout(Lab.dirFor(config));
    const user = serviceUser(config.lab.serviceUser);
    let done = step("check dependencies (PostgreSQL 15, pgBackRest, openssl)");
    await checkDependencies();
    done();

    // Directories: the root is traversable by the service user; secrets are ours alone.
    makeServiceDir(layout.root, user, 0o755);
    makeServiceDir(`${layout.root}/repos`, user, 0o750);
    makeServiceDir(layout.repo1Dir, user, 0o750);
    for (const d of [layout.pgbackrestDir, `${layout.pgbackrestDir}/log`, `${layout.pgbackrestDir}/lock`, layout.objectStoreDir, layout.dnsDir, `${layout.root}/repos`, `${layout.root}/sites`, `${layout.root}/scratch`]) {
      makeServiceDir(d, user, 0o750);
    }
    let secrets: LabSecrets;
    if (existsSync(layout.secretsFile)) secrets = loadSecrets(layout.secretsFile);
    else {
      secrets = generateSecrets();
      saveSecrets(layout.secretsFile, secrets);
    }

    let state = readLabState(layout.stateFile);
    done = step("start the offsite object store (S3 over TLS)");
    const store = await startObjectStore({
      dir: layout.objectStoreDir,
      bucket: config.repositories.offsite.bucket,
      accessKey: secrets.s3AccessKey,
      secretKey: secrets.s3SecretKey,
      caReader: user,
    });
    done(store.endpoint);

    const addresses = config.lab.addresses;
    if (!addresses.primary || !addresses.secondary) {
      throw new DrError("CONFIG_INVALID", "lab.addresses must name a primary and a secondary address", { hint: "see README.md" });
    }
    done = step("start the lab DNS server");
    // A new lab answers with the primary; a restarted one keeps whatever answer it had (a swap).
    const dns = await startDns({ dir: layout.dnsDir, records: state ? undefined : { [config.serviceName]: addresses.primary } });
    done(`${config.serviceName} → ${addresses.primary}`);

    const fresh = state === undefined;
    if (!state) {
      const port = config.lab.port || (await freePort(Object.values(addresses)));
      state = {
        version: 1,
        createdAt: new Date().toISOString(),
        stanza: config.stanza,
        database: config.database,
        serviceName: config.serviceName,
        port,
        scale: opts.scale ?? config.lab.scale,
        archiveTimeoutSeconds: parseDuration("10s")!,
        sites: { primary: { role: "primary", address: addresses.primary }, secondary: { role: "secondary", address: addresses.secondary } },
        dns: { port: dns.port },
        objectStore: { endpoint: store.endpoint, host: store.host, port: store.port, bucket: store.bucket, region: store.region, caFile: store.caFile, uriStyle: store.uriStyle },
      };
    } else {
      state = { ...state, dns: { port: dns.port }, objectStore: { ...state.objectStore, port: store.port, host: store.host, caFile: store.caFile } };
    }
    writeLabState(layout.stateFile, state);
    const lab = new Lab(config, layout, state, secrets, user);

    for (const name of Object.keys(state.sites)) {
      makeServiceDir(layout.siteDir(name), user, 0o750);
      // An isolated (compromised) site keeps the repository access it had: the revoked one.
      if (isolatedFor(layout.dataDir(name))) continue;
      writeSitePgbackrestConf(lab.ctx, name);
    }

    const primary = lab.site("primary");
    const isolated = isolatedFor(layout.dataDir("primary"));
    if (isolated) {
      step(`the primary site is isolated for incident ${isolated}: left as it is (evidence)`)();
      return lab;
    }
    if (primary.cluster.state() === "absent" || primary.cluster.state() === "empty") {
      done = step("initialise the primary cluster (data checksums on)");
      await primary.cluster.init(siteServerSettings(lab.ctx, primary.configPath));
      done();
    }
    done = step("start the primary cluster");
    await primary.cluster.start();
    done(`${primary.address}:${primary.port}`);
    // The secondary is a provisioned site waiting for a restore: its directory exists, empty.
    makeServiceDir(layout.dataDir("secondary"), user, 0o700);
    makeServiceDir(layout.runDir("secondary"), user, 0o755);

    const admin = await lab.connect("primary", "postgres");
    try {
      // A fenced primary (after a failover) comes back read-only; leave the lab as it is.
      if ((await admin.query("select pg_is_in_recovery() as r")).rows[0].r) {
        step("the primary site is fenced (read-only since a failover): nothing to set up")();
        return lab;
      }
      const exists = await admin.query("select 1 from pg_database where datname = $1", [state.database]);
      if (exists.rowCount === 0) {
        done = step("create roles and the application database");
        await createRolesAndDatabase(admin, state.database, secrets, (db) => lab.connect("primary", db));
        done();
      }
    } finally {
      await admin.end();
    }

    // fp-dr's own schema: the heartbeat the write load commits (RPO is measured with it).
    const own = await lab.connect("primary");
    try {
      await own.query(`create schema if not exists fp_dr;
        create table if not exists fp_dr.heartbeat (id bigint generated always as identity primary key, at timestamptz not null, writer text);
        grant usage on schema fp_dr to app, verifier;
        grant select, insert on fp_dr.heartbeat to app;
        grant select on fp_dr.heartbeat to verifier`);
    } finally {
      await own.end();
    }

    if (fresh || (await isEmptyDatabase(lab))) {
      done = step(`generate the sample financial-planning database (scale ${state.scale})`);
      const db = await lab.connect("primary");
      try {
        await createSampleDatabase(db, { scale: state.scale, onProgress: opts.onProgress });
        await db.query("grant usage on schema app to app, verifier; grant select, insert, update, delete on all tables in schema app to app; grant usage, select on all sequences in schema app to app; grant select on all tables in schema app to verifier");
      } finally {
        await db.end();
      }
      done();
    }

    done = step("create the pgBackRest stanza in both repositories and check archiving");
    await primary.pgbackrest.stanzaCreate();
    await primary.pgbackrest.check();
    done();

    if (!opts.skipBackup) {
      const sets = await primary.pgbackrest.sets({ repo: 2 });
      if (!sets.some((s) => s.type === "full")) {
        const c = await lab.connect("primary");
        try {
          await recordManifest(c, "before the first full backup");
        } finally {
          await c.end();
        }
        for (const repo of [1, 2] as const) {
          done = step(`first full backup to repo${repo} (${repo === 1 ? "site" : "offsite"})`);
          await primary.pgbackrest.backup({ type: "full", repo, annotations: { by: "dr lab up", why: "first full backup" } });
          done();
        }
      }
    }
    if (config.standby.enabled) await ensureStandby(lab, step);
    return lab;
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
          const c = await this.connect(name, "postgres");
          inRecovery = (await c.query("select pg_is_in_recovery() r")).rows[0].r;
          await c.end();
        } catch {
          inRecovery = undefined;
        }
      }
      const fenced = existsSync(`${this.layout.dataDir(name)}/${FENCE_MARKER}`);
      sites.push({ name, role: s.role, address: s.address, port: s.port, state, inRecovery, serves: answer === s.address, fenced });
    }
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

async function isEmptyDatabase(lab: Lab): Promise<boolean> {
  const c = await lab.connect("primary");
  try {
    const r = await c.query("select count(*)::int n from information_schema.tables where table_schema = 'app'");
    return r.rows[0].n === 0;
  } finally {
    await c.end();
  }
}

/** Roles of the runbook's world: the application, a read-only verifier for drills. */
async function createRolesAndDatabase(admin: Client, database: string, secrets: LabSecrets, connectTo: (db: string) => Promise<Client>): Promise<void> {
  await admin.query(`create role app login password ${quoteLiteral(secrets.appPassword)}`);
  await admin.query(`create role verifier login password ${quoteLiteral(secrets.verifierPassword)} in role pg_read_all_data, pg_monitor`);
  await admin.query(`create database ${quoteIdent(database)}`);
  const db = await connectTo(database);
  try {
    await db.query("create extension if not exists amcheck; create extension if not exists pg_stat_statements");
    await db.query("grant execute on function bt_index_check(regclass, boolean) to verifier");
  } finally {
    await db.end();
  }
}
