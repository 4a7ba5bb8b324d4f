// Renders pgbackrest.conf from typed settings. One renderer for every place a configuration is
// written: the lab's sites, and the cloud-init of the AWS hosts. repo1 is the site's own
// repository, repo2 the offsite one in the other region, written directly by archive-push and
// backup (so the RPO never waits on bucket replication).
import type { PgbackrestTuning } from "../config/common";

export interface RepoSpec {
  /** pgBackRest repository index: 1 = the site's own, 2 = offsite. */
  index: 1 | 2;
  type: "posix" | "s3";
  /** posix: the directory; s3: the key prefix inside the bucket. */
  path: string;
  s3?: {
    bucket: string;
    /** Name the TLS certificate is checked against (and the Host header). */
    endpoint: string;
    region: string;
    /** Connect to this address instead of resolving the endpoint (lab: 127.0.0.1). */
    host?: string;
    port?: number;
    uriStyle: "host" | "path";
    /** CA bundle for a private CA (the lab's); omit to use the system store. */
    caFile?: string;
    verifyTls: boolean;
    /** `shared` keys below, or `auto` to use the instance profile (AWS). */
    keyType: "shared" | "auto";
    key?: string;
    keySecret?: string;
    /** Session token of temporary `shared` keys (AWS_SESSION_TOKEN); omit for long-lived keys. */
    token?: string;
  };
  /** AES-256 passphrase; omit for an unencrypted repository. */
  cipherPass?: string;
  retentionFull: number;
  retentionDiff?: number;
}

export interface PgbackrestConfigSpec {
  stanza: string;
  /** Data directory of the cluster this host backs up / restores into. */
  pgPath: string;
  pgPort: number;
  /** Unix socket directory of that cluster. */
  pgSocketPath: string;
  /** Database role pgBackRest connects as (default: the OS user it runs as). */
  pgUser?: string;
  repos: RepoSpec[];
  logPath: string;
  lockPath: string;
  spoolPath: string;
  tuning: PgbackrestTuning;
  /** Archive asynchronously (writers only; a read-only drill host archives nothing). Default: tuning.archiveAsync. */
  archiveAsync?: boolean;
  /** Expire after each backup (default y). Hosts that may not delete set n; expire runs elsewhere. */
  expireAuto?: boolean;
  /** Seconds an S3 request may make no progress before pgBackRest gives up on it (io-timeout). Default: tuning.ioTimeout. */
  ioTimeout?: number;
  /** File log detail (default info). */
  logLevelFile?: "info" | "detail" | "debug";
  /** First line of the file: who writes it. */
  header?: string;
}

type Value = string | number | boolean | undefined;

const DB_TIMEOUT_SECONDS = 600;

function line(key: string, value: Value): string | undefined {
  if (value === undefined) return undefined;
  const v = typeof value === "boolean" ? (value ? "y" : "n") : String(value);
  return `${key}=${v}`;
}

function repoLines(r: RepoSpec, t: PgbackrestTuning): string[] {
  const p = `repo${r.index}`;
  const out: (string | undefined)[] = [
    line(`${p}-type`, r.type),
    line(`${p}-path`, r.path),
    // Small files go into bundle objects: a few dozen S3 requests per backup and restore, not thousands.
    line(`${p}-bundle`, t.repoBundle ? true : undefined),
    line(`${p}-retention-full`, r.retentionFull),
    line(`${p}-retention-diff`, r.retentionDiff),
    line(`${p}-cipher-type`, r.cipherPass ? "aes-256-cbc" : undefined),
    line(`${p}-cipher-pass`, r.cipherPass),
  ];
  if (r.type === "s3") {
    const s = r.s3;
    if (!s) throw new Error(`repo${r.index} is s3 but has no s3 settings`);
    out.push(
      line(`${p}-s3-bucket`, s.bucket),
      line(`${p}-s3-endpoint`, s.endpoint),
      line(`${p}-s3-region`, s.region),
      line(`${p}-storage-host`, s.host),
      line(`${p}-storage-port`, s.port),
      line(`${p}-s3-uri-style`, s.uriStyle),
      line(`${p}-storage-ca-file`, s.caFile),
      line(`${p}-storage-verify-tls`, s.verifyTls),
      line(`${p}-s3-key-type`, s.keyType),
      line(`${p}-s3-key`, s.keyType === "shared" ? s.key : undefined),
      line(`${p}-s3-key-secret`, s.keyType === "shared" ? s.keySecret : undefined),
      line(`${p}-s3-token`, s.keyType === "shared" ? s.token : undefined),
    );
  }
  return out.filter((x): x is string => x !== undefined);
}

