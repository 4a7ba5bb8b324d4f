// A lab site: its cluster, its pgBackRest configuration and the PostgreSQL settings every site
// runs with. All sites share the two repositories, as the AWS sites do: repo1 is the primary
// region's repository (a directory here), repo2 the offsite one in the standby region (the
// lab's S3 store). A datacenter failover restores from repo2 only, as if repo1 were lost.
import { chownSync, writeFileSync } from "node:fs";
import type { DrConfig } from "../../config/schema";
import { archiveCommands, renderPgbackrestConf, type PgbackrestConfigSpec } from "../../pgbackrest/config-file";
import { Pgbackrest } from "../../pgbackrest/client";
import { Cluster } from "../../postgres/cluster";
import type { ServiceUser } from "../../system/service-user";
import { refuseWhenFenced } from "./fence-archive";
import type { LabLayout } from "./layout";
import type { LabSecrets } from "./secrets";
import type { LabState } from "./state";

export interface LabSite {
  name: string;
  role: string;
  address: string;
  port: number;
  cluster: Cluster;
  pgbackrest: Pgbackrest;
  configPath: string;
}

export interface SiteContext {
  layout: LabLayout;
  state: LabState;
  secrets: LabSecrets;
  config: DrConfig;
  user: ServiceUser;
}

/** The pgBackRest settings for one site, before rendering. */
export function sitePgbackrestSpec(ctx: SiteContext, site: string, dataDir = ctx.layout.dataDir(site), runDir = ctx.layout.runDir(site), port = ctx.state.port): PgbackrestConfigSpec {
  const { layout, state, secrets, config } = ctx;
  const s3 = state.objectStore;
  return {
    stanza: state.stanza,
    pgPath: dataDir,
    pgPort: port,
    pgSocketPath: runDir,
    repos: [
      {
        index: 1,
        type: "posix",
        path: layout.repo1Dir,
        cipherPass: config.repositories.local.cipher ? secrets.repo1CipherPass : undefined,
        retentionFull: config.repositories.local.retention.full,
        retentionDiff: config.repositories.local.retention.diff,
      },
      {
        index: 2,
        type: "s3",
        path: config.repositories.offsite.path,
        s3: {
          bucket: s3.bucket,
          endpoint: s3.endpoint,
          region: s3.region,
          host: s3.host,
          port: s3.port,
          uriStyle: s3.uriStyle,
          caFile: s3.caFile,
          verifyTls: true,
          keyType: "shared",
          key: secrets.s3AccessKey,
          keySecret: secrets.s3SecretKey,
        },
        cipherPass: config.repositories.offsite.cipher ? secrets.repo2CipherPass : undefined,
        retentionFull: config.repositories.offsite.retention.full,
        retentionDiff: config.repositories.offsite.retention.diff,
      },
    ],
    logPath: `${layout.pgbackrestDir}/log`,
    // One lock directory per site, as each site is a host of its own: archive-push on the primary
    // and archive-get on a standby take the same stanza "archive" lock, and a shared directory
    // makes one fail while the other runs.
    lockPath: `${layout.pgbackrestDir}/lock/${site}`,
    spoolPath: `${layout.pgbackrestDir}/spool-${site}`,
    tuning: config.pgbackrest,
  };
}

/** Writes the site's pgbackrest.conf (0600, the service user's: it holds the cipher passphrases). */
export function writeSitePgbackrestConf(ctx: SiteContext, site: string, spec = sitePgbackrestSpec(ctx, site), path = ctx.layout.pgbackrestConf(site)): string {
  writeFileSync(path, renderPgbackrestConf(spec), { mode: 0o600 });
  if (ctx.user.switched) chownSync(path, ctx.user.uid, ctx.user.gid);
  return path;
}

/** The site's archive_command: pgBackRest's archive-push, refused while the site is fenced. */
export function siteArchiveCommand(ctx: SiteContext, configPath: string): string {
  return refuseWhenFenced(archiveCommands(configPath, ctx.state.stanza).archive_command);
}

/** PostgreSQL settings for a lab site: archiving through pgBackRest, what health checks read. */
export function siteServerSettings(ctx: SiteContext, configPath: string): Record<string, string | number | boolean> {
  return {
    wal_level: "replica",
    archive_mode: "on",
    archive_command: siteArchiveCommand(ctx, configPath),
    // A partly filled segment is archived after this long, which bounds the RPO of an outage.
    archive_timeout: ctx.state.archiveTimeoutSeconds,
    max_wal_senders: 10,
    wal_keep_size: "256MB",
    shared_preload_libraries: "pg_stat_statements",
    // Commit timestamps let a restored site say exactly which commit it ends with (RPO).
    track_commit_timestamp: true,
    track_io_timing: true,
    shared_buffers: "256MB",
    max_wal_size: "2GB",
    checkpoint_timeout: "5min",
    max_connections: 100,
    log_min_duration_statement: "5s",
    hot_standby: true,
  };
}

export function labSite(ctx: SiteContext, name: string): LabSite {
  const entry = ctx.state.sites[name];
  const port = entry.port ?? ctx.state.port;
  const configPath = ctx.layout.pgbackrestConf(name);
  return {
    name,
    role: entry.role,
    address: entry.address,
    port,
    configPath,
    cluster: new Cluster({
      dataDir: ctx.layout.dataDir(name),
      runDir: ctx.layout.runDir(name),
      host: entry.address,
      port,
      user: ctx.user,
      password: ctx.secrets.superuserPassword,
    }),
    pgbackrest: new Pgbackrest({ configPath, stanza: ctx.state.stanza, user: ctx.user, stallTimeoutMs: ctx.config.pgbackrest.stallTimeout * 1000 }),
  };
}
