// A site: everything one stack declares, composed from one component per concern. The plan
// (infra/config/resolve.ts) says what the role implies; this file only wires the pieces in
// the order the runbook needs them: network, repository, host, alarms and escalation, DNS,
// then (once the host is reachable) readiness, restore and database objects. A fence (config
// fp-dr:fence) changes only the host: its security groups, and for "stop" its power state.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { amiArchitecture } from "../ami";
import type { HostSpec } from "../cloud-init/host-spec";
import type { SitePlan } from "../config/resolve";
import { schedulerCron } from "../drills/calendar";
import { alarmName, backupBucketName, childName, cipherPassSecretName, hostRoleName, hostSpecParameterName, secretsKeyAlias, sharedStateBucketName, stateBucketName } from "../naming";
import { SharedState } from "./shared-state";
import type { SiteOutputs } from "../outputs";
import { hostPolicy, type HostRepositoryAccess } from "../policies/documents";
import { BackupRepository } from "./backup-repository";
import { DatabaseObjects } from "./database-objects";
import { DrillRunner } from "./drill-runner";
import { Escalation } from "./escalation";
import { FailoverDns } from "./failover-dns";
import { HostConfig } from "./host-config";
import { HostReady, type SshConnection } from "./host-ready";
import { KeyTamperAlarm } from "./key-tamper-alarm";
import { PassphraseEscrow } from "./passphrase-escrow";
import { Network } from "./network";
import { PostgresHost } from "./postgres-host";
import { ReplicationPath } from "./replication-path";
import { Restore } from "./restore";
import { Promote, StandbyStream } from "./standby-roles";
import { RunbookAlarms } from "./runbook-alarms";
import { SeverityTopics } from "./severity-topics";

export interface SiteArgs {
  /** What the stack's role implies, from its validated config. Required. */
  plan: SitePlan;
  /** The AWS provider of the site's region; every child and lookup uses it. Required. */
  provider: aws.Provider;
}

export class Site extends pulumi.ComponentResource {
  readonly outputs: pulumi.Output<SiteOutputs>;

