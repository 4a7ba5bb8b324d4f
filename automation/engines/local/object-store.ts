// The lab's offsite repository: an S3-compatible server (the npm package s3rver) on loopback,
// over HTTPS with a lab CA, so pgBackRest takes its real S3 code path with TLS verification on.
// It runs as a detached daemon (object-store-daemon.ts); its settings and runtime state live in
// `<dir>/object-store.json` (mode 0600: it holds the secret key), its objects under `<dir>/data`.
//
// What the lab store is NOT: s3rver has one built-in account and no policy engine. It cannot
// enforce per-principal permissions: no delete-deny for the database host, no object lock, no
// versioning, no bucket policy, no TLS-only rule. It also accepts unsigned (anonymous) requests,
// and it does not check SigV4 signatures (pgBackRest signs with SigV4), so only the access key
// id is checked, never the secret. The AWS buckets (infra/, backup repository component) do
// enforce all of this; tests of "the host cannot delete backups" belong to the AWS engine.
import { existsSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync, chmodSync, mkdirSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { DrError } from "../../core/errors";
import { registerSecret } from "../../core/redact";
import { run } from "../../system/exec";
import { serviceUser, type ServiceUser } from "../../system/service-user";
import { daemonStatus, logFileOf, scriptBeside, startDaemon, stopDaemon } from "./daemon";
import { probeObjectStore, type ObjectStoreProbeTarget } from "./object-store-probe";
import { ensureLabCertificates } from "./tls";

export { probeObjectStore };

/**
 * The credentials s3rver accepts out of the box: its built-in account registers exactly one
 * key pair, access key `S3RVER` / secret `S3RVER` (node_modules/s3rver/lib/models/account.js).
 * Custom credentials can be given to `startObjectStore`: the daemon registers that key pair on
 * the same account and revokes `S3RVER`, so only the configured access key id is accepted.
 * The secret is never verified (s3rver leaves SigV4 verification unimplemented).
 */
export const LAB_S3_DEFAULT_CREDENTIALS = { accessKey: "S3RVER", secretKey: "S3RVER" } as const;
/** s3rver's built-in access key id (the default of `startObjectStore`). */
export const OBJECT_STORE_ACCESS_KEY = LAB_S3_DEFAULT_CREDENTIALS.accessKey;
/** s3rver's built-in secret (the default of `startObjectStore`; s3rver never checks it). */
export const OBJECT_STORE_SECRET_KEY = LAB_S3_DEFAULT_CREDENTIALS.secretKey;
/** The name pgBackRest connects to (TLS verification and the Host header use it). */
export const LAB_S3_ENDPOINT = "s3.lab.fp.internal";
export const LAB_S3_HOST = "127.0.0.1";
export const LAB_S3_DEFAULT_BUCKET = "fp-dr-offsite";
/** The bucket of the lab's shared documents (journal copies, reports: ./shared-store.ts), beside the repository's. */
export const LAB_SHARED_BUCKET = "fp-dr-shared";
export const LAB_S3_REGION = "us-east-1";

const DAEMON = "object-store";
const STATE_FILE = "object-store.json";
/** How s3rver names the file that holds an object's bytes (FilesystemStore, S3RVER_SUFFIX). */
const OBJECT_SUFFIX = "._S3rver_object";

export interface ObjectStoreOptions {
  /** Directory for state, certificates, logs and data (`<dir>/data`). */
  dir: string;
  /** Bucket created at start (default fp-dr-offsite). */
  bucket?: string;
  /** TCP port; 0 picks a free one. Default: the port of the previous run in `dir`, else 0. */
  port?: number;
  /** Access key id to accept (default S3RVER, s3rver's built-in key). */
  accessKey?: string;
  /** Secret key handed to clients (default S3RVER; s3rver does not verify it). */
  secretKey?: string;
  /** Log every request to `<dir>/object-store.log` (default false). */
  verbose?: boolean;
  /** The user that must be able to read the CA file (default: the service user). */
  caReader?: ServiceUser;
  /** How long to wait for the store to answer (default 20 s). */
  timeoutMs?: number;
}

/** Where the store is and the key that opens it (the probe's target), plus what pgBackRest needs. */
export interface ObjectStoreInfo extends ObjectStoreProbeTarget {
  uriStyle: "path";
  pid: number;
}

export interface ObjectStoreState extends Omit<ObjectStoreInfo, "pid"> {
  pid?: number;
  /** Created at start beside `bucket` (absent in a store started before it existed). */
  sharedBucket?: string;
  dataDir: string;
  certFile: string;
  keyFile: string;
  verbose: boolean;
}

/** pgBackRest options for a repository on the lab store, e.g. `repoOptions(info, 2)`. */
export function pgbackrestRepoOptions(info: ObjectStoreInfo, repo: number, path = "/"): Record<string, string> {
  const p = `repo${repo}`;
  return {
    [`${p}-type`]: "s3",
    [`${p}-path`]: path,
    [`${p}-s3-bucket`]: info.bucket,
    [`${p}-s3-endpoint`]: info.endpoint,
    [`${p}-s3-region`]: info.region,
    [`${p}-s3-key`]: info.accessKey,
    [`${p}-s3-key-secret`]: info.secretKey,
    [`${p}-s3-uri-style`]: info.uriStyle,
    [`${p}-storage-host`]: info.host,
    [`${p}-storage-port`]: String(info.port),
    [`${p}-storage-ca-file`]: info.caFile,
    [`${p}-storage-verify-tls`]: "y",
  };
}

/**
 * Starts the store (idempotent: a running store is probed and returned as is). Makes the lab
 * CA and server certificate on first use, creates the bucket, waits until a real TLS request
 * verified by the CA answers.
 */
export async function startObjectStore(opts: ObjectStoreOptions): Promise<ObjectStoreInfo> {
  const { dir } = opts;
  mkdirSync(dir, { recursive: true });
  const previous = readState(dir);
  const status = daemonStatus(dir, DAEMON);
  if (status.running && status.pid !== undefined && previous && previous.pid === status.pid && previous.port > 0) {
    const same =
      previous.sharedBucket === LAB_SHARED_BUCKET &&
      (opts.bucket === undefined || opts.bucket === previous.bucket) &&
      (opts.port === undefined || opts.port === 0 || opts.port === previous.port) &&
      (opts.accessKey === undefined || opts.accessKey === previous.accessKey) &&
      (opts.secretKey === undefined || opts.secretKey === previous.secretKey);
    if (same) {
      const info = toInfo(previous, status.pid);
      registerSecret(info.secretKey);
      await probeObjectStore(info);
      return info;
    }
    await stopDaemon(dir, DAEMON); // asked for other settings: restart with them
  }

  // (a store started before the shared documents' bucket existed is restarted to create it)
  // 1. certificates: CA at <dir>/ca.crt, server cert for the endpoint name and 127.0.0.1.
  //    pgBackRest 2.45 checks the certificate against repo-storage-host (not the endpoint) and
  //    only against DNS-type names, so "127.0.0.1" is also in the certificate as a DNS name.
  const certs = await ensureLabCertificates({ dir, dnsNames: [LAB_S3_ENDPOINT, LAB_S3_HOST], ipAddresses: [LAB_S3_HOST] });
  await assertReadableBy(opts.caReader ?? serviceUser(), certs.caFile);

  // 2. settings for the daemon (it rewrites the file with its pid and actual port)
  const accessKey = opts.accessKey ?? previous?.accessKey ?? LAB_S3_DEFAULT_CREDENTIALS.accessKey;
  const secretKey = opts.secretKey ?? previous?.secretKey ?? LAB_S3_DEFAULT_CREDENTIALS.secretKey;
  registerSecret(secretKey);
  const state: ObjectStoreState = {
    endpoint: LAB_S3_ENDPOINT,
    host: LAB_S3_HOST,
    port: opts.port ?? previous?.port ?? 0,
    bucket: opts.bucket ?? previous?.bucket ?? LAB_S3_DEFAULT_BUCKET,
    sharedBucket: LAB_SHARED_BUCKET,
    region: LAB_S3_REGION,
    caFile: certs.caFile,
    accessKey,
    secretKey,
    uriStyle: "path",
    dataDir: join(dir, "data"),
    certFile: certs.certFile,
    keyFile: certs.keyFile,
    verbose: opts.verbose ?? false,
  };
  validateBucketName(state.bucket);
  writeState(dir, state);

  // 3. the daemon, ready once it has recorded its port and answers a verified TLS request
  const { pid } = await startDaemon({
    name: DAEMON,
    dir,
    script: scriptBeside(__filename, "object-store-daemon"),
    args: [join(dir, STATE_FILE)],
    // s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 only has in
    // its legacy provider; without it every truncated listing (more than max-keys objects,
    // 1000 for pgBackRest: verify, expire, big archives) fails with HTTP 500.
    nodeArgs: ["--openssl-legacy-provider"],
    timeoutMs: opts.timeoutMs,
    errorCode: "STORE_UNREACHABLE",
    readyCheck: async (childPid) => {
      const s = readState(dir);
      if (!s || s.pid !== childPid || !s.port) return false;
      await probeObjectStore(toInfo(s, childPid), 2_000);
      return true;
    },
  });
  return toInfo(readState(dir)!, pid);
}

/** Stops the store (idempotent). Its data, certificates and settings stay for the next start. */
export async function stopObjectStore(dir: string): Promise<void> {
  await stopDaemon(dir, DAEMON);
}

/** What the store's state file says, plus whether its daemon is alive; undefined if never started. */
export function objectStoreInfo(dir: string): (Omit<ObjectStoreInfo, "pid"> & { sharedBucket?: string; pid?: number; running: boolean }) | undefined {
  const s = readState(dir);
  if (!s) return undefined;
  const status = daemonStatus(dir, DAEMON);
  const running = status.running && status.pid === s.pid;
  registerSecret(s.secretKey);
  const { dataDir: _d, certFile: _c, keyFile: _k, verbose: _v, ...info } = s;
  return { ...info, pid: running ? s.pid : undefined, running };
}

/**
 * Where s3rver keeps the bytes of `key` in `bucket` on disk. Tests flip bytes in this file to
 * simulate tampering with a stored backup. Note that s3rver caches each object's MD5 in a
 * `<file>.md5` sibling, so the ETag it reports keeps the pre-tampering value (as a silently
 * corrupted disk would); only pgBackRest's own checksums (`verify`) notice.
 */
export function objectStorePathOf(dir: string, bucket: string, key: string): string {
  const parts = key.replace(/^\/+/, "").split("/");
  const last = parts.pop() ?? "";
  return join(dataDirOf(dir), bucket, ...parts, `${last}${OBJECT_SUFFIX}`);
}

export interface StoredObject {
  /** The object's key, e.g. `repo/backup/main/20240101-000000F/pg_data/PG_VERSION.zst`. */
  key: string;
  /** The file holding its bytes. */
  path: string;
  size: number;
}

/** Every object in `bucket` whose key starts with `prefix`, sorted by key. */
export function listStoredObjects(dir: string, bucket: string, prefix = ""): StoredObject[] {
  const root = join(dataDirOf(dir), bucket);
  const wanted = prefix.replace(/^\/+/, "");
  const out: StoredObject[] = [];
  const walk = (folder: string) => {
    if (!existsSync(folder)) return;
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const full = join(folder, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && entry.name.endsWith(OBJECT_SUFFIX)) {
        const key = relative(root, full).split(sep).join("/").slice(0, -OBJECT_SUFFIX.length);
        if (key.startsWith(wanted)) out.push({ key, path: full, size: statSync(full).size });
      }
    }
  };
  walk(root);
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function dataDirOf(dir: string): string {
  return readState(dir)?.dataDir ?? join(dir, "data");
}

function toInfo(s: ObjectStoreState, pid: number): ObjectStoreInfo {
  return {
    endpoint: s.endpoint,
    host: s.host,
    port: s.port,
    bucket: s.bucket,
    region: s.region,
    caFile: s.caFile,
    accessKey: s.accessKey,
    secretKey: s.secretKey,
    uriStyle: s.uriStyle,
    pid,
  };
}

function readState(dir: string): ObjectStoreState | undefined {
  const file = join(dir, STATE_FILE);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as ObjectStoreState;
  } catch {
    return undefined;
  }
}

function writeState(dir: string, state: ObjectStoreState): void {
  const file = join(dir, STATE_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + "\n", { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

function validateBucketName(bucket: string): void {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new DrError("CONFIG_INVALID", `invalid bucket name ${JSON.stringify(bucket)}`, { hint: "use 3-63 lowercase letters, digits, dots and hyphens" });
  }
}

/** pgBackRest runs as the service user: make sure it can read the CA file (and every folder above it). */
async function assertReadableBy(user: ServiceUser, file: string): Promise<void> {
  if (!user.switched) return;
  try {
    await run("test", ["-r", file], { as: user, timeoutMs: 10_000 });
  } catch (e) {
    throw new DrError("STORE_UNREACHABLE", `the ${user.name} user cannot read ${file}`, {
      cause: e,
      hint: `pgBackRest runs as ${user.name}: make the lab directory and its parents traversable (chmod o+x) for it`,
    });
  }
}

/** For messages: the daemon's log file. */
export function objectStoreLogFile(dir: string): string {
  return logFileOf(dir, DAEMON);
}
