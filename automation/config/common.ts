// The parts of configuration that the `dr` toolkit and the Pulumi stacks share: recovery
// objectives, alert thresholds, schedules, retention, verification invariants, pgBackRest
// tuning and escalation. One definition, so that what infra deploys (alarms, timers) and what
// the toolkit measures (RTO/RPO, health severities) can never disagree.
import { z } from "zod";

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Parses "90s", "15m", "4h", "7d" (or a number of seconds) into seconds. */
export function parseDuration(input: string | number): number | undefined {
  if (typeof input === "number") return Number.isFinite(input) && input >= 0 ? input : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$/.exec(input);
  if (!m) return undefined;
  return Number(m[1]) * UNIT_SECONDS[m[2]];
}

/** Formats seconds the way the runbook writes them ("4h", "15m", "1h30m", "12.3s"). */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds * 10) / 10}s`;
  const total = Math.round(seconds);
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return [d && `${d}d`, h && `${h}h`, m && `${m}m`, s && `${s}s`].filter(Boolean).join("");
}

/** A duration written as "15m" / "4h" / seconds; parsed to seconds. */
export const duration = z
  .union([z.string(), z.number()])
  .transform((v, ctx) => {
    const s = parseDuration(v);
    if (s === undefined) {
      ctx.addIssue({ code: "custom", message: `not a duration: ${JSON.stringify(v)} (use e.g. 90s, 15m, 4h, 7d)` });
      return z.NEVER;
    }
    return s;
  });

export const scenarioNames = ["corruption", "hardware", "datacenter", "security", "deletion"] as const;
export type ScenarioName = (typeof scenarioNames)[number];

/** RTO / RPO of one scenario, in seconds. */
/** An objective of zero cannot be met by any recovery and would fail every run: refused. */
const positiveDuration = duration.refine((s) => s > 0, "must be longer than zero");

export const objective = z.object({
  rto: positiveDuration.describe("recovery time objective"),
  rpo: positiveDuration.describe("recovery point objective"),
  priority: z.enum(["critical", "high", "medium", "low"]).optional(),
});
export type Objective = z.infer<typeof objective>;

/** The runbook's RTO/RPO table, used wherever config does not say otherwise. */
export const runbookObjectives: Record<ScenarioName, { rto: string; rpo: string; priority: Objective["priority"] }> = {
  corruption: { rto: "4h", rpo: "1h", priority: "critical" },
  hardware: { rto: "2h", rpo: "30m", priority: "critical" },
  datacenter: { rto: "8h", rpo: "1h", priority: "high" },
  security: { rto: "24h", rpo: "4h", priority: "critical" },
  deletion: { rto: "1h", rpo: "15m", priority: "medium" },
};

export const objectives = z
  .object(Object.fromEntries(scenarioNames.map((n) => [n, objective.optional()])) as Record<ScenarioName, z.ZodOptional<typeof objective>>)
  .strict()
  .prefault({})
  .transform((given) => {
    const out = {} as Record<ScenarioName, Objective>;
    for (const n of scenarioNames) {
      const d = runbookObjectives[n];
      out[n] = given[n] ?? { rto: parseDuration(d.rto)!, rpo: parseDuration(d.rpo)!, priority: d.priority };
    }
    return out;
  });
export type Objectives = z.output<typeof objectives>;

export const severities = ["critical", "warning", "info"] as const;
export type Severity = (typeof severities)[number];

/** Thresholds of the runbook's "Automated Monitoring Alerts", with its numbers as defaults. */
export const alertThresholds = z
  .object({
    /** Critical: data directory filesystem usage above this percentage. Runbook: 90 %. */
    diskUsagePercent: z.number().min(1).max(100).default(90),
    /** Critical: replication or WAL archive lag above this. Runbook: 1 hour. */
    replicationLag: duration.default(3600),
    /** Critical: newest WAL archived longer ago than this (while writes happen). */
    archiveAge: duration.default(3600),
    /** Critical: last successful full backup older than this (daily schedule + slack). */
    fullBackupAge: duration.default(26 * 3600),
    /** Critical: last successful backup of any type older than this (6-hourly incrementals + slack). */
    anyBackupAge: duration.default(7 * 3600),
    /** Warning: a query running longer than this is "slow". */
    slowQuery: duration.default(30),
    /** Warning: a transaction open longer than this is "long running". */
    longTransaction: duration.default(300),
    /** Warning: connections in use above this percentage of max_connections. Runbook: 80 %. */
    connectionUtilisationPercent: z.number().min(1).max(100).default(80),
    /** Warning: failed logins in the last hour above this. */
    failedLoginsPerHour: z.number().int().min(0).default(10),
  })
  .strict()
  .prefault({});
export type AlertThresholds = z.output<typeof alertThresholds>;

/** systemd OnCalendar expressions for the runbook's automated schedule. */
export const schedules = z
  .object({
    /** Runbook: full backup daily. */
    fullBackup: z.string().min(1).default("*-*-* 01:00:00"),
    /** Runbook: incremental every 6 hours. */
    incrementalBackup: z.string().min(1).default("*-*-* 00/6:30:00"),
    /**
     * `pgbackrest verify` of the host's own region's repository (every file of every set is
     * read back): weekly, since a daily full read of a growing repository costs more than the
     * week it protects; the drill and every restore also verify the set they use.
     */
    verify: z.string().min(1).default("Sun *-*-* 03:00:00"),
    /** `pgbackrest expire` of each repository, after the nightly full backups (keeps retention). */
    expire: z.string().min(1).default("*-*-* 05:00:00"),
    /** Health metrics published every minute (feeds the alarms). */
    healthPublish: z.string().min(1).default("*-*-* *:*:00"),
    /** Runbook: monthly DR drill. */
    drill: z.string().min(1).default("*-*-01 04:00:00"),
  })
  .strict()
  .prefault({});
export type Schedules = z.output<typeof schedules>;

/** pgBackRest retention, counted in backup sets (as `repoN-retention-*` takes them). */
export const retention = z
  .object({
    full: z.number().int().min(1).default(7),
    diff: z.number().int().min(1).optional(),
    /** Days of WAL/backups object lock keeps on S3 (infra); also the lifecycle horizon. */
    days: z.number().int().min(1).default(35),
  })
  .strict()
  .prefault({});
export type Retention = z.output<typeof retention>;

/** An SQL check that must hold on a restored database, e.g. ledger sums equal balances. */
export const invariant = z
  .object({
    name: z.string().min(1),
    /** A query returning one row with one column; compared to `expect`. */
    sql: z.string().min(1),
    expect: z.union([z.string(), z.number(), z.boolean()]).default(0),
    database: z.string().optional(),
    /**
     * The same check over what changed since a point where the whole check held, for an
     * invariant whose whole form reads a large table (ledger sums): `$1` is the oldest
     * transaction id (64-bit, as txid_current() gives it) the snapshot the whole check held in
     * had not seen finish, so the query must cover every row written by transactions from `$1`
     * on (the sample finds them in its audit log). Restore-path gates run it instead of the
     * whole check when the backup's proofs recorded that the whole check held; `--full-gate`
     * and the proofs' own checks run the whole check.
     */
    since: z
      .object({ sql: z.string().min(1).refine((s) => /\$1(?![0-9])/.test(s), { message: "must use $1, the oldest transaction the whole check had not seen finish" }) })
      .strict()
      .optional(),
  })
  .strict();
export type Invariant = z.output<typeof invariant>;

export const compressTypes = ["none", "gz", "lz4", "zst", "bz2"] as const;

/**
 * Settings fp-dr itself decides (archiving, addresses, TLS, recovery, the stream): a site's
 * extra server settings may not override them, or a config change could stop archiving or
 * open the server to the network.
 */
export const managedServerSettings = [
  "archive_mode", "archive_command", "archive_timeout", "restore_command", "recovery_target", "primary_conninfo", "primary_slot_name",
  "listen_addresses", "port", "unix_socket_directories", "hba_file", "ident_file", "config_file", "data_directory",
  "ssl", "ssl_cert_file", "ssl_key_file", "ssl_min_protocol_version", "password_encryption", "wal_level", "hot_standby",
] as const;

/**
 * Extra PostgreSQL settings for every site's server (e.g. shared_buffers, work_mem), applied by
 * `dr host apply` (a reload; a restart when the server says one is pending).
 */
export const serverSettings = z
  .record(z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$/, "a PostgreSQL setting name"), z.union([z.string().regex(/^[^\n\r]*$/, "one line"), z.number(), z.boolean()]))
  .superRefine((s, ctx) => {
    for (const name of Object.keys(s)) {
      if ((managedServerSettings as readonly string[]).includes(name)) ctx.addIssue({ code: "custom", path: [name], message: `${name} is set by fp-dr itself` });
    }
  })
  .default({});
export type ServerSettings = z.output<typeof serverSettings>;

/** pgBackRest performance knobs (see the benchmark for how they were chosen). */
export const pgbackrestTuning = z
  .object({
    processMax: z.number().int().min(1).max(64).default(2),
    /**
     * Worker processes of a restore (pgBackRest's process-max for the restore command only).
     * Default twice processMax, at most 64: each worker waits on its file's sync to disk and on
     * the store's answers, so more workers than cores keep the cores busy (measured at 3.4 GiB
     * on the lab's 2 cores: 6.0 to 6.6 s instead of 6.9 to 9.6 s from the posix repository; from
     * the S3 one, which the lab's store on the same cores bounds, 8.3 to 9.1 s against 8.6 to
     * 9.1 s). Backups keep processMax: they share the primary's cores.
     */
    restoreProcessMax: z.number().int().min(1).max(64).optional(),
    compressType: z.enum(compressTypes).default("lz4"),
    compressLevel: z.number().int().min(0).max(19).optional(),
    /** Buffer size in bytes, one of pgBackRest's allowed sizes. */
    bufferSize: z.number().int().min(16384).default(1048576),
    archiveAsync: z.boolean().default(true),
    /**
     * Bundle small files into larger repository objects (repoN-bundle=y, for every repository):
     * files under 2MiB (about 1 300 of a 1 GB database's files, most of a few KiB) are stored
     * together in ~20MiB objects, so a backup and a restore make a few dozen requests to S3
     * instead of thousands. A backup-time option: sets taken without it restore as before.
     * Default on (measured on the lab's store at 918 MB: 21 objects instead of 1 347, the
     * restore 4.6 s instead of 6.8 s).
     */
    repoBundle: z.boolean().default(true),
    archivePushQueueMax: z.string().optional(),
    /**
     * How long a repository read or write may make no progress before pgBackRest gives up on it
     * (io-timeout; it retries a few times first). Bounds restores, backups and WAL archiving
     * when a store dies. Default 20s (pgBackRest's own is 60s).
     */
    ioTimeout: duration.default(20),
    /**
     * fp-dr's own deadline on top: a restore or backup that copies no file for this long is
     * ended and reported with the store it was reading. Default 60s.
     */
    stallTimeout: duration.default(60),
  })
  .strict()
  .prefault({});
export type PgbackrestTuning = z.output<typeof pgbackrestTuning>;

/** Runbook "Escalation Matrix": who is engaged after how long, per severity. */
export const escalation = z
  .object({
    stages: z
      .array(
        z
          .object({
            after: duration,
            contact: z.string().min(1),
            response: z.string().min(1),
          })
          .strict(),
      )
      .min(1)
      .default([
        { after: 0, contact: "on-call DBA", response: "immediate response" },
        { after: 900, contact: "senior DBA + dev lead", response: "conference call" },
        { after: 1800, contact: "IT director + business lead", response: "management briefing" },
        { after: 3600, contact: "executive team", response: "executive decision" },
      ]),
  })
  .strict()
  .prefault({});
export type Escalation = z.output<typeof escalation>;

/** Formats zod issues as "path.to.field: message" lines, one per problem. */
export function formatIssues(error: z.ZodError, prefix = ""): string[] {
  return error.issues.map((i) => {
    const path = [prefix, ...i.path.map(String)].filter(Boolean).join(".");
    return `${path || "(root)"}: ${i.message}`;
  });
}
