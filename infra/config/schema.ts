// The stack configuration (Pulumi.<stack>.yaml, keys "fp-dr:<name>"), as one zod schema.
// Objectives, alert thresholds, schedules, retention, pgBackRest tuning and escalation are the
// shared pieces of automation/config/common.ts: what the stacks deploy (alarms, timers,
// archive_timeout) and what `dr` measures can never disagree. Cross-field rules live in
// ./rules.ts and run even when other fields are wrong, so one run lists every problem.
import { z } from "zod";
import { sharedStateLocation } from "./shared-state-location";
import {
  alertThresholds,
  escalation,
  objectives,
  pgbackrestTuning,
  retention,
  schedules,
  serverSettings,
} from "../../automation/config/common";
import { siteRoles } from "../../automation/config/schema";
import { isWorldOpen, parseCidr } from "../network/cidr";
import { drill, fence, promoteRequest, replacement, restoreRequest } from "./requests";

/** Names that end up in resource names and DNS labels. */
export const identifier = z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, "lowercase letters, digits and dashes, starting with a letter");
/** The environment is part of global bucket names, hence shorter. */
const environmentName = z.string().regex(/^[a-z][a-z0-9-]{0,15}$/, "lowercase letters, digits and dashes, starting with a letter, at most 16 characters");
const sqlIdentifier = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "a plain lowercase SQL identifier");
export const awsRegion = z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, "an AWS region such as eu-central-1");

/** A CIDR that may be listed as a source of database connections: never the world. */
const sourceCidr = z
  .string()
  .refine((v) => parseCidr(v) !== undefined, "not an IPv4 CIDR such as 10.10.0.0/16 (host bits must be zero)")
  .refine((v) => !isWorldOpen(v), "the database must never be reachable from the world (0.0.0.0/0 or anything wider than /8)");
const vpcCidr = z
  .string()
  .refine((v) => parseCidr(v) !== undefined, "not an IPv4 CIDR such as 10.20.0.0/16")
  .refine((v) => {
    const c = parseCidr(v);
    return c === undefined || (c.prefix >= 16 && c.prefix <= 22);
  }, "a VPC needs a prefix between /16 and /22 (four subnets are carved from it)");
const securityGroupId = z.string().regex(/^sg-[0-9a-f]{8,17}$/, "a security group id such as sg-0123456789abcdef0");

