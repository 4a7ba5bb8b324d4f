// The pulumi engine's own pgBackRest access to the S3 repositories, from the machine running
// `dr`: repo1 is the primary's bucket, repo2 the offsite one, numbered as the primary stack's
// outputs (and the dr config) number them. It is what catalog, verifyBackup and planRestore
// read, so a failover's pre-flight proves the backups and WAL exist before anything changes.
//   1. locations  the stacks' outputs, read from the state backend (never the primary region):
//                 buckets, regions, paths, stanza; the secondary's own bucket stands in for
//                 repo2 if the primary stack names none
//   2. secrets    credentials (instance profile, or AWS_* from the environment) and the cipher
//                 passphrase (an environment variable or a file named in config; never argv)
//   3. render     one pgbackrest.conf spec → text with the shared renderer (pure)
//   4. write      0600 in a private 0700 directory, owned by the user pgBackRest runs as
// It only ever reads (info, repo-ls, verify): no archiving, no expiry, no backup from here.
import { accessSync, chmodSync, chownSync, constants, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, isAbsolute, join } from "node:path";
import { parseSiteOutputs, type SiteOutputs } from "../../../infra/outputs";
import type { PgbackrestTuning } from "../../config/common";
import type { DrConfig, PulumiRepositorySettings } from "../../config/schema";
import { DrError, withContext } from "../../core/errors";
import { registerSecret } from "../../core/redact";
import { Pgbackrest } from "../../pgbackrest/client";
import { renderPgbackrestConf, type PgbackrestConfigSpec, type RepoSpec } from "../../pgbackrest/config-file";
import { makeServiceDir, serviceUser, type ServiceUser } from "../../system/service-user";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { cipherPassSecretName } from "../../../infra/naming";
import { readEscrowedPassphrase } from "./passphrase-escrow";
import { stackOfRole } from "./stack-config";
import type { StackOps } from "./stack-ops";

/** One repository as the stacks' outputs describe it. */
export interface RepositoryLocation {
  bucket: string;
  region: string;
  /** pgBackRest repo path (key prefix inside the bucket), e.g. /pgbackrest. */
  path: string;
  /** Encrypted with the stacks' passphrase (aes-256-cbc). */
  cipher: boolean;
}

export interface RepositoryLocations {
  stanza: string;
  /** The primary's own bucket; absent when the primary stack's outputs cannot be read. */
  repo1?: RepositoryLocation;
  /** The offsite bucket in the other region. */
  repo2?: RepositoryLocation;
}

/** How pgBackRest authenticates to S3. */
export type RepositoryCredentials =
  | { kind: "instance-profile" }
  | { kind: "environment"; key: string; keySecret: string; token?: string };

type Connection = PulumiRepositorySettings["repo1"];

export interface RepositoriesConfInput {
  locations: RepositoryLocations;
  /** Connection overrides per repository (endpoint, host, port, CA, URI style). */
  connections: { repo1: Connection; repo2: Connection };
  credentials: RepositoryCredentials;
  /** Needed when a repository is encrypted. */
  cipherPass?: string;
  /** Private directory: the file's own logs, locks and the pg1-path placeholder live under it. */
  dir: string;
  tuning: PgbackrestTuning;
  /** pgBackRest io-timeout in seconds (pulumi.repositories.ioTimeout). Default: pgBackRest's. */
  ioTimeout?: number;
}

const PASS_ENV_DEFAULT = "FP_DR_REPO_CIPHER_PASS";

// ---- 1. locations ----------------------------------------------------------------------

function location(r: SiteOutputs["repositories"]["repo1"] | undefined): RepositoryLocation | undefined {
  return r ? { bucket: r.bucket, region: r.region, path: r.path, cipher: r.cipher } : undefined;
}

/**
 * repo1 and repo2 from the primary stack's outputs; the secondary stack's own bucket (its repo1,
 * the primary's offsite) stands in for repo2 when the primary's outputs name none or cannot be
 * read. Throws REPO_UNKNOWN when neither names a repository.
 */
export function repositoryLocations(primary: SiteOutputs | undefined, secondary?: SiteOutputs): RepositoryLocations {
  const stanza = primary?.stanza ?? secondary?.stanza;
  const repo1 = location(primary?.repositories.repo1);
  const repo2 = location(primary?.repositories.repo2) ?? location(secondary?.repositories.repo1);
  if (!stanza || (!repo1 && !repo2)) {
    throw new DrError("REPO_UNKNOWN", "the stacks' outputs name no backup repository", {
      hint: "run `pulumi up` on the primary and secondary stacks with this version of fp-dr so that their outputs are current",
    });
  }
  return { stanza, ...(repo1 ? { repo1 } : {}), ...(repo2 ? { repo2 } : {}) };
}

