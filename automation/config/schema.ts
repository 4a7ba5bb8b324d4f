// The `dr` configuration (dr.config.yaml, --config, FP_DR_* environment). Everything has a
// default, and the defaults are the local lab, so `dr` with no file at all drives the lab.
// The shared parts (objectives, thresholds, schedules, …) come from ./common, which the
// Pulumi stack config uses too.
import { z } from "zod";
import {
  alertThresholds,
  duration,
  escalation,
  invariant,
  objectives,
  pgbackrestTuning,
  serverSettings,
  retention,
  schedules,
} from "./common";

export const siteRoles = ["primary", "secondary", "drill"] as const;
export type SiteRole = (typeof siteRoles)[number];

const identifier = z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, "lowercase letters, digits and dashes, starting with a letter");
const sqlIdentifier = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "a plain lowercase SQL identifier");

/** A site as the toolkit sees it. Connection details on the lab come from the lab's state. */
export const siteConfig = z
  .object({
    role: z.enum(siteRoles),
    /** AWS region (pulumi engine); ignored by the lab. */
    region: z.string().optional(),
    /** Pulumi stack that declares this site (pulumi engine). */
    stack: z.string().optional(),
  })
  .strict();
export type SiteConfig = z.output<typeof siteConfig>;

/** The site's own repository (pgBackRest repo1). */
const localRepo = z
  .object({
    /** posix on the lab; s3 on AWS (this region's bucket). */
    type: z.enum(["posix", "s3"]).default("posix"),
    /** posix: directory; default under the lab dir. */
    path: z.string().optional(),
    bucket: z.string().optional(),
    region: z.string().optional(),
    endpoint: z.string().optional(),
    retention: retention,
    cipher: z.boolean().default(true),
  })
  .strict()
  .prefault({});

/** The offsite repository in the other region (pgBackRest repo2), always S3. */
const offsiteRepo = z
  .object({
    type: z.literal("s3").default("s3"),
    bucket: z.string().min(3).default("fp-dr-offsite"),
    region: z.string().default("us-west-2"),
    /** Endpoint host[:port]; on the lab, the loopback object store (filled in by the lab). */
    endpoint: z.string().optional(),
    uriStyle: z.enum(["host", "path"]).default("path"),
    verifyTls: z.boolean().default(true),
    /** Key prefix inside the bucket. */
    path: z.string().default("/pgbackrest"),
    retention: retention,
    cipher: z.boolean().default(true),
  })
  .strict()
  .prefault({});

/**
 * How this machine reaches one S3 repository of the AWS sites. The bucket, region and path come
 * from the stacks' outputs; these only override the connection, for a VPC endpoint or an
 * S3-compatible store (the lab's tests point them at the lab store).
 */
const repositoryConnection = z
  .object({
    /** Name the TLS certificate is checked against (and the Host header). Default s3.<region>.amazonaws.com. */
    endpoint: z.string().regex(/^[A-Za-z0-9.-]+$/, "a host name such as s3.eu-west-1.amazonaws.com").optional(),
    /** Connect to this address instead of resolving the endpoint. Default: the endpoint. */
    host: z.string().regex(/^[A-Za-z0-9.:-]+$/, "a host name or address").optional(),
    /** TCP port. Default 443. */
    port: z.number().int().min(1).max(65535).optional(),
    /** host: bucket.endpoint (AWS); path: endpoint/bucket (most S3-compatible stores). Default host. */
    uriStyle: z.enum(["host", "path"]).default("host"),
    /** CA bundle for a private CA. Default: the system store. */
    caFile: z.string().min(1).optional(),
    /** Check the server's certificate. Default true (turning it off is for nothing but a throwaway test store). */
    verifyTls: z.boolean().default(true),
  })
  .strict();

/**
 * The pulumi engine's own pgBackRest access to the S3 repositories (engines/pulumi/repositories.ts),
 * for the pre-flight of failovers and drills (catalog, verify, restore plan): repo1 is the
 * primary's bucket, repo2 the offsite one, as the primary stack's outputs name them. It only
 * reads (info, repo-ls, verify). When dr runs as root, pgBackRest runs as lab.serviceUser
 * (FP_DR_SERVICE_USER, default postgres): it refuses root.
 */
