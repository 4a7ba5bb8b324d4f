// From a validated stack config to the plan of one site: what the role implies. A drill is the
// secondary program with drill overrides (own isolated network, no DNS, no alarms or paging,
// the production instance type unless told otherwise, drill tags, nothing protected, no bucket of its own: it reads the region's
// production repository; its own port forwards). Pure, so the role rules are tested without
// Pulumi.
import type { StackConfig } from "./schema";
import type { SiteRole } from "../../automation/config/schema";
import { localPortsFor, type LocalPorts } from "./ports";

export interface SitePlan {
  role: SiteRole;
  environment: string;
  /** Site name: metric dimension, resource names ("primary", "secondary", "drill-<id>"). */
  site: string;
  region: string;
  /** The other region's repository (repo2); none for a drill, which only reads repo1. */
  offsite?: { region: string; site: string; bucket?: string };
  instanceType: string;
  /** EC2 termination protection: the primary only. */
  terminationProtection: boolean;
  /** Pulumi `protect` on stateful resources. */
  protect: boolean;
  /** The host archives WAL and runs scheduled backups (not a drill). */
  writer: boolean;
  /**
   * The host may write the production repositories: the primary, and the secondary only while
   * it is the active site (dns.activeSite, set by the failover's DNS swap); a standby and a
   * drill read them.
   */
  writesRepositories: boolean;
  /** The stack creates this region's backup bucket and key (not a drill). */
  ownsRepository: boolean;
  alarms: boolean;
  incidentManager: boolean;
  dns: boolean;
  databaseObjects: boolean;
  /** Where the application connects from; empty for a drill (no route from the application). */
  application: StackConfig["network"]["application"];
  /** Local ends of the SSM port forwards to the host (infra/config/ports.ts). */
  localPorts: LocalPorts;
  /**
   * The host is fenced: its only security group is the isolation group, and for "stop" the
   * instance is stopped. Nothing is deleted.
   */
  fence?: StackConfig["fence"];
  /**
   * pgBackRest archive-push-queue-max of a site that can become primary: the configured size,
   * else a quarter of the data volume (pg_wal lives on it; the queue must give up on WAL
   * before the disk fills). None for a drill, which archives nothing.
   */
  archivePushQueueMax?: string;
  /**
   * The stream between the sites (primary: the role, slot and accepted peering; secondary: the
   * requested peering and primary_conninfo of its standby). None: the standby replays the archive only.
   */
  replication?: { role: string; slot: string; peer: NonNullable<StackConfig["replication"]["peer"]> };
  /** Tags on every resource (provider default tags). */
  tags: Record<string, string>;
  config: StackConfig;
}

const otherSite: Record<SiteRole, string> = { primary: "secondary", secondary: "primary", drill: "primary" };

export function resolveSite(config: StackConfig): SitePlan {
  const role = config.role;
  const drill = role === "drill";
  const site = config.site ?? (drill && config.drill ? `drill-${config.drill.id}` : role);
  const tags: Record<string, string> = {
    "fp-dr:environment": config.environment,
    "fp-dr:site": site,
    "fp-dr:role": role,
    "managed-by": "pulumi/fp-dr",
  };
  if (drill && config.drill) {
    tags["fp-dr:drill-id"] = config.drill.id;
    tags["fp-dr:expires-at"] = config.drill.expiresAt;
  }
  return {
    role,
    environment: config.environment,
    site,
    region: config.region,
    offsite: !drill && config.offsite ? { region: config.offsite.region, site: config.offsite.site ?? otherSite[role], bucket: config.offsite.bucket } : undefined,
    instanceType: (drill ? config.drill?.instanceType : undefined) ?? config.host.instanceType,
    terminationProtection: role === "primary",
    protect: config.protect ?? !drill,
    writer: !drill,
    writesRepositories: role === "primary" || (role === "secondary" && config.dns?.activeSite === "secondary"),
    ownsRepository: !drill,
    alarms: !drill,
    incidentManager: !drill && config.incidentManager.enabled,
    dns: role === "secondary" && config.dns !== undefined,
    databaseObjects: !drill && (config.databaseObjects.manageObjects ?? role === "primary") && config.access.hostReachable,
    application: drill ? { cidrs: [], securityGroupIds: [], peering: undefined } : config.network.application,
    localPorts: localPortsFor({ role, drillId: config.drill?.id }, { ssh: config.access.ssh.localPort, postgres: config.access.postgres.localPort }),
    fence: config.fence,
    archivePushQueueMax: drill ? undefined : config.pgbackrest.archivePushQueueMax ?? `${Math.max(1, Math.floor(config.host.dataVolumeGiB / 4))}GiB`,
    replication:
      !drill && config.replication.stream && config.replication.peer
        ? { role: config.replication.role, slot: config.replication.slot, peer: config.replication.peer }
        : undefined,
    tags,
    config,
  };
}