// ---- 2. secrets --------------------------------------------------------------------------

/**
 * The credentials pgBackRest signs with. Keys from the environment are registered for
 * redaction here, before anything can print them.
 */
export function repositoryCredentials(settings: Pick<PulumiRepositorySettings, "credentials">, env: NodeJS.ProcessEnv): RepositoryCredentials {
  const key = env.AWS_ACCESS_KEY_ID || undefined;
  const keySecret = env.AWS_SECRET_ACCESS_KEY || undefined;
  const token = env.AWS_SESSION_TOKEN || undefined;
  for (const s of [key, keySecret, token]) registerSecret(s);
  const kind = settings.credentials ?? (key ? "environment" : "instance-profile");
  if (kind === "instance-profile") {
    if (!settings.credentials && env.AWS_PROFILE) {
      throw new DrError("CONFIG_INVALID", `AWS_PROFILE is set (${env.AWS_PROFILE}) but pgBackRest cannot read AWS profiles, and no AWS_ACCESS_KEY_ID is set`, {
        hint: 'export the profile\'s keys: eval "$(aws configure export-credentials --profile <name> --format env)"; or set pulumi.repositories.credentials: instance-profile on an EC2 machine with a role',
      });
    }
    return { kind };
  }
  if (!key || !keySecret) {
    throw new DrError("CONFIG_INVALID", `pulumi.repositories.credentials is environment but ${!key ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY"} is not set`, {
      hint: 'export AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary keys), e.g. eval "$(aws configure export-credentials --format env)"',
    });
  }
  return { kind, key, keySecret, ...(token ? { token } : {}) };
}

/**
 * The repositories' cipher passphrase: the variable pulumi.repositories.cipherPassEnv, else the
 * first line of pulumi.repositories.cipherPassFile (which others may not read). Undefined when
 * neither is given; registered for redaction as soon as it is read.
 */
export function repositoryCipherPass(settings: Pick<PulumiRepositorySettings, "cipherPassEnv" | "cipherPassFile">, env: NodeJS.ProcessEnv): string | undefined {
  const fromEnv = env[settings.cipherPassEnv];
  if (fromEnv) {
    registerSecret(fromEnv);
    return fromEnv;
  }
  const file = settings.cipherPassFile;
  if (!file) return undefined;
  let mode: number;
  let text: string;
  try {
    mode = statSync(file).mode;
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new DrError("CONFIG_INVALID", `cannot read the repository passphrase file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      hint: "fix pulumi.repositories.cipherPassFile, or set the passphrase in the environment variable pulumi.repositories.cipherPassEnv names",
    });
  }
  if (mode & 0o007) {
    throw new DrError("CONFIG_INVALID", `the repository passphrase file ${file} is readable or writable by every user (mode ${(mode & 0o777).toString(8)})`, {
      hint: `chmod 600 ${file}`,
    });
  }
  const pass = text.split(/\r?\n/)[0];
  registerSecret(pass);
  if (!pass) throw new DrError("CONFIG_INVALID", `the repository passphrase file ${file} is empty`, { hint: "write the stacks' fp-dr:repoCipherPass on its first line" });
  return pass;
}

// ---- 3. render (pure) ---------------------------------------------------------------------

/** The AWS S3 endpoint of a region (China's regions have their own domain). */
export function s3Endpoint(region: string): string {
  return `s3.${region}.amazonaws.com${region.startsWith("cn-") ? ".cn" : ""}`;
}

function repoSpec(index: 1 | 2, loc: RepositoryLocation, c: Connection, input: RepositoriesConfInput): RepoSpec {
  const creds = input.credentials;
  return {
    index,
    type: "s3",
    path: loc.path,
    s3: {
      bucket: loc.bucket,
      region: loc.region,
      endpoint: c.endpoint ?? s3Endpoint(loc.region),
      host: c.host,
      port: c.port,
      uriStyle: c.uriStyle,
      caFile: c.caFile,
      verifyTls: c.verifyTls,
      ...(creds.kind === "environment" ? { keyType: "shared" as const, key: creds.key, keySecret: creds.keySecret, token: creds.token } : { keyType: "auto" as const }),
    },
    cipherPass: loc.cipher ? input.cipherPass : undefined,
    // Never applied from here (expire-auto off, no backups), but pgBackRest wants a value.
    retentionFull: 1,
  };
}

/** The pgbackrest.conf spec for this machine; throws CONFIG_INVALID for a missing passphrase. */
export function repositoriesConfSpec(input: RepositoriesConfInput): PgbackrestConfigSpec {
  const { locations: l, dir } = input;
  const encrypted = (["repo1", "repo2"] as const).filter((r) => l[r]?.cipher);
  if (encrypted.length > 0 && !input.cipherPass) {
    throw new DrError("CONFIG_INVALID", `${encrypted.join(" and ")} ${encrypted.length > 1 ? "are" : "is"} encrypted and no repository passphrase is given`, {
      hint: `export ${PASS_ENV_DEFAULT} (or the variable pulumi.repositories.cipherPassEnv names) with the stacks' fp-dr:repoCipherPass, or set pulumi.repositories.cipherPassFile`,
    });
  }
  const creds = input.credentials;
  const values = { "the repository passphrase": input.cipherPass, ...(creds.kind === "environment" ? { AWS_ACCESS_KEY_ID: creds.key, AWS_SECRET_ACCESS_KEY: creds.keySecret, AWS_SESSION_TOKEN: creds.token } : {}) };
  for (const [name, v] of Object.entries(values)) {
    // A newline would smuggle another option into the file.
    if (v !== undefined && /[\r\n]/.test(v)) throw new DrError("CONFIG_INVALID", `${name} must be a single line`, { hint: "remove the line break from the value" });
  }
  if (!isAbsolute(dir)) throw new DrError("CONFIG_INVALID", `pulumi.repositories.dir must be an absolute path, not ${dir}`, { hint: "give a full path" });
  return {
    header: "# fp-dr: the pulumi engine's read access to the S3 repositories (engines/pulumi/repositories.ts). Contains secrets.",
    stanza: l.stanza,
    // pgBackRest wants a pg1-path for a stanza; info, repo-ls and verify never touch it.
    pgPath: join(dir, "pg1-placeholder"),
    pgPort: 5432,
    pgSocketPath: dir,
    repos: [...(l.repo1 ? [repoSpec(1, l.repo1, input.connections.repo1, input)] : []), ...(l.repo2 ? [repoSpec(2, l.repo2, input.connections.repo2, input)] : [])],
    logPath: join(dir, "log"),
    lockPath: join(dir, "lock"),
    spoolPath: join(dir, "spool"),
    tuning: input.tuning,
    ioTimeout: input.ioTimeout,
    // This machine writes nothing into the repositories and deletes nothing from them.
    archiveAsync: false,
    expireAuto: false,
  };
}