export const pulumiRepositorySettings = z
  .object({
    /** Give the engine the repositories client (when pgbackrest is installed). Default true. */
    enabled: z.boolean().default(true),
    /**
     * AWS credentials for the buckets: `environment` — AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
     * and AWS_SESSION_TOKEN (written into a private pgbackrest.conf, never logged; pgBackRest cannot
     * read ~/.aws profiles: export them with `aws configure export-credentials --format env`);
     * `instance-profile` — the machine's role through the instance metadata service.
     * Default: environment when AWS_ACCESS_KEY_ID is set, else instance-profile.
     */
    credentials: z.enum(["environment", "instance-profile"]).optional(),
    /** Environment variable holding the repositories' cipher passphrase (fp-dr:repoCipherPass of the stacks). Default FP_DR_REPO_CIPHER_PASS. */
    cipherPassEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name").default("FP_DR_REPO_CIPHER_PASS"),
    /** Or a file holding it (first line; no access for others). Used when the variable is unset. Default: none. */
    cipherPassFile: z.string().min(1).optional(),
    /**
     * How long an S3 request may make no progress (pgBackRest io-timeout). pgBackRest retries, so a
     * repository that does not answer (the failed region's) costs about four times this before it
     * is reported unreachable. Default 20s (pgBackRest's own default is 60s).
     */
    ioTimeout: duration.default(20),
    /** Directory for the rendered pgbackrest.conf (0600), its log and lock dirs. Default: a private temporary directory removed when dr exits. */
    dir: z.string().min(1).optional(),
    /** Connection to the primary's bucket (repo1). Default: AWS S3 in its region. */
    repo1: repositoryConnection.prefault({}),
    /** Connection to the offsite bucket (repo2). Default: AWS S3 in its region. */
    repo2: repositoryConnection.prefault({}),
  })
  .strict();
export type PulumiRepositorySettings = z.output<typeof pulumiRepositorySettings>;

/**
 * The pulumi engine: how `dr` drives this repository's Pulumi project through the Automation
 * API (automation/engines/pulumi). Only read when `engine: pulumi`.
 */
export const pulumiSettings = z
  .object({
    /**
     * Directory holding Pulumi.yaml (the project and its Pulumi.<stack>.yaml files). Default:
     * the repository root this toolkit runs from.
     */
    workDir: z.string().min(1).optional(),
    /**
     * Self-managed state backend, e.g. s3://fp-dr-pulumi-state?region=eu-west-1, passed to the
     * CLI as PULUMI_BACKEND_URL. Default: none, the CLI's own choice (PULUMI_BACKEND_URL from
     * the environment or `pulumi login`). Keep it out of the primary region: the failover
     * reads and writes state while that region is down. Env: FP_DR_PULUMI_BACKEND_URL.
     */
    backendUrl: z.string().regex(/^(s3|azblob|gs|file|https?):\/\/\S+$/, "a backend URL such as s3://bucket?region=eu-west-1 or file:///path").optional(),
    /**
     * Secrets provider of the stacks the engine creates (drills), e.g.
     * awskms://alias/fp-dr-pulumi?region=eu-west-1 or passphrase (then PULUMI_CONFIG_PASSPHRASE
     * comes from the environment, never from this file). Default: none, the CLI's default.
     * Like the backend, it must not depend on the primary region. Env: FP_DR_PULUMI_SECRETS_PROVIDER.
     */
    secretsProvider: z.string().regex(/^(passphrase|default|(awskms|azurekeyvault|gcpkms|hashivault):\/\/\S+)$/, "passphrase, default, or a KMS URL such as awskms://alias/fp-dr-pulumi?region=eu-west-1").optional(),
    /** The pulumi binary. Default "pulumi" from PATH. Env: FP_DR_PULUMI_COMMAND. */
    command: z.string().min(1).default("pulumi"),
    /** Stack names of the two sites (a site's own `sites.<name>.stack` wins). Default primary / secondary. */
    stacks: z
      .object({
        primary: z.string().regex(/^[A-Za-z0-9_./-]+$/).default("primary"),
        secondary: z.string().regex(/^[A-Za-z0-9_./-]+$/).default("secondary"),
      })
      .strict()
      .prefault({}),
    /** Drill stacks are named <drillStackPrefix><drill id>. Default "drill-". */
    drillStackPrefix: z.string().regex(/^[a-z0-9-]{1,20}$/).default("drill-"),
    /**
     * The stack whose config a drill stack copies before the drill overrides are applied (it
     * must be in the region the drills run in). Default: the secondary's stack.
     */
    drillTemplateStack: z.string().regex(/^[A-Za-z0-9_./-]+$/).optional(),
    /** Drill resources are tagged to expire this long after creation (sweeper). Default 12h. */
    drillExpiry: duration.default(12 * 3600),
    /**
     * Where runs on this engine keep their journals (directory; it must survive the machine
     * running `dr` being replaced mid-run if that matters to you). Default: ~/.local/state/fp-dr/pulumi/journal
     * (/var/lib/fp-dr/pulumi/journal as root). Env: FP_DR_PULUMI_JOURNAL_DIR.
     */
    journalDir: z.string().min(1).optional(),
    /** How long the DNS swap waits for the service name to answer the new site. Default 10m. */
    dnsTimeout: duration.default(600),
    /** How long a restore may run on the host before the engine gives up waiting. Default 4h. */
    restoreTimeout: duration.default(4 * 3600),
    /** pgBackRest access to the S3 repositories from this machine (pre-flight reads). */
    repositories: pulumiRepositorySettings.prefault({}),
  })
  .strict();