export const network = z
  .object({
    /** The site VPC's range; must not overlap the application's. Default 10.20.0.0/16. */
    vpcCidr: vpcCidr.default("10.20.0.0/16"),
    /**
     * Outbound internet through a NAT gateway (Debian mirrors, the toolkit download). Default
     * true. Without it the host needs a mirror reachable through VPC endpoints.
     */
    natGateway: z.boolean().default(true),
    /** Interface endpoints for SSM, so administration never needs the internet. Default true. */
    interfaceEndpoints: z.boolean().default(true),
    /** Where the application connects from. Only these may reach port 5432. */
    application: z
      .object({
        /** Source ranges allowed to connect to PostgreSQL. Default none. */
        cidrs: z.array(sourceCidr).default([]),
        /** Security groups (same VPC or peered) allowed to connect. Default none. */
        securityGroupIds: z.array(securityGroupId).default([]),
        /** Peering with the application's VPC (same account and region). Default none. */
        peering: z
          .object({
            vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, "a VPC id such as vpc-0123456789abcdef0"),
            cidr: sourceCidr,
            /** The application's route tables that get a route to this site. */
            routeTableIds: z.array(z.string().regex(/^rtb-[0-9a-f]{8,17}$/, "a route table id such as rtb-0123456789abcdef0")).default([]),
          })
          .strict()
          .optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

export const host = z
  .object({
    /** EC2 instance type of the PostgreSQL host. Default r6i.large (drill: drill.instanceType). */
    instanceType: z.string().regex(/^[a-z0-9]+\.[a-z0-9]+$/, "an EC2 instance type such as r6i.large").default("r6i.large"),
    /** Size of the encrypted gp3 data volume mounted at /var/lib/postgresql. Default 100 GiB. */
    dataVolumeGiB: z.number().int().min(20).max(16384).default(100),
    /** Provisioned IOPS of the data volume (gp3 baseline 3000). */
    dataVolumeIops: z.number().int().min(3000).max(16000).default(3000),
    /** Throughput of the data volume in MiB/s (gp3 baseline 125). */
    dataVolumeThroughputMiBs: z.number().int().min(125).max(1000).default(125),
    /** Root volume size. Default 20 GiB. */
    rootVolumeGiB: z.number().int().min(8).max(1024).default(20),
    /** Pin the AMI; default: the newest official Debian 12 image (owner 136693071363). */
    amiId: z.string().regex(/^ami-[0-9a-f]{8,17}$/, "an AMI id such as ami-0123456789abcdef0").optional(),
    /**
     * Where the host downloads the fp-dr toolkit (`dr`), an npm tarball: s3://bucket/key (read
     * through the instance role) or https://…. Keep it in the site's own region.
     */
    toolkitUrl: z.string().regex(/^(s3|https):\/\/\S+\.tgz$/, "an s3:// or https:// URL of the fp-dr npm tarball (.tgz)"),
  })
  .strict();

export const repository = z
  .object({
    /** Override the derived bucket name of this region (see infra/naming.ts). */
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "an S3 bucket name").optional(),
    /** Key prefix of the pgBackRest repository inside the bucket. Default /pgbackrest. */
    path: z.string().regex(/^\/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$/, "an absolute path such as /pgbackrest").default("/pgbackrest"),
    /** Object lock mode; COMPLIANCE cannot be shortened by anyone, root included. */
    objectLockMode: z.enum(["GOVERNANCE", "COMPLIANCE"]).default("COMPLIANCE"),
    /** pgBackRest retention (full sets) and days of object lock / lifecycle horizon. */
    retention,
    /** Encrypt the repository with pgBackRest's aes-256-cbc (passphrase: secret repoCipherPass). */
    cipher: z.boolean().default(true),
  })
  .strict()
  .prefault({});

/** The other region's repository, pgBackRest repo2 (written directly, not replicated). */
export const offsite = z
  .object({
    /** Region of the other site. */
    region: awsRegion,
    /** Name of the other site; default: the other of primary/secondary. */
    site: identifier.optional(),
    /** Override the derived bucket name of that region. */
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "an S3 bucket name").optional(),
  })
  .strict();

const subscription = z
  .object({
    protocol: z.enum(["email", "email-json", "sms", "https", "sqs", "lambda"]),
    endpoint: z.string().min(3),
  })
  .strict();

export const alerting = z
  .object({
    /** SNS subscriptions per severity topic. */
    subscriptions: z
      .object({
        critical: z.array(subscription).default([]),
        warning: z.array(subscription).default([]),
        info: z.array(subscription).default([]),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

const contactChannel = z
  .object({
    type: z.enum(["EMAIL", "SMS", "VOICE"]),
    /** E-mail address or E.164 phone number. */
    address: z.string().min(3),
  })
  .strict();

export const incidentManager = z
  .object({
    /** Declare Incident Manager contacts, escalation plan and response plans. Default false. */
    enabled: z.boolean().default(false),
    /** Also declare the account's replication set (only one stack per account may). Default false. */
    manageReplicationSet: z.boolean().default(false),
    /** Regions of the replication set; default the stack's own region. */
    replicationRegions: z.array(awsRegion).optional(),
    /** People, keyed by the contact names used in escalation.stages[].contact. */
    contacts: z
      .record(
        z.string().min(1),
        z
          .object({
            /** Incident Manager alias: letters, digits, "-" and "_". */
            alias: z.string().regex(/^[A-Za-z0-9_-]{1,255}$/, "letters, digits, '-' and '_'"),
            displayName: z.string().min(1).optional(),
            channels: z.array(contactChannel).min(1),
          })
          .strict(),
      )
      .default({}),
  })
  .strict()
  .prefault({});

export const activeSites = ["auto", "primary", "secondary"] as const;

export const dns = z
  .object({
    /** Route 53 hosted zone (typically private, associated with the application VPCs). */
    zoneId: z.string().regex(/^Z[A-Z0-9]{4,31}$/, "a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ"),
    /** The name the application connects to. Default db.fp.internal. */
    serviceName: z.string().regex(/^[a-z0-9.-]+$/).default("db.fp.internal"),
    /** TTL of the failover records; short so that a swap takes effect quickly. Default 30 s. */
    ttl: z.number().int().min(5).max(3600).default(30),
    /**
     * The current primary: both records answer that site, whatever the health check says (the
     * automation's verified, forced swap sets it). Default "primary". "auto" hands the choice
     * to Route 53's health check and needs automaticFailover: true (see its risk there).
     */
    activeSite: z.enum(activeSites).default("primary"),
    /**
     * Opt in to Route 53 answering the secondary by itself when the primary's health check
     * fails (activeSite "auto"). Default false. The risk: Route 53 moves the application to a
     * standby that nobody fenced, caught up or promoted; it is still read-only (writes fail) or,
     * if promoted later by hand, the old primary may come back and take writes too (split
     * brain). A health check also fails on a partition that leaves the primary running. Keep it
     * off unless the standby is promoted by the same signal and the old primary is fenced.
     */
    automaticFailover: z.boolean().default(false),
    /** Where the primary's address comes from: its stack's outputs, or a fixed address. */
    primary: z
      .object({
        /** Fully qualified Pulumi stack name of the primary, e.g. acme/fp-dr/primary. */
        stack: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, "org/project/stack").optional(),
        address: z.ipv4().optional(),
      })
      .strict(),
  })
  .strict();

export const access = z
  .object({
    /**
     * How Pulumi reaches the host for the database objects and the restore command: "ssm"
     * (the automation opens SSM port forwards to ssh.localPort / postgres.localPort) or
     * "bastion" (SSH jump host; PostgreSQL reached directly over the private network).
     */
    via: z.enum(["ssm", "bastion"]).default("ssm"),
    /**
     * Declare the resources that connect to the host (readiness gate, database objects,
     * restore). False on a site's first `pulumi up`: the SSM tunnel needs the instance id.
     */
    hostReachable: z.boolean().default(false),
    ssh: z
      .object({
        /** Login user (Debian AMIs: admin). */
        user: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/).default("admin"),
        /** Public key installed for that user; its private half is the secret sshPrivateKey. */
        publicKey: z.string().regex(/^(ssh-ed25519|ecdsa-sha2-nistp\d+|ssh-rsa) [A-Za-z0-9+/=]+( .*)?$/, "an OpenSSH public key line").optional(),
        /**
         * ssm: the local end of the SSM port forward to port 22. Default 2222; a drill's default
         * is derived from its id (infra/config/ports.ts: 22000–22999), so that a drill's
         * forwards never collide with the standing sites' on the machine running `dr`.
         */
        localPort: z.number().int().min(1).max(65535).optional(),
      })
      .strict()
      .prefault({}),
    postgres: z
      .object({
        /**
         * ssm: local end of the port forward to 5432; bastion: the host's port. Default 15432;
         * a drill's default is derived from its id (infra/config/ports.ts: 25000–25999).
         */
        localPort: z.number().int().min(1).max(65535).optional(),
        /** libpq sslmode of the provider; the server always offers TLS. Default require. */
        sslmode: z.enum(["require", "verify-ca", "verify-full"]).default("require"),
        /**
         * Superuser the provider and the automation log in as (password: secret adminPassword;
         * the automation verifies and opens restored clusters as this role).
         */
        username: sqlIdentifier.default("fp_admin"),
        connectTimeout: z.number().int().min(1).max(300).default(15),
      })
      .strict()
      .prefault({}),
    bastion: z
      .object({
        host: z.string().min(1),
        user: z.string().min(1).default("ec2-user"),
        port: z.number().int().min(1).max(65535).default(22),
        /** The bastion's security group: the only source allowed to reach port 22. */
        securityGroupId: securityGroupId,
      })
      .strict()
      .optional(),
  })
  .strict()
  .prefault({});

/**
 * The optional stream from the primary to the warm standby, over a path between the two site
 * VPCs. The path is VPC peering with routes, not a Transit Gateway: two VPCs in two regions
 * need one connection, no hourly attachment charges or per-GB processing fee beyond inter-region
 * transfer, and nothing transitive (peering does not route to third networks, which is what we
 * want for a replication path). Cross-region peering is requested by the secondary stack (it
 * already reads the primary's outputs) and accepted by the primary stack, each stack touching
 * only its own region. Without the stream the standby still replays from the archive.
 */
export const replication = z
  .object({
    /** Stream WAL from the primary to the standby (in addition to the archive). Default false. */
    stream: z.boolean().default(false),
    /** Replication role on every site that can be primary (password: secret replicationPassword). */
    role: sqlIdentifier.default("fp_replication"),
    /** Physical slot the standby of this pair streams through; on the primary. Default fp_standby. */
    slot: z.string().regex(/^[a-z0-9_]{1,63}$/, "lowercase letters, digits and '_'").default("fp_standby"),
    /** The other site's VPC: the only source allowed to replicate (pg_hba, security group, routes). */
    peer: z
      .object({
        /** The other site VPC's range; must not overlap vpcCidr. */
        cidr: sourceCidr,
        /** Its region (cross-region peering). */
        region: awsRegion,
        /** Secondary stack: the primary's VPC id (requester side). Default: the primary stack's output vpcId (dns.primary.stack). */
        vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, "a VPC id such as vpc-0123456789abcdef0").optional(),
        /** Primary stack: the peering connection the secondary requested (its output), to accept. */
        peeringConnectionId: z.string().regex(/^pcx-[0-9a-f]{8,17}$/, "a peering connection id such as pcx-0123456789abcdef0").optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .prefault({});

export const databaseObjects = z
  .object({
    /** Declare the app database, roles and extensions. Default: on the primary only (the writer). */
    manageObjects: z.boolean().optional(),
    roles: z
      .object({
        app: sqlIdentifier.default("fp_app"),
        backup: sqlIdentifier.default("fp_backup"),
        verifier: sqlIdentifier.default("fp_verifier"),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

/**
 * The scheduled drill runner (secondary stack): EventBridge Scheduler starts an ECS Fargate task
 * on `schedules.drill` running `dr drill` with a role bounded to drill-tagged resources.
 */
export const drillRunner = z
  .object({
    /** Container image with the fp-dr toolkit, the Pulumi CLI and this project (dr drill runs in it). Required. */
    image: z.string().min(1),
    /** Fargate CPU units. Default 1024. */
    cpu: z.number().int().default(1024),
    /** Fargate memory (MiB). Default 2048. */
    memoryMiB: z.number().int().default(2048),
    /** The Pulumi state bucket; default the bootstrap stack's in the primary region (infra/naming.ts). */
    stateBucket: z.string().optional(),
  })
  .strict();

/** Keys whose values must be Pulumi secrets (`pulumi config set --secret fp-dr:<key>`). */
export const secretKeys = ["repoCipherPass", "adminPassword", "appPassword", "backupPassword", "verifierPassword", "sshPrivateKey", "replicationPassword"] as const;
export type SecretKey = (typeof secretKeys)[number];

const secret = z.string().min(1, "must not be empty");

export const stackConfigSchema = z
  .object({
    /** primary, secondary or drill. */
    role: z.enum(siteRoles),
    /** From aws:region: where every resource of this stack lives. */
    region: awsRegion,
    /** Environment name shared by the stacks of one deployment (production, staging). */
    environment: environmentName.default("production"),
    /** Site name (metric dimension, resource names); default the role, drill-<id> for drills. */
    site: identifier.optional(),
    /** pgBackRest stanza. Default fp. */
    stanza: identifier.default("fp"),
    /** The application database. */
    database: sqlIdentifier.default("financial_planning"),
    /** The other region (repo2); required for primary and secondary. */
    offsite: offsite.optional(),
    network,
    host,
    repository,
    objectives,
    alerts: alertThresholds,
    schedules,
    /** Daily maintenance (vacuum, analyze) of the writer: a systemd OnCalendar expression. */
    maintenanceSchedule: z.string().min(1).default("*-*-* 02:30:00"),
    pgbackrest: pgbackrestTuning,
    /** Extra PostgreSQL settings of the host's server (shared with the dr config). */
    serverSettings,
    escalation,
    alerting,
    incidentManager,
    /** Route 53 failover records; owned by the secondary stack. */
    dns: dns.optional(),
    access,
    databaseObjects,
    replication,
    restore: restoreRequest.optional(),
    /** The scheduled drill runner; declared by the secondary stack only. Default none. */
    drillRunner: drillRunner.optional(),
    /** Promotion of this site's standby (written by the automation); absent: nothing to promote. */
    promote: promoteRequest.optional(),
    /** Fencing of this site's host (isolation or stop); absent: the host serves normally. */
    fence: fence.optional(),
    /** A replacement host for the primary site after a hardware failure (written by the automation). */
    replacement: replacement.optional(),
    drill: drill.optional(),
    /**
     * Where the environment's shared state is (the lease, journals and the control state the
     * program lays over this declaration): the secondary stack's shared-state bucket. Absent: no
     * control state is read (a stack outside any recovery).
     */
    sharedState: sharedStateLocation.optional(),
    /** Pulumi `protect` on the data volume, bucket and key. Default: true except for drills. */
    protect: z.boolean().optional(),
    repoCipherPass: secret.min(20, "must be at least 20 characters").optional(),
    /**
     * Password of access.postgres.username. Required wherever database objects are managed
     * and on the secondary and drill roles: the automation connects as this role to the
     * restored cluster (which carries the primary's roles, so it is the primary's password).
     */
    adminPassword: secret.min(16, "must be at least 16 characters").optional(),
    appPassword: secret.min(16, "must be at least 16 characters").optional(),
    backupPassword: secret.min(16, "must be at least 16 characters").optional(),
    verifierPassword: secret.min(16, "must be at least 16 characters").optional(),
    /**
     * Password of replication.role, its own secret (not the admin's): generate it once
     * (`openssl rand -base64 32 | pulumi config set --secret fp-dr:replicationPassword`) with the
     * same value on both stacks. Required while replication.stream is on.
     */
    replicationPassword: secret.min(24, "must be at least 24 characters").optional(),
    sshPrivateKey: secret.regex(/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "an OpenSSH/PEM private key").optional(),
  })
  .strict();

export type StackConfigInput = z.input<typeof stackConfigSchema>;
export type StackConfig = z.output<typeof stackConfigSchema>;