export function renderRepositoriesConf(input: RepositoriesConfInput): string {
  return renderPgbackrestConf(repositoriesConfSpec(input));
}

// ---- 4. write ----------------------------------------------------------------------------

const temporaryDirs = new Set<string>();
let cleanupHooked = false;

/** Temporary directories hold secrets: removed when the process exits. */
function removeAtExit(dir: string): void {
  temporaryDirs.add(dir);
  if (cleanupHooked) return;
  cleanupHooked = true;
  process.once("exit", () => {
    for (const d of temporaryDirs) rmSync(d, { recursive: true, force: true });
  });
}

/** A private directory (0700, the service user's): the configured one, or a new temporary one. */
export function privateDir(user: ServiceUser, dir?: string): { dir: string; temporary: boolean } {
  if (!dir) {
    const made = mkdtempSync(join(tmpdir(), "fp-dr-repositories-"));
    if (user.switched) chownSync(made, user.uid, user.gid);
    removeAtExit(made);
    return { dir: made, temporary: true };
  }
  makeServiceDir(dir, user, 0o700);
  chmodSync(dir, 0o700);
  return { dir, temporary: false };
}

/** Writes pgbackrest.conf (0600, the service user's) and the directories it names; returns its path. */
export function writeRepositoriesConf(dir: string, text: string, user: ServiceUser): string {
  for (const d of ["log", "lock", "spool"]) makeServiceDir(join(dir, d), user, 0o700);
  const path = join(dir, "pgbackrest.conf");
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  if (user.switched) chownSync(tmp, user.uid, user.gid);
  renameSync(tmp, path);
  return path;
}

// ---- the client --------------------------------------------------------------------------

/** Whether an executable named `bin` is on PATH (no process is started). */
export function onPath(bin: string, env: NodeJS.ProcessEnv = process.env): boolean {
  for (const d of (env.PATH ?? "").split(delimiter)) {
    if (!d) continue;
    try {
      accessSync(join(d, bin), constants.X_OK);
      return true;
    } catch {
      // not in this one
    }
  }
  return false;
}