export type PulumiSettings = z.output<typeof pulumiSettings>;

/**
 * The application's audit trail, which `dr recover-table --audit` reads to find the DELETE (or
 * UPDATE) that removed rows. Defaults: the sample database's app.audit_log (one row per changed
 * business row, written by triggers).
 */
export const auditLogSettings = z
  .object({
    /** The audit table, schema-qualified. Default app.audit_log. */
    table: z.string().regex(/^[a-z_][a-z0-9_]{0,62}\.[a-z_][a-z0-9_]{0,62}$/, "schema.table, plain lowercase SQL identifiers").default("app.audit_log"),
    /** Column names in the audit table. */
    columns: z
      .object({
        /** INSERT / UPDATE / DELETE. Default action. */
        action: sqlIdentifier.default("action"),
        /** The changed table's name (unqualified or schema.table). Default table_name. */
        table: sqlIdentifier.default("table_name"),
        /** The changed row's primary key (single-column keys). Default row_pk. */
        key: sqlIdentifier.default("row_pk"),
        /** When the change was made (timestamptz). Default at. */
        at: sqlIdentifier.default("at"),
        /** The writing transaction (txid_current()); null when not recorded. Default xid. */
        xid: sqlIdentifier.nullable().default("xid"),
        /** Who made the change; null when not recorded. Default actor. */
        actor: sqlIdentifier.nullable().default("actor"),
      })
      .strict()
      .prefault({}),
    /** How far back the audit log is searched when no --since is given. Default 24h (runbook: recent deletions). */
    lookback: duration.default(24 * 3600),
    /** Session setting the application reads its actor from, so re-inserted rows are audited as fp-dr; null: none. Default app.actor. */
    actorSetting: z.string().regex(/^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/).nullable().default("app.actor"),
  })
  .strict();
export type AuditLogSettings = z.output<typeof auditLogSettings>;

/** This machine is a site's PostgreSQL host (Debian's 15/main cluster, pgBackRest from the package). */
const hostSettings = z
  .object({
    /** The site this host serves. */
    site: identifier,
    /** Unix socket directory of the local server; dr connects over it with peer authentication. */
    socketDir: z.string().startsWith("/").default("/var/run/postgresql"),
    port: z.number().int().min(1).max(65535).default(5432),
    /** Database role for the local connection: peer maps it to the OS user of the same name (the units run as postgres). */
    user: z.string().default("postgres"),
    pgbackrestConfig: z.string().startsWith("/").default("/etc/pgbackrest/pgbackrest.conf"),
    /** The server log, read for failed logins (Debian: pg_ctlcluster writes the server's stderr here). */
    logFile: z.string().startsWith("/").optional(),
  })
  .strict();

