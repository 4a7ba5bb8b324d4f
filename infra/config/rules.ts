// Rules that relate several keys of the stack config (role ↔ required blocks and secrets,
// escalation ↔ contacts, restore ↔ access, port forwards ↔ role). They read the raw input
// defensively instead of being zod refinements, because zod skips refinements once any field
// is invalid, and an operator should see every problem of a stack file in one run.
import { escalation as escalationSchema } from "../../automation/config/common";
import { overlaps, parseCidr } from "../network/cidr";
import { defaultLocalPorts } from "./ports";

/** The restore request's recovery targets (at most one may be given). */
const restoreTargetKeys = ["targetTime", "targetLsn", "targetName"] as const;

export interface RuleIssue {
  path: (string | number)[];
  message: string;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);
const present = (v: unknown): boolean => v !== undefined && v !== null && v !== "";

/** Whether the stack declares the app database, roles and extensions (default: primary only). */
export function managesDatabaseObjects(raw: Obj): boolean {
  const explicit = obj(raw.databaseObjects)?.manageObjects;
  return typeof explicit === "boolean" ? explicit : raw.role === "primary";
}

export function crossFieldIssues(raw: Obj): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const add = (path: (string | number)[], message: string) => issues.push({ path, message });
  const role = raw.role;
  const offsite = obj(raw.offsite);
  const access = obj(raw.access) ?? {};
  const restore = obj(raw.restore);
  const dns = obj(raw.dns);

  // Role-specific blocks.
  if (role === "primary" || role === "secondary") {
    if (!offsite) add(["offsite"], `required for the ${role} role: the other region's repository (repo2)`);
    else if (present(offsite.region) && offsite.region === raw.region) add(["offsite", "region"], "must differ from aws:region: an offsite copy in the same region does not survive a region outage");
    if (present(raw.drill)) add(["drill"], "only a drill stack has a drill block");
  }
  if (role === "primary" && dns) add(["dns"], "DNS is owned by the secondary stack (it must stay operable while the primary region is down); move this block to Pulumi.secondary.yaml");
  if (role === "secondary") {
    if (!dns) add(["dns"], "required for the secondary role: it owns the failover records");
    else {
      const p = obj(dns.primary);
      if (p && present(p.stack) === present(p.address)) add(["dns", "primary"], "give exactly one of stack (the primary's Pulumi stack) or address");
    }
  }
  // A drill's restore request arrives after its host exists (`dr drill` creates the stack
  // without one, then writes it once the host is reachable), so it is not required here.
  if (role === "drill" && !present(raw.drill)) add(["drill"], "required for the drill role: id and expiresAt");

  // Secrets that other settings make necessary.
  const cipher = obj(raw.repository)?.cipher;
  if (cipher !== false && !present(raw.repoCipherPass)) add(["repoCipherPass"], "required while repository.cipher is on: pulumi config set --secret fp-dr:repoCipherPass <passphrase>");
  const manages = managesDatabaseObjects(raw);
  if (role === "drill" && obj(raw.databaseObjects)?.manageObjects === true) add(["databaseObjects", "manageObjects"], "a drill restores the production copy, which already holds its roles and extensions");
  if (manages) {
    for (const key of ["adminPassword", "appPassword", "backupPassword", "verifierPassword"]) {
      if (!present(raw[key])) add([key], `required while the stack manages database objects: pulumi config set --secret fp-dr:${key} <password>`);
    }
  } else if ((role === "secondary" || role === "drill") && !present(raw.adminPassword)) {
    add(["adminPassword"], `required for the ${role} role: the automation verifies and opens the restored cluster as access.postgres.username, whose password there is the primary's (the cluster is a copy); pulumi config set --secret fp-dr:adminPassword <the primary's adminPassword>`);
  }
  if (access.hostReachable === true) {
    if (!present(raw.sshPrivateKey)) add(["sshPrivateKey"], "required while access.hostReachable is true (commands run over SSH): pulumi config set --secret fp-dr:sshPrivateKey < key");
    if (!present(obj(access.ssh)?.publicKey)) add(["access", "ssh", "publicKey"], "required while access.hostReachable is true: the public half of sshPrivateKey");
  }
  if (access.via === "bastion" && !obj(access.bastion)) add(["access", "bastion"], "required when access.via is bastion");
  const sshPort = obj(access.ssh)?.localPort;
  const pgPort = obj(access.postgres)?.localPort;
  if (sshPort !== undefined && sshPort === pgPort) add(["access", "postgres", "localPort"], "must differ from access.ssh.localPort: each port forward needs its own local port");
  if (role === "drill") {
    for (const [path, port, standing] of [[["access", "ssh", "localPort"], sshPort, defaultLocalPorts.ssh], [["access", "postgres", "localPort"], pgPort, defaultLocalPorts.postgres]] as const) {
      if (port === standing) add([...path], `${standing} is the standing sites' port forward: a drill running beside them needs its own (leave it out for the one derived from the drill id)`);
    }
  }

  // The restore request: at most one target; a standby has none; without a target, a set.
  if (restore) {
    if (access.hostReachable !== true) add(["restore"], "a restore runs on the host: set access.hostReachable to true once the automation can reach it");
    const standby = restore.mode === "standby";
    const targets = restoreTargetKeys.filter((k) => present(restore[k]));
    if (targets.length > 1) add(["restore"], `give at most one recovery target, not ${targets.join(" and ")}`);
    if (!standby && targets.length === 0 && !present(restore.set)) add(["restore"], "give set (a backup label) or a target (targetTime, targetLsn or targetName), or mode: standby");
    if (standby) for (const k of targets) add(["restore", k], "a standby replays to the end of the archive; a target needs mode: pause (read-only at the target) or promote");
    if (restore.allowOverwrite === true && role === "drill") add(["restore", "allowOverwrite"], "a drill restores onto its own fresh host; overwrite makes no sense here");
  }

  // A standby request may point at a primary; anything else never streams.
  if (restore && present(restore.primaryHost) && restore.mode !== "standby") add(["restore", "primaryHost"], "only a standby (mode: standby) streams from a primary");
  if (present(raw.promote) && access.hostReachable !== true) add(["promote"], "a promotion runs on the host: set access.hostReachable to true once the automation can reach it");
  // A hardware failure replaces the primary's host in its own region; other sites are rebuilt.
  if (present(raw.replacement) && role !== "primary") add(["replacement"], "only the primary stack declares a replacement host (hardware failure); restore another site in place");

  // DNS: forced to the current primary; Route 53's own failover only when opted in.
  if (dns && dns.activeSite === "auto" && dns.automaticFailover !== true) {
    add(["dns", "activeSite"], "\"auto\" lets Route 53 move the service name to an unpromoted, unfenced standby: set dns.automaticFailover: true to accept that risk, or name the current primary");
  }

  // Every site that can become primary archives asynchronously with a bounded queue (default
  // from the data volume, infra/config/resolve.ts): when a repository is unreachable, WAL piles
  // up in pg_wal until the disk is full and the primary stops; archive-push-queue-max drops WAL
  // from the queue instead (the archive gets a gap the next backup closes; the database stays up).
  if (role === "primary" || role === "secondary") {
    const pgb = obj(raw.pgbackrest) ?? {};
    if (pgb.archiveAsync === false) add(["pgbackrest", "archiveAsync"], `must be on for the ${role} role (it can become primary): archive-push-queue-max only bounds asynchronous archiving`);
    if (present(pgb.archivePushQueueMax) && (typeof pgb.archivePushQueueMax !== "string" || !/^\d+(KiB|MiB|GiB|TiB)$/.test(pgb.archivePushQueueMax))) {
      add(["pgbackrest", "archivePushQueueMax"], "a pgBackRest size such as 20GiB");
    }
  }

  // The stream: its own secret, a peer network distinct from this one, and the primary side
  // accepting the connection the secondary requested.
  const repl = obj(raw.replication);
  // A drill ignores the block (it is the secondary's file with overrides, and never streams).
  if (repl?.stream === true && role !== "drill") {
    if (!present(raw.replicationPassword)) add(["replicationPassword"], "required while replication.stream is on: openssl rand -base64 32 | pulumi config set --secret fp-dr:replicationPassword (the same on both stacks)");
    const peer = obj(repl.peer);
    if (!peer) add(["replication", "peer"], "required while replication.stream is on: the other site's VPC (cidr, region)");
    else {
      const myCidr = typeof obj(raw.network)?.vpcCidr === "string" ? (obj(raw.network)!.vpcCidr as string) : "10.20.0.0/16";
      if (typeof peer.cidr === "string" && parseCidr(peer.cidr) && parseCidr(myCidr) && overlaps(myCidr, peer.cidr)) add(["replication", "peer", "cidr"], `overlaps the site's vpcCidr ${myCidr}; peered VPCs need distinct ranges`);
      if (present(peer.region) && peer.region === raw.region) add(["replication", "peer", "region"], "must be the other region (the standby site's VPC is in the offsite region)");
      if (present(offsite?.region) && present(peer.region) && peer.region !== offsite!.region) add(["replication", "peer", "region"], `must be the offsite region ${String(offsite!.region)}: the standby pairs with the other site`);
      if (role === "secondary" && !present(peer.vpcId) && !present(obj(dns?.primary)?.stack)) add(["replication", "peer", "vpcId"], "required unless dns.primary.stack names the primary's stack (its output vpcId)");
    }
  }

  // Escalation contacts, when Incident Manager is declared.
  const im = obj(raw.incidentManager);
  if (im?.enabled === true) {
    const contacts = obj(im.contacts) ?? {};
    const parsed = escalationSchema.safeParse(raw.escalation);
    if (parsed.success) {
      parsed.data.stages.forEach((s, i) => {
        if (!(s.contact in contacts)) add(["escalation", "stages", i, "contact"], `"${s.contact}" is not defined in incidentManager.contacts`);
      });
    }
    if (role === "drill") add(["incidentManager", "enabled"], "a drill does not page anyone");
  }

  // Alarms nobody hears are not alarms.
  if (role === "primary" || role === "secondary") {
    const subs = obj(obj(obj(raw.alerting)?.subscriptions) ?? {});
    const critical = subs?.critical;
    if (!Array.isArray(critical) || critical.length === 0) add(["alerting", "subscriptions", "critical"], "at least one subscription: the runbook's critical alerts need an immediate response");
  }

  // The application network must not overlap the site's.
  const network = obj(raw.network);
  const vpc = typeof network?.vpcCidr === "string" ? network.vpcCidr : "10.20.0.0/16";
  const peering = obj(obj(network?.application)?.peering);
  if (peering && typeof peering.cidr === "string" && parseCidr(peering.cidr) && parseCidr(vpc) && overlaps(vpc, peering.cidr)) {
    add(["network", "application", "peering", "cidr"], `overlaps the site's vpcCidr ${vpc}; peered networks need distinct ranges`);
  }
  return issues;
}