export interface PulumiRepositoriesOptions {
  /** The engine's stack operations; only `outputs` (the backend) is used. */
  ops: Pick<StackOps, "outputs">;
  config: Pick<DrConfig, "sites" | "pulumi" | "pgbackrest" | "lab" | "environment">;
  /** Secrets Manager client per region (the passphrase's escrow). Default: the SDK's. */
  secretsClientFor?: (region: string) => SecretsManagerClient;
  /** Where credentials and the passphrase are read from. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** The user pgBackRest runs as. Default: ourselves, or lab.serviceUser when we are root. */
  user?: ServiceUser;
  /** pgBackRest binary. Default pgbackrest on PATH. */
  bin?: string;
}

/**
 * Builds the Pgbackrest client on first use and keeps it: the outputs are read and the file
 * is written once per process. A failure is not kept, so a later call tries again.
 */
export class PulumiRepositories {
  private pending?: Promise<Pgbackrest>;
  private written?: { dir: string; temporary: boolean; configPath: string };

  constructor(private readonly o: PulumiRepositoriesOptions) {}

  /** For PulumiEngineOptions.repositories. */
  readonly client = (): Promise<Pgbackrest> => {
    this.pending ??= this.build().catch((e: unknown) => {
      this.pending = undefined;
      throw withContext("preparing pgBackRest access to the S3 repositories", e);
    });
    return this.pending;
  };

  /** The rendered file, once client() has succeeded. */
  get configPath(): string | undefined {
    return this.written?.configPath;
  }

  /** Removes the rendered file (the whole directory if it was a temporary one). */
  dispose(): void {
    if (!this.written) return;
    if (this.written.temporary) {
      rmSync(this.written.dir, { recursive: true, force: true });
      temporaryDirs.delete(this.written.dir);
    } else {
      rmSync(this.written.configPath, { force: true });
    }
    this.written = undefined;
    this.pending = undefined;
  }

  private async outputsOf(stack: string): Promise<SiteOutputs> {
    return parseSiteOutputs(await this.o.ops.outputs(stack));
  }

  /** 1. The locations: the primary stack's outputs, the secondary's when they fall short. */
  async locations(): Promise<RepositoryLocations> {
    const primaryStack = stackOfRole(this.o.config, "primary");
    let primary: SiteOutputs | undefined;
    let primaryError: unknown;
    try {
      primary = await this.outputsOf(primaryStack);
    } catch (e) {
      primaryError = e;
    }
    if (primary?.repositories.repo2) return repositoryLocations(primary);
    const secondaryStack = stackOfRole(this.o.config, "secondary");
    const secondary = await this.outputsOf(secondaryStack).catch((e: unknown) => {
      if (primary) return undefined;
      throw withContext(`reading the outputs of stacks ${primaryStack} (${(primaryError as Error).message.split("\n")[0]}) and ${secondaryStack}`, e);
    });
    return repositoryLocations(primary, secondary);
  }

  private escrowed(locations: RepositoryLocations): Promise<string> {
    const regions = [locations.repo1?.region, locations.repo2?.region].filter((r): r is string => !!r);
    return readEscrowedPassphrase({ secretName: cipherPassSecretName(this.o.config.environment), regions, clientFor: this.o.secretsClientFor });
  }

  private async build(): Promise<Pgbackrest> {
    const { config } = this.o;
    const settings = config.pulumi.repositories;
    const env = this.o.env ?? process.env;
    // 1. Where the repositories are.
    const locations = await this.locations();
    // 2. Secrets (registered for redaction as they are read).
    const credentials = repositoryCredentials(settings, env);
    // Not given here: the escrow in Secrets Manager, only when a repository is encrypted.
    const encrypted = !!(locations.repo1?.cipher || locations.repo2?.cipher);
    const cipherPass = repositoryCipherPass(settings, env) ?? (encrypted ? await this.escrowed(locations) : undefined);
    // 3–4. The file, in a private directory of the user pgBackRest runs as.
    const user = this.o.user ?? serviceUser(config.lab.serviceUser);
    const where = privateDir(user, settings.dir);
    try {
      const text = renderRepositoriesConf({ locations, connections: { repo1: settings.repo1, repo2: settings.repo2 }, credentials, cipherPass, dir: where.dir, tuning: config.pgbackrest, ioTimeout: settings.ioTimeout });
      const configPath = writeRepositoriesConf(where.dir, text, user);
      this.written = { ...where, configPath };
      return new Pgbackrest({ configPath, stanza: locations.stanza, user, bin: this.o.bin });
    } catch (e) {
      if (where.temporary) rmSync(where.dir, { recursive: true, force: true });
      throw e;
    }
  }
}

/** The engine's `repositories` option: a client built on first use from the stacks' outputs. */
export function pulumiRepositories(o: PulumiRepositoriesOptions): () => Promise<Pgbackrest> {
  return new PulumiRepositories(o).client;
}