export const drConfigSchema = z
  .object({
    /** Name of this environment: lab, production, … (locks and journals are per environment). */
    environment: identifier.default("lab"),
    /** Which engine acts on the world. */
    engine: z.enum(["local", "pulumi"]).default("local"),
    /** pgBackRest stanza. */
    stanza: identifier.default("fp"),
    /** The application database. */
    database: sqlIdentifier.default("financial_planning"),
    /** DNS name the application connects to. */
    serviceName: z.string().regex(/^[a-z0-9.-]+$/).default("db.fp.internal"),
    sites: z
      .record(identifier, siteConfig)
      .default({ primary: { role: "primary" }, secondary: { role: "secondary" } })
      .superRefine((sites, ctx) => {
        const primaries = Object.entries(sites).filter(([, s]) => s.role === "primary");
        if (primaries.length !== 1) {
          ctx.addIssue({ code: "custom", message: `exactly one site must have role primary (found ${primaries.length})` });
        }
      }),
    repositories: z.object({ local: localRepo, offsite: offsiteRepo }).strict().prefault({}),
    objectives,
    alerts: alertThresholds,
    schedules,
    escalation,
    pgbackrest: pgbackrestTuning,
    /** Extra settings of every site's PostgreSQL server (`dr host apply` brings them to the sites). */
    serverSettings,
    verification: z
      .object({
        invariants: z.array(invariant).default([]),
        /** Run amcheck on every btree index of a restored database. */
        amcheck: z.boolean().default(true),
        /** Sessions the gate's per-index checks spread over (default: the host's core count). */
        parallel: z.number().int().min(1).max(64).optional(),
        /**
         * How old the proofs taken with a backup (amcheck, orphans) may be for a restore-path
         * failover's gate to show them instead of running them on the copy. Default 26h (a day's
         * backup plus slack); 0 runs them on the copy every time.
         */
        proofMaxAge: duration.default(26 * 3600),
        /**
         * work_mem of the gate's sessions on the restored copy, which serves nobody yet: an
         * invariant that groups a large table (ledger sums per account) hashes in memory instead
         * of spilling to disk (a quarter faster on the lab's ledger). Per sort or hash, per session.
         */
        workMem: z.string().regex(/^[1-9][0-9]*(kB|MB|GB)$/, "a PostgreSQL memory size such as 128MB").default("128MB"),
      })
      .strict()
      .prefault({}),
    /** Table-level recovery (`dr recover-table`). */
    recovery: z.object({ audit: auditLogSettings.prefault({}) }).strict().prefault({}),
    lab: z
      .object({
        /** Where every file of the lab lives; default /var/lib/fp-dr/lab as root, else ~/.local/state/fp-dr/lab. */
        dir: z.string().optional(),
        /**
         * Sample database scale: 1 ≈ 50 MB, 20 ≈ 1 GB, 200 ≈ 10 GB, the largest the lab advertises
         * and builds (15 min with the standby on a 2-core machine, `dr lab up --scale 200`).
         */
        scale: z.number().min(0.01).max(200).default(1),
        /** OS user that runs server processes when dr runs as root. */
        serviceUser: z.string().default("postgres"),
        /** Loopback addresses of the sites; DNS answers with one of them. */
        addresses: z.record(identifier, z.ipv4()).default({ primary: "127.0.10.1", secondary: "127.0.10.2" }),
        /** PostgreSQL port, the same on every site address (0 = pick a free one). */
        port: z.number().int().min(0).max(65535).default(0),
      })
      .strict()
      .prefault({}),
    /**
     * The secondary as a warm standby (lab: bootstrapped by `dr lab up` from the offsite
     * repository). On by default, so a failover promotes instead of restoring; off, the
     * secondary is an empty site waiting for a restore.
     */
    standby: z
      .object({
        /** Keep the secondary as a standby. Default true (FP_DR_STANDBY=false turns it off). */
        enabled: z.boolean().default(true),
        /** Stream from the primary as well as replaying the offsite archive. Default true. */
        streaming: z.boolean().default(true),
        /** Beyond this lag a failover restores from backup instead of promoting. Default 1h (the runbook's replication alert). */
        maxLag: duration.default(3600),
        /** `dr status` warns above this lag (critical above alerts.replicationLag). Default 5m. */
        warnLag: duration.default(300),
        /** How long a failover waits for the standby to replay everything obtainable. Default 5m. */
        catchUpTimeout: duration.default(300),
      })
      .strict()
      .prefault({}),
    reports: z.object({ dir: z.string().optional() }).strict().prefault({}),
    /**
     * The shared store where runs coordinate across machines: the lease (one run at a time per
     * environment), the journal of every run, its reports. With `bucket`, an S3 bucket (the
     * secondary stack declares it, in the secondary region); else a directory: `dir`, default
     * `<state root>/shared`. On the lab without `bucket` and `dir`, the runs' documents go to the
     * lab's object store and the lease and control state to `<lab>/shared` (commands/shared-store.ts).
     */
    shared: z
      .object({
        bucket: z.string().min(3).optional(),
        region: z.string().optional(),
        /** Key prefix inside the bucket. Default "fp-dr/". */
        prefix: z.string().regex(/^([a-z0-9][a-z0-9._-]*\/)*$/, "segments of lowercase letters, digits, dots, dashes, each ending with /").default("fp-dr/"),
        /** SSE-KMS key for what is written; default the bucket's encryption. */
        kmsKeyId: z.string().optional(),
        /** Endpoint override (an S3-compatible store); AWS's otherwise. */
        endpoint: z.string().url().optional(),
        dir: z.string().optional(),
        /** A holder that stops renewing loses the lease after this long. Default 2m. */
        leaseTtl: duration.default(120),
      })
      .strict()
      .prefault({}),
    /** The pulumi engine (AWS sites through the Automation API); defaults need no file. */
    pulumi: pulumiSettings.prefault({}),
    /**
     * Present only on a site's own host (cloud-init writes it): the commands its timers run
     * (`dr health --publish`, `dr backup manifest`) act on this machine's cluster, not a lab.
     */
    host: hostSettings.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.host && !c.sites[c.host.site]) {
      ctx.addIssue({ code: "custom", path: ["host", "site"], message: `not a configured site: ${c.host.site} (sites: ${Object.keys(c.sites).join(", ")})` });
    }
  });

export type DrConfigInput = z.input<typeof drConfigSchema>;
export type DrConfig = z.output<typeof drConfigSchema>;