/** The file's text. It holds secrets: write it 0600, owned by the user pgBackRest runs as. */
export function renderPgbackrestConf(spec: PgbackrestConfigSpec): string {
  const t = spec.tuning;
  for (const r of spec.repos) {
    // A newline in a value would smuggle another option into the file.
    if (r.cipherPass !== undefined && /[\r\n]/.test(r.cipherPass)) throw new Error("the repository passphrase must be a single line");
    for (const [what, v] of [["key", r.s3?.key], ["secret key", r.s3?.keySecret], ["session token", r.s3?.token]] as const) {
      if (v !== undefined && /[\r\n]/.test(v)) throw new Error(`the repo${r.index} s3 ${what} must be a single line`);
    }
  }
  const archiveAsync = spec.archiveAsync ?? t.archiveAsync;
  const global = [
    ...spec.repos.flatMap((r) => repoLines(r, t)),
    line("process-max", t.processMax),
    line("compress-type", t.compressType),
    line("compress-level", t.compressLevel),
    line("buffer-size", t.bufferSize),
    // Archive asynchronously: archive-push returns as soon as the segment is queued, and a
    // background process ships batches to both repositories in parallel.
    line("archive-async", archiveAsync ? true : undefined),
    line("archive-push-queue-max", archiveAsync ? t.archivePushQueueMax : undefined),
    line("io-timeout", spec.ioTimeout ?? t.ioTimeout),
    // pgBackRest waits this long on a query (db-timeout) and on its worker processes
    // (protocol-timeout, which must exceed db-timeout): 10 minutes rather than its 30.
    line("db-timeout", DB_TIMEOUT_SECONDS),
    line("protocol-timeout", DB_TIMEOUT_SECONDS + 30),
    line("spool-path", spec.spoolPath),
    line("log-path", spec.logPath),
    line("lock-path", spec.lockPath),
    line("log-level-console", "warn"),
    line("log-level-file", spec.logLevelFile ?? "info"),
    line("expire-auto", spec.expireAuto === false ? false : undefined),
    // Backups and restores never wait for a scheduled checkpoint; they are on demand.
    line("start-fast", true),
  ].filter((x): x is string => x !== undefined);
  const stanza = [
    line("pg1-path", spec.pgPath),
    line("pg1-port", spec.pgPort),
    line("pg1-socket-path", spec.pgSocketPath),
    line("pg1-user", spec.pgUser),
  ].filter((x): x is string => x !== undefined);
  // A restore's own worker count (see restoreProcessMax): a section pgBackRest reads for restores only.
  const restore = [line("process-max", restoreProcessMax(t))];
  return [spec.header ?? "# written by fp-dr; edits are overwritten", "[global]", ...global, "", "[global:restore]", ...restore, "", `[${spec.stanza}]`, ...stanza, ""].join("\n");
}

/** The restore's worker count: the configured one, or twice processMax (at most 64). */
function restoreProcessMax(t: PgbackrestTuning): number {
  return t.restoreProcessMax ?? Math.min(64, 2 * t.processMax);
}

/** The archive_command / restore_command for postgresql.conf that go with this file. */
export function archiveCommands(configPath: string, stanza: string): { archive_command: string; restore_command: string } {
  const base = `pgbackrest --config=${configPath} --stanza=${stanza}`;
  return { archive_command: `${base} archive-push %p`, restore_command: `${base} archive-get %f "%p"` };
}