  constructor(name: string, args: SiteArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fp-dr:site:Site", name, {}, { ...opts, providers: [args.provider] });
    const { plan, provider } = args;
    const cfg = plan.config;
    const n = (part: string) => childName(name, part);
    const parent = { parent: this };
    const secret = (value: string | undefined) => (value === undefined ? undefined : pulumi.secret(value));

    const accountId = aws.getCallerIdentityOutput({}, { parent: this, provider }).accountId;
    const partition = aws.getPartitionOutput({}, { parent: this, provider }).partition;

    // 1. Network.
    const app = plan.application;
    const network = new Network(
      n("network"),
      {
        cidr: cfg.network.vpcCidr,
        region: plan.region,
        natGateway: cfg.network.natGateway,
        interfaceEndpoints: cfg.network.interfaceEndpoints,
        applicationCidrs: app.cidrs,
        applicationSecurityGroupIds: app.securityGroupIds,
        applicationPeering: app.peering,
        bastionSecurityGroupId: cfg.access.via === "bastion" ? cfg.access.bastion?.securityGroupId : undefined,
        provider,
      },
      parent,
    );

    // 2. Repositories: this region's (declared here unless a drill, which only reads it) and
    //    the other region's, known by name only: no resource or provider over there.
    const repo1Bucket = cfg.repository.bucket ? pulumi.output(cfg.repository.bucket) : accountId.apply((a) => backupBucketName(plan.environment, plan.region, a));
    const repository = plan.ownsRepository
      ? new BackupRepository(
          n("repository"),
          {
            bucketName: repo1Bucket,
            environment: plan.environment,
            accountId,
            partition,
            objectLockMode: cfg.repository.objectLockMode,
            retentionDays: cfg.repository.retention.days,
            protect: plan.protect,
          },
          parent,
        )
      : undefined;
    const offsite = plan.offsite;
    const repo2Bucket = offsite ? (offsite.bucket ? pulumi.output(offsite.bucket) : accountId.apply((a) => backupBucketName(plan.environment, offsite.region, a))) : undefined;

    // 2b. The repository passphrase, escrowed where hosts and operators read it without the
    //     Pulumi backend: the primary declares it, replicated to the other region.
    const cipherSecret = cfg.repository.cipher ? { name: cipherPassSecretName(plan.environment), region: plan.region } : undefined;
    if (cipherSecret && plan.role === "primary" && cfg.repoCipherPass !== undefined) {
      new PassphraseEscrow(
        n("passphrase"),
        { secretName: cipherSecret.name, passphrase: secret(cfg.repoCipherPass)!, replicaRegions: offsite ? [offsite.region] : [], protect: plan.protect },
        parent,
      );
    }

    // 3. The PostgreSQL host.
    const repoPath = cfg.repository.path;
    // A standby reads the production repositories; it writes them (archives, backs up, expires)
    // only once it is the active site: the failover's DNS swap sets that and updates this policy.
    const writes = plan.writesRepositories;
    // A drill's host lives for an hour and its config never changes: no host-apply wiring.
    const hostSpecParameter = plan.role === "drill" ? undefined : { name: hostSpecParameterName(plan.environment, plan.site), region: plan.region };
    const policy = pulumi.all([accountId, partition, repo1Bucket, repo2Bucket ?? ""]).apply(([account, part, b1, b2]) => {
      const repositories: HostRepositoryAccess[] = [{ bucket: b1, region: plan.region, path: repoPath, write: writes }];
      if (offsite && b2) repositories.push({ bucket: b2, region: offsite.region, path: repoPath, write: writes });
      return hostPolicy({ partition: part, accountId: account, environment: plan.environment, repositories, toolkitUrl: cfg.host.toolkitUrl, cipherPassSecret: cipherSecret, hostSpecParameter });
    });
    const clientCidrs = [...app.cidrs, ...(app.peering ? [app.peering.cidr] : []), cfg.network.vpcCidr];
    const spec: pulumi.Output<Omit<HostSpec, "dataVolumeId">> = pulumi
      .all([repo1Bucket, repo2Bucket ?? ""])
      .apply(([b1, b2]) => ({
        role: plan.role,
        environment: plan.environment,
        site: plan.site,
        region: plan.region,
        stanza: cfg.stanza,
        database: cfg.database,
        serviceName: cfg.dns?.serviceName ?? "db.fp.internal",
        repo1: { bucket: b1, region: plan.region, path: repoPath, retention: cfg.repository.retention },
        repo2: offsite && b2 ? { bucket: b2, region: offsite.region, path: repoPath, retention: cfg.repository.retention } : undefined,
        cipherPassSecret: cipherSecret,
        writer: plan.writer,
        objectives: cfg.objectives,
        schedules: cfg.schedules,
        maintenanceSchedule: cfg.maintenanceSchedule,
        alerts: cfg.alerts,
        pgbackrest: { ...cfg.pgbackrest, archivePushQueueMax: plan.archivePushQueueMax },
        settings: cfg.serverSettings,
        replication: plan.replication ? { role: plan.replication.role, peerCidr: plan.replication.peer.cidr } : undefined,
        clientCidrs,
        roles: { ...cfg.databaseObjects.roles, admin: cfg.access.postgres.username },
        toolkitUrl: cfg.host.toolkitUrl,
        architecture: amiArchitecture(plan.instanceType),
        sshPublicKey: cfg.access.ssh.publicKey,
      }));
    const hostArgs = {
      spec,
      instanceType: plan.instanceType,
      dataVolumeGiB: cfg.host.dataVolumeGiB,
      dataVolumeIops: cfg.host.dataVolumeIops,
      dataVolumeThroughputMiBs: cfg.host.dataVolumeThroughputMiBs,
      rootVolumeGiB: cfg.host.rootVolumeGiB,
      amiId: cfg.host.amiId,
      terminationProtection: plan.terminationProtection,
      protect: plan.protect,
      policy,
      provider,
    };
    const host = new PostgresHost(
      n("host"),
      {
        ...hostArgs,
        subnetId: network.privateSubnetIds[0],
        availabilityZone: network.availabilityZones[0],
        // Fenced: the isolation group alone (no ingress, no egress); else the database group.
        securityGroupIds: plan.fence ? [network.isolationSecurityGroupId] : [network.databaseSecurityGroupId],
        fence: plan.fence,
        roleName: hostRoleName(plan.environment, plan.site),
      },
      // The role must be able to use the key before the host first backs up.
      { parent: this, dependsOn: repository ? [repository] : [] },
    );

    // 3a. Hardware failure: a replacement host in the site's other availability zone, on a new
    //     data volume (restored from the repository); a fence stays on the old host. Once the
    //     automation reaches it, everything bound to "the site's host" below is bound to it.
    const replacementRequest = plan.role === "primary" ? cfg.replacement : undefined;
    // The fence the old host was failed away with stays there; a later one fences the new host too.
    const replacementFence = plan.fence && plan.fence.requestId !== replacementRequest?.oldHostFence ? plan.fence : undefined;
    const replacement = replacementRequest
      ? new PostgresHost(
          n("replacement"),
          {
            ...hostArgs,
            subnetId: network.privateSubnetIds[1],
            availabilityZone: network.availabilityZones[1],
            securityGroupIds: replacementFence ? [network.isolationSecurityGroupId] : [network.databaseSecurityGroupId],
            fence: replacementFence,
            roleName: hostRoleName(plan.environment, `${plan.site}-replacement`),
          },
          { parent: this, dependsOn: repository ? [repository] : [] },
        )
      : undefined;
    const active = replacement && replacementRequest?.reachable ? replacement : host;

    // 3b. Config changes reach the running host through SSM (dr host apply), not a reboot.
    if (hostSpecParameter) {
      new HostConfig(n("host-config"), { environment: plan.environment, site: plan.site, region: plan.region, spec: active.spec, instanceId: active.instanceId }, parent);
    }

    // 4. Severity topics, escalation, alarms.
    let topics: SeverityTopics | undefined;
    let escalation: Escalation | undefined;
    let alarms: RunbookAlarms | undefined;
    if (plan.alarms) {
      topics = new SeverityTopics(n("topics"), { environment: plan.environment, site: plan.site, subscriptions: cfg.alerting.subscriptions }, parent);
      if (plan.incidentManager) {
        escalation = new Escalation(
          n("escalation"),
          {
            environment: plan.environment,
            site: plan.site,
            matrix: cfg.escalation,
            contacts: cfg.incidentManager.contacts,
            notificationTopicArn: topics.arns.critical,
            replicationRegions: cfg.incidentManager.manageReplicationSet ? cfg.incidentManager.replicationRegions ?? [plan.region] : undefined,
          },
          parent,
        );
      }
      if (repository) {
        new KeyTamperAlarm(n("key-tamper"), { keyArn: repository.kmsKeyArn, topicArn: topics.arns.critical, accountId }, parent);
      }
      alarms = new RunbookAlarms(
        n("alarms"),
        {
          environment: plan.environment,
          site: plan.site,
          thresholds: cfg.alerts,
          topics: topics.arns,
          instanceId: active.instanceId,
          incidentActions: escalation ? { critical: [escalation.responsePlanArns.critical], warning: [escalation.responsePlanArns.warning] } : undefined,
        },
        parent,
      );
    }

    // The primary's stack outputs (secondary): its address for DNS and the stream, its VPC.
    let primaryStack: pulumi.StackReference | undefined;
    const primaryOutput = (name: string) => {
      primaryStack ??= new pulumi.StackReference(n("primary-stack"), { name: cfg.dns!.primary.stack! }, parent);
      return primaryStack.requireOutput(name).apply((v) => String(v));
    };
    const primaryAddress = plan.role === "secondary" && cfg.dns ? (cfg.dns.primary.address ? pulumi.output(cfg.dns.primary.address) : primaryOutput("privateIp")) : undefined;

    // 5. Failover DNS (the secondary stack): the primary's address from its stack outputs.
    let dns: FailoverDns | undefined;
    if (plan.dns && cfg.dns && offsite && primaryAddress) {
      dns = new FailoverDns(
        n("dns"),
        {
          zoneId: cfg.dns.zoneId,
          serviceName: cfg.dns.serviceName,
          ttl: cfg.dns.ttl,
          activeSite: cfg.dns.activeSite,
          primaryAddress,
          secondaryAddress: active.privateIp,
          primaryAlarmName: alarmName(plan.environment, offsite.site, "database-unavailable"),
          primaryAlarmRegion: offsite.region,
        },
        parent,
      );
    }

    // 5b'. The shared state (secondary stack): every run's lease, journal and reports, and the
    // control state the program reads at each up (infra/config/control-state.ts).
    let sharedState: SharedState | undefined;
    if (plan.role === "secondary") {
      sharedState = new SharedState(n("shared-state"), { bucketName: accountId.apply((a) => sharedStateBucketName(plan.environment, plan.region, a)), environment: plan.environment, accountId, partition, protect: plan.protect }, parent);
    }

    // 5b. The scheduled drill runner (secondary stack): drills restore from this region's repository.
    if (plan.role === "secondary" && cfg.drillRunner && offsite) {
      const r = cfg.drillRunner;
      new DrillRunner(
        n("drill-runner"),
        {
          environment: plan.environment,
          region: plan.region,
          accountId,
          subnetIds: network.privateSubnetIds,
          vpcId: network.vpcId,
          image: r.image,
          cpu: r.cpu,
          memoryMiB: r.memoryMiB,
          scheduleExpression: schedulerCron(cfg.schedules.drill),
          stateBucket: r.stateBucket ? pulumi.output(r.stateBucket) : accountId.apply((a) => stateBucketName(plan.environment, offsite.region, a)),
          backupBuckets: [repo1Bucket],
          sharedState: sharedState ? { bucket: sharedState.bucketName, keyArn: sharedState.kmsKeyArn } : undefined,
          cipherPassSecretName: cipherPassSecretName(plan.environment),
          secretsKeyAlias: secretsKeyAlias(plan.environment),
        },
        parent,
      );
    }

    // 5c. The path of the stream between the site VPCs: requested by the secondary, accepted by the primary.
    let replicationPath: ReplicationPath | undefined;
    const repl = plan.replication;
    if (repl && (plan.role === "secondary" || repl.peer.peeringConnectionId)) {
      replicationPath = new ReplicationPath(
        n("replication"),
        {
          vpcId: network.vpcId,
          routeTableId: network.privateRouteTableId,
          databaseSecurityGroupId: network.databaseSecurityGroupId,
          peerCidr: repl.peer.cidr,
          ...(plan.role === "secondary"
            ? { request: { peerVpcId: repl.peer.vpcId ? pulumi.output(repl.peer.vpcId) : primaryOutput("vpcId"), peerRegion: repl.peer.region } }
            : { accept: { peeringConnectionId: repl.peer.peeringConnectionId! } }),
        },
        parent,
      );
    }

    // 6. Once the host is reachable: readiness, then restore, its stream, a promotion, database objects.
    let restore: Restore | undefined;
    let streamFrom: pulumi.Output<string> | undefined;
    let promote: Promote | undefined;
    if (cfg.access.hostReachable) {
      const connection = sshConnection(plan, active.privateIp, secret(cfg.sshPrivateKey)!);
      const ready = new HostReady(
        n("ready"),
        {
          connection,
          instanceId: active.instanceId,
          admin: plan.databaseObjects ? { role: cfg.access.postgres.username, password: secret(cfg.adminPassword)! } : undefined,
        },
        parent,
      );
      if (cfg.restore) {
        const { timeout, ...request } = cfg.restore;
        restore = new Restore(
          n("restore"),
          {
            connection,
            instanceId: active.instanceId,
            timeoutSeconds: timeout,
            request: { stanza: cfg.stanza, ...request },
          },
          { parent: this, dependsOn: [ready] },
        );
      }
      // A standby streams when the stream is on: from the primary its request names (reprotect),
      // else (the secondary's standing standby) from the primary stack's address. Re-run after
      // each restore, which rewrites the recovery settings.
      const streamHost = cfg.restore?.primaryHost ? pulumi.output(cfg.restore.primaryHost) : plan.role === "secondary" ? primaryAddress : undefined;
      if (repl && cfg.restore?.mode === "standby" && streamHost) {
        streamFrom = streamHost;
        const slot = cfg.restore.primarySlot ?? repl.slot;
        new StandbyStream(
          n("stream"),
          {
            connection,
            stream: pulumi.all([streamHost, secret(cfg.replicationPassword)!]).apply(([primaryHost, password]) => ({
              primaryHost,
              password,
              role: repl.role,
              slot,
              application: plan.site,
            })),
            triggers: [streamHost, repl.role, slot, cfg.restore.requestId, active.instanceId],
          },
          { parent: this, dependsOn: restore ? [restore] : [ready] },
        );
      }
      if (cfg.promote) {
        promote = new Promote(n("promote"), { connection, request: cfg.promote, slot: repl?.slot, instanceId: active.instanceId }, { parent: this, dependsOn: [ready] });
      }
      if (plan.databaseObjects) {
        const viaSsm = cfg.access.via === "ssm";
        new DatabaseObjects(
          n("database"),
          {
            host: viaSsm ? "127.0.0.1" : active.privateIp,
            port: viaSsm ? plan.localPorts.postgres : 5432,
            sslmode: cfg.access.postgres.sslmode,
            username: cfg.access.postgres.username,
            password: secret(cfg.adminPassword)!,
            connectTimeout: cfg.access.postgres.connectTimeout,
            database: cfg.database,
            roles: cfg.databaseObjects.roles,
            passwords: { app: secret(cfg.appPassword)!, backup: secret(cfg.backupPassword)!, verifier: secret(cfg.verifierPassword)! },
            replication: repl ? { role: repl.role, password: secret(cfg.replicationPassword)!, slot: repl.slot } : undefined,
            ready: [ready.gate, ...(restore ? [restore.command] : [])],
          },
          parent,
        );
      }
    }

    // 7. What the automation reads back (infra/outputs.ts).
    const repoOut = (bucket: pulumi.Output<string>, region: string, kmsKeyArn?: pulumi.Output<string>) =>
      pulumi.all([bucket, kmsKeyArn ?? pulumi.output(undefined)]).apply(([b, k]) => ({ bucket: b, region, path: repoPath, cipher: cfg.repository.cipher, ...(k ? { kmsKeyArn: k } : {}) }));
    this.outputs = pulumi
      .output({
        vpcId: network.vpcId,
        instanceId: active.instanceId,
        privateIp: active.privateIp,
        replacementHost: replacement ? pulumi.all({ instanceId: replacement.instanceId, privateIp: replacement.privateIp }) : pulumi.output(undefined as { instanceId: string; privateIp: string } | undefined),
        dbSg: network.databaseSecurityGroupId,
        isolationSg: network.isolationSecurityGroupId,
        repo1: repoOut(repo1Bucket, plan.region, repository?.kmsKeyArn),
        repo2: repo2Bucket && offsite ? repoOut(repo2Bucket, offsite.region) : pulumi.output(undefined),
        topicArns: topics ? pulumi.output({ critical: topics.arns.critical, warning: topics.arns.warning, info: topics.arns.info }) : pulumi.output(undefined),
        alarmNames: pulumi.all(alarms?.alarmNames ?? []),
        dnsOut: dns ? pulumi.all({ healthCheckId: dns.healthCheckId, primary: dns.primaryAnswer, secondary: dns.secondaryAnswer }) : pulumi.output(undefined),
        pcx: replicationPath?.peeringConnectionId ?? pulumi.output(undefined),
        streamFrom: streamFrom ?? pulumi.output(undefined),
        im: escalation
          ? pulumi.all({ plan: escalation.escalationPlanArn, critical: escalation.responsePlanArns.critical, warning: escalation.responsePlanArns.warning })
          : pulumi.output(undefined),
      })
      .apply(({ vpcId, instanceId, privateIp, replacementHost, dbSg, isolationSg, repo1, repo2, topicArns, alarmNames, dnsOut, pcx, streamFrom, im }): SiteOutputs => ({
        environment: plan.environment,
        site: plan.site,
        role: plan.role,
        region: plan.region,
        stanza: cfg.stanza,
        database: cfg.database,
        vpcId,
        instanceId,
        privateIp,
        endpoint: { host: privateIp, port: 5432 },
        securityGroups: { database: dbSg, isolation: isolationSg },
        repositories: { repo1, ...(repo2 ? { repo2 } : {}) },
        ...(topicArns ? { topics: topicArns } : {}),
        alarms: alarmNames,
        ...(dnsOut && cfg.dns
          ? {
              dns: {
                zoneId: cfg.dns.zoneId,
                serviceName: cfg.dns.serviceName,
                activeSite: cfg.dns.activeSite,
                healthCheckId: dnsOut.healthCheckId,
                primaryAddress: dnsOut.primary,
                secondaryAddress: dnsOut.secondary,
              },
            }
          : {}),
        ...(restore ? { restore: { requestId: restore.requestId, command: restore.script } } : {}),
        ...(pcx && repl ? { replication: { peeringConnectionId: pcx, role: repl.role, slot: repl.slot, ...(streamFrom ? { primaryHost: streamFrom } : {}) } } : {}),
        ...(promote ? { promote: { requestId: promote.requestId } } : {}),
        ...(plan.fence ? { fence: { mode: plan.fence.mode, requestId: plan.fence.requestId } } : {}),
        ...(replacementHost && replacementRequest ? { replacement: { id: replacementRequest.id, reachable: replacementRequest.reachable, instanceId: replacementHost.instanceId, privateIp: replacementHost.privateIp } } : {}),
        ...(cfg.drill && plan.role === "drill" ? { drill: { id: cfg.drill.id, expiresAt: cfg.drill.expiresAt } } : {}),
        ...(im ? { incidentManager: { escalationPlanArn: im.plan, responsePlans: { critical: im.critical, warning: im.warning } } } : {}),
      }));
    this.registerOutputs({ outputs: this.outputs });
  }
}

/** SSH to the host: the local end of the SSM port forward, or the host through the bastion. */
function sshConnection(plan: SitePlan, privateIp: pulumi.Output<string>, privateKey: pulumi.Output<string>): pulumi.Input<SshConnection> {
  const access = plan.config.access;
  const common = { user: access.ssh.user, privateKey, dialErrorLimit: 20, perDialTimeout: 30 };
  if (access.via === "bastion" && access.bastion) {
    return { ...common, host: privateIp, port: 22, proxy: { host: access.bastion.host, port: access.bastion.port, user: access.bastion.user, privateKey } };
  }
  return { ...common, host: "127.0.0.1", port: plan.localPorts.ssh };
}
