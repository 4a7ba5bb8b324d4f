// The pulumi engine's security-incident work (runbook §5), apart from its stack recipes:
//   isolate          the fence, plus live sessions ended over SQL
//   preserve         EC2 CreateSnapshots of the host's volumes (AWS SDK, not a stack resource)
//   rotateDatabase…  SCRAM rotation over SQL; the new passwords become the stack's secrets
//   rotateRepository IAM "revoke older sessions" policy on the compromised hosts' roles
// What must not be a Pulumi resource (EBS snapshots as evidence, which must outlive a destroy of
// the compromised site; revoking a host role's sessions) goes through the AWS SDK (./aws.ts). The
// engine hands in how it reads its stacks and fences a site, so both say the same thing.
import { existsSync, renameSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "pg";
import { hostRoleName } from "../../../infra/naming";
import type { SiteOutputs } from "../../../infra/outputs";
import { DrError, withContext } from "../../core/errors";
import { registerSecret } from "../../core/redact";
import { writeEvidence } from "../../incident/evidence";
import { newPassword, rotateLoginRoles, tryLogin } from "../../incident/rotate";
import { terminateOtherSessions } from "../../incident/sessions";
import type { CredentialRotation, IncidentContext, IsolationResult, PreservationResult, TerminatedSession } from "../../incident/types";
import { connect } from "../../postgres/client";
import type { FenceResult, SiteEndpoint } from "../engine";
import type { DescribeSnapshotsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { ec2Commands, iamCommands, revokeOlderSessionsPolicy, type AwsClients, type Ec2Api } from "./aws";
import { compactTime, configValue, connectionConfig, storedSecret, type SiteConnectionConfig } from "./stack-config";
import type { ConfigEntries, StackOps, StoredConfig } from "./stack-ops";

/** What the incident work is given by the engine: its stacks, its AWS clients and its clock. */
export interface PulumiIncidentParts {
  ops: StackOps;
  aws: AwsClients;
  /** Who acts (the snapshots' fp-dr:taken-by tag). */
  actor: string;
  snapshotTimeoutMs: number;
  /** The snapshot wait's steady interval (the SDK waiter's own timers: not injectable). */
  snapshotPollMs: number;
  now: () => Date;
  stackOf(site: string): string;
  /** Selects the stack and reads its whole config (secrets included). */
  selectedConfig(stack: string): Promise<StoredConfig>;
  siteOutputs(stack: string): Promise<SiteOutputs>;
  endpointFrom(site: string, outputs: SiteOutputs, c: SiteConnectionConfig): Promise<SiteEndpoint>;
  /** The engine's fence, given what was already read of the site's stack. */
  fenceStack(site: string, stack: string, read?: { config: StoredConfig; outputs: SiteOutputs }): Promise<FenceResult>;
}

export class PulumiIncident {
  private readonly ops: StackOps;
  private readonly aws: AwsClients;
  private readonly actor: string;
  private readonly snapshotTimeoutMs: number;
  private readonly snapshotPollMs: number;
  private readonly now: () => Date;
  private readonly stackOf: PulumiIncidentParts["stackOf"];
  private readonly selectedConfig: PulumiIncidentParts["selectedConfig"];
  private readonly siteOutputs: PulumiIncidentParts["siteOutputs"];
  private readonly endpointFrom: PulumiIncidentParts["endpointFrom"];
  private readonly fenceStack: PulumiIncidentParts["fenceStack"];

  constructor(p: PulumiIncidentParts) {
    ({ ops: this.ops, aws: this.aws, actor: this.actor, snapshotTimeoutMs: this.snapshotTimeoutMs, snapshotPollMs: this.snapshotPollMs, now: this.now } = p);
    ({ stackOf: this.stackOf, selectedConfig: this.selectedConfig, siteOutputs: this.siteOutputs, endpointFrom: this.endpointFrom, fenceStack: this.fenceStack } = p);
  }

  /**
   * ISOLATE: the fence mechanism (fp-dr:fence swaps the host's security groups for the
   * isolation group: no ingress, no egress; the instance keeps running, so its memory stays).
   * Security groups are stateful and tracked connections can outlive a rule change, so the
   * live sessions are ended over SQL too, through a connection opened before the swap.
   * Not exercised against real AWS here (no credentials, no Pulumi CLI): the contract tests
   * pin the stack operations; the SQL part is the lab's.
   */
  async isolate(site: string, _incident: IncidentContext): Promise<IsolationResult> {
    const at = this.now().toISOString();
    const stack = this.stackOf(site);
    // The stack is read once, for the SQL connection and the fence; if it cannot be, the
    // fence reads it again itself (and says the site is unreachable if it still cannot).
    const read = await this.selectedConfig(stack)
      .then(async (config) => ({ config, outputs: await this.siteOutputs(stack) }))
      .catch(() => undefined);
    let admin: Client | undefined;
    if (read) {
      try {
        const ep = await this.endpointFrom(site, read.outputs, connectionConfig(read.config));
        admin = await connect({ ...ep.admin, connectionTimeoutMillis: 10_000 }, "fp-dr incident isolate");
      } catch {
        admin = undefined;
      }
    }
    const fence = await this.fenceStack(site, stack, read);
    let terminated: TerminatedSession[] = [];
    let sessions = "live sessions could not be reached over SQL: end them on the host (or restart it) before trusting the isolation";
    if (admin) {
      try {
        terminated = await terminateOtherSessions(admin);
        sessions = `${terminated.length} session(s) terminated`;
      } catch (e) {
        sessions = `sessions not terminated (${(e as Error).message.split("\n")[0]}): tracked connections may survive the security group swap; end them on the host`;
      } finally {
        await admin.end().catch(() => undefined);
      }
    }
    const outcome = fence.outcome === "unreachable" ? "unreachable" : "isolated";
    return { site, outcome, detail: `${fence.detail}; ${sessions}`, at, running: fence.outcome !== "unreachable", terminated, evidence: [] };
  }

  /**
   * PRESERVE: EBS snapshots of every volume of the site's host (root and data) in one
   * CreateSnapshots call: crash-consistent across the volumes (one point in time, I/O not
   * paused), outside the site's stack so a `pulumi destroy` cannot remove the evidence. Tagged
   * fp-dr:incident / fp-dr:site / fp-dr:taken-by besides the volume's own tags. A killed attempt
   * is picked up by those tags instead of snapshotting again. Waits for `completed` within
   * snapshotTimeoutMs; what is still pending is returned as pending.
   * The record of what was taken (ids, volumes, sizes, states) is written as evidence into the
   * incident directory and its SHA-256 goes into the custody record.
   */
  async preserve(site: string, incident: IncidentContext): Promise<PreservationResult> {
    const stack = this.stackOf(site);
    try {
      const startedAt = this.now().toISOString();
      // 1. The host, from the site's stack outputs (read from the backend, no cloud contacted).
      const outputs = await this.siteOutputs(stack);
      const ec2 = this.aws.ec2(outputs.region);
      const { CreateSnapshotsCommand, DescribeSnapshotsCommand } = await ec2Commands();
      const filters = [
        { Name: "tag:fp-dr:incident", Values: [incident.id] },
        { Name: "tag:fp-dr:site", Values: [site] },
      ];
      // 2. Snapshots of an earlier attempt for this incident and site (not failed ones).
      const earlier = ((await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ["self"], Filters: filters }))).Snapshots ?? []).filter((x) => x.State !== "error");
      let snapshots: SnapshotView[];
      let taken: "now" | "earlier";
      if (earlier.length > 0) {
        snapshots = earlier.map(snapshotView);
        taken = "earlier";
      } else {
        // 3. Every volume of the instance, one point in time.
        const created = await ec2.send(
          new CreateSnapshotsCommand({
            InstanceSpecification: { InstanceId: outputs.instanceId, ExcludeBootVolume: false },
            Description: `fp-dr incident ${incident.id}: ${site} (${outputs.instanceId})`,
            CopyTagsFromSource: "volume",
            TagSpecifications: [
              {
                ResourceType: "snapshot",
                Tags: [
                  { Key: "fp-dr:incident", Value: incident.id },
                  { Key: "fp-dr:site", Value: site },
                  { Key: "fp-dr:taken-by", Value: this.actor },
                ],
              },
            ],
          }),
        );
        snapshots = (created.Snapshots ?? []).map(snapshotView);
        taken = "now";
        if (snapshots.length === 0) throw new DrError("INTERNAL", `EC2 CreateSnapshots returned no snapshot for ${outputs.instanceId}`, { hint: "look at the instance's volumes in the EC2 console" });
      }
      // 4. Until every snapshot is completed, within the bound.
      snapshots = await this.waitForSnapshots(ec2, snapshots);
      const failed = snapshots.filter((x) => x.state === "error");
      if (failed.length) {
        throw new DrError("INTERNAL", `EBS snapshot(s) ${failed.map((x) => `${x.snapshotId} (${x.volumeId})`).join(", ")} failed: ${failed.map((x) => x.stateMessage ?? "no message").join("; ")}`, {
          hint: `run dr incident preserve again (the failed ones are not reused), or snapshot the volume by hand and record it with --manual-evidence`,
        });
      }
      const pending = snapshots.filter((x) => x.state !== "completed");
      const finishedAt = this.now().toISOString();
      // 5. The record, as evidence with its SHA-256.
      const rel = `evidence/${site}/ebs-snapshots.json`;
      const full = join(incident.dir, rel);
      if (existsSync(full)) renameSync(full, `${full}.superseded-${Date.now()}`);
      const ids = snapshots.map((x) => x.snapshotId);
      const method = `EBS snapshots of every volume of instance ${outputs.instanceId} (root and data) in one EC2 CreateSnapshots request (multi-volume, crash-consistent), ${taken === "now" ? "taken now" : "taken by an earlier attempt for this incident (found by its tags)"}; tagged fp-dr:incident=${incident.id}, fp-dr:site=${site}, fp-dr:taken-by=${this.actor}, plus the volumes' own tags; the instance kept running`;
      const consistency = `crash-consistent: every volume at the same moment, as after a power loss (I/O was not paused); a volume created from them and started as PostgreSQL replays its WAL from the last checkpoint; ${pending.length ? `${pending.length} of ${snapshots.length} snapshot(s) still ${pending.map((x) => `${x.snapshotId} ${x.state} ${x.progress ?? ""}`.trim()).join(", ")} when the wait ended: they are usable once completed (aws ec2 wait snapshot-completed --region ${outputs.region} --snapshot-ids ${pending.map((x) => x.snapshotId).join(" ")})` : "every snapshot completed"}; the sizes are the volumes' provisioned sizes`;
      const record = { site, incident: incident.id, region: outputs.region, instanceId: outputs.instanceId, stack, takenBy: this.actor, startedAt, finishedAt, method, consistency, snapshots };
      const evidence = writeEvidence(incident.dir, rel, JSON.stringify(record, null, 2) + "\n");
      return {
        site,
        location: `EBS snapshots in ${outputs.region}: ${ids.join(", ")}${pending.length ? ` (pending: ${pending.map((x) => x.snapshotId).join(", ")})` : ""}`,
        method,
        consistency,
        startedAt,
        finishedAt,
        files: snapshots.length,
        bytes: snapshots.reduce((n, x) => n + (x.volumeSizeGiB ?? 0) * 1024 ** 3, 0),
        manifests: [evidence],
        vanished: [],
      };
    } catch (e) {
      throw withContext(`preserving ${site} (stack ${stack})`, e);
    }
  }

  /**
   * The SDK's SnapshotCompleted waiter (DescribeSnapshots until every one is completed, any is in
   * error, or snapshotTimeoutMs passes), at a steady snapshotPollMs (its jitter spans
   * minDelay..maxDelay, both set to it). The waiter only says how it ended, so the answers are
   * read on their way through: the last one is what the record shows (pending ones as pending).
   */
  private async waitForSnapshots(ec2: Ec2Api, snapshots: SnapshotView[]): Promise<SnapshotView[]> {
    if (snapshots.every((x) => x.state === "completed" || x.state === "error")) return snapshots;
    const { waitUntilSnapshotCompleted } = await ec2Commands();
    let current = snapshots;
    let failed: unknown;
    const reading = {
      send: async (command: DescribeSnapshotsCommand) => {
        try {
          const out = await ec2.send(command);
          failed = undefined;
          current = current.map((x) => {
            const d = out.Snapshots?.find((y) => y.SnapshotId === x.snapshotId);
            return d ? snapshotView(d) : x;
          });
          return out;
        } catch (e) {
          failed = e;
          throw e;
        }
      },
    };
    const everyS = this.snapshotPollMs / 1000;
    await waitUntilSnapshotCompleted(
      { client: reading as unknown as EC2Client, minDelay: everyS, maxDelay: everyS, maxWaitTime: this.snapshotTimeoutMs / 1000 },
      { SnapshotIds: snapshots.map((x) => x.snapshotId) },
    ).catch(() => undefined); // a snapshot in error or the bound: `current` says which
    // The waiter retries a failed DescribeSnapshots; one still failing at the end is the answer.
    if (failed !== undefined) throw failed;
    return current;
  }

  /**
   * New passwords for the site's login roles, through the engine's SQL path (the endpoint and
   * admin credentials of the site's stack): the managed roles (access.postgres.username and
   * databaseObjects.roles app / backup / verifier) get new passwords as SCRAM verifiers, every
   * other login role loses its password (automation/incident/rotate.ts, as on the lab). The new
   * passwords are written into the stack's secret config (fp-dr:adminPassword, appPassword,
   * backupPassword, verifierPassword) BEFORE the transaction commits, so the next `up` keeps them
   * and they are never only in this process; if the commit then fails, the old values are put
   * back. Proven like the lab: old passwords refused, new ones accepted, over the same path.
   */
  async rotateDatabaseCredentials(site: string): Promise<CredentialRotation> {
    const stack = this.stackOf(site);
    try {
      const config = await this.selectedConfig(stack);
      const conn = connectionConfig(config);
      if (!conn.adminPassword) {
        throw new DrError("CONFIG_INVALID", `stack ${stack} has no fp-dr:adminPassword: the automation cannot log in to ${site} to rotate its roles`, { hint: `pulumi config set --secret fp-dr:adminPassword <the restored cluster's admin password> --stack ${stack}` });
      }
      const roles = (configValue(config, "fp-dr:databaseObjects") as { roles?: Record<string, string> } | undefined)?.roles ?? {};
      const managed = [
        { key: "adminPassword", role: conn.adminUser, old: conn.adminPassword },
        { key: "appPassword", role: conn.appUser, old: conn.appPassword },
        { key: "backupPassword", role: roles.backup ?? "fp_backup", old: storedSecret(config, "backupPassword") },
        { key: "verifierPassword", role: roles.verifier ?? "fp_verifier", old: storedSecret(config, "verifierPassword") },
      ].map((m) => ({ ...m, next: newPassword() }));
      for (const m of managed) {
        registerSecret(m.old);
        registerSecret(m.next);
      }
      const ep = await this.endpointFrom(site, await this.siteOutputs(stack), conn);

      // 1. In as the admin role, with the stack's (old) password.
      let admin: Client;
      try {
        admin = await connect({ ...ep.admin, connectionTimeoutMillis: 10_000 }, "fp-dr incident rotate");
      } catch (e) {
        throw new DrError("SITE_UNREACHABLE", `cannot log in to ${site} as ${conn.adminUser} with the stack's fp-dr:adminPassword: ${(e as Error).message}`, {
          hint: `if an earlier rotation was interrupted after writing the stack's config, set the role's password from the host (SSM session, sudo -u postgres psql, \\password ${conn.adminUser}) to the stack's fp-dr:adminPassword and run again`,
          cause: e,
        });
      }
      // 2. Every login role in one transaction; the stack holds the new values before it commits.
      let written: ConfigEntries = {};
      let rotation;
      try {
        rotation = await rotateLoginRoles(admin, Object.fromEntries(managed.map((m) => [m.role, m.next])), {
          beforeCommit: async (r) => {
            written = Object.fromEntries(managed.filter((m) => r.rotated.includes(m.role)).map((m) => [`fp-dr:${m.key}`, { value: m.next, secret: true }]));
            if (Object.keys(written).length) await this.ops.setConfig(stack, written, { path: false });
          },
        });
      } catch (e) {
        // Rolled back: the database keeps the old passwords, so the stack must too.
        const back: ConfigEntries = Object.fromEntries(managed.filter((m) => written[`fp-dr:${m.key}`] && m.old).map((m) => [`fp-dr:${m.key}`, { value: m.old!, secret: true }]));
        if (Object.keys(back).length) await this.ops.setConfig(stack, back, { path: false }).catch(() => undefined);
        throw e;
      } finally {
        await admin.end().catch(() => undefined);
      }

      // 3. Proof over the engine's path: old refused, new accepted.
      const checks: string[] = [];
      const unproven: string[] = [];
      const problems: string[] = [];
      for (const m of managed) {
        if (!rotation.rotated.includes(m.role)) continue;
        const base = m.role === conn.adminUser ? ep.admin : { ...ep.app };
        const before = m.old === undefined ? "unknown" : await tryLogin({ ...base, user: m.role, password: m.old });
        const after = await tryLogin({ ...base, user: m.role, password: m.next });
        if (before === "accepted" || after === "refused") problems.push(`${m.role}: old password ${before}, new ${after}`);
        else if (before === "refused" && after === "accepted") checks.push(m.role);
        else unproven.push(`${m.role} (old password ${before === "unknown" ? "not in the stack" : before}, new ${after})`);
      }
      if (problems.length) {
        throw new DrError("INTERNAL", `credential rotation on ${site} did not take effect: ${problems.join("; ")}`, { hint: `the new passwords are in stack ${stack}'s secret config; check the site's pg_hba.conf and roles` });
      }
      const missing = managed.filter((m) => !rotation.rotated.includes(m.role)).map((m) => m.role);
      return {
        scope: site,
        at: this.now().toISOString(),
        rotated: rotation.rotated.map((r) => `role ${r}`),
        locked: rotation.locked,
        proof: `old passwords refused and new ones accepted over the engine's path for ${checks.join(", ") || "no role"}${unproven.length ? `; not proven: ${unproven.join(", ")}` : ""}; new passwords stored as secrets on stack ${stack} (${Object.keys(written).join(", ")})`,
        notRotated: [
          ...(missing.length ? [{ what: `roles ${missing.join(", ")}`, why: "they do not exist on the site (nothing to rotate)" }] : []),
          {
            what: "copies of the passwords outside this stack",
            why: `the application's secret store (role ${conn.appUser}) and any other stack configured with the same roles (the compromised site's stack keeps the old values; it is isolated) were not changed: update them from stack ${stack}'s config (pulumi config get --stack ${stack} fp-dr:appPassword)`,
          },
        ],
        withheldFrom: [],
      };
    } catch (e) {
      throw withContext(`rotating the database credentials of ${site} (stack ${stack})`, e);
    }
  }

  /**
   * The hosts reach the S3 repositories with their instance role's temporary credentials:
   * there is no long-lived key to replace, but sessions an attacker may have taken from the
   * compromised host's metadata service. For every site in `withhold` (the compromised ones),
   * an inline policy fp-dr-revoke-<time> on its host role (infra/naming.ts hostRoleName)
   * denies everything to credentials issued before now (AWS's "revoke older sessions"), then
   * is read back. Sessions issued later are not affected; the other sites' roles are untouched.
   */
  async rotateRepositoryAccess(withhold: string[]): Promise<CredentialRotation> {
    const at = this.now();
    const policyName = `fp-dr-revoke-${compactTime(at)}`;
    const document = JSON.stringify(revokeOlderSessionsPolicy(at));
    const rotated: string[] = [];
    const sites = [...new Set(withhold)];
    for (const site of sites) {
      const stack = this.stackOf(site);
      try {
        const outputs = await this.siteOutputs(stack);
        const role = hostRoleName(outputs.environment, outputs.site);
        const iam = this.aws.iam(outputs.region);
        const { GetRolePolicyCommand, PutRolePolicyCommand } = await iamCommands();
        await iam.send(new PutRolePolicyCommand({ RoleName: role, PolicyName: policyName, PolicyDocument: document }));
        const back = await iam.send(new GetRolePolicyCommand({ RoleName: role, PolicyName: policyName }));
        if (!back.PolicyDocument || JSON.stringify(JSON.parse(decodeURIComponent(back.PolicyDocument))) !== document) {
          throw new DrError("INTERNAL", `IAM answered a different document for ${role}/${policyName}: ${back.PolicyDocument ?? "(none)"}`, { hint: "look at the role's inline policies in the IAM console" });
        }
        rotated.push(`IAM role ${role} (${site}): sessions issued before ${at.toISOString()} revoked by inline policy ${policyName}`);
      } catch (e) {
        const done = rotated.length ? ` (already revoked: ${rotated.join("; ")})` : "";
        throw withContext(`revoking the sessions of ${site}'s host role${done}`, e);
      }
    }
    return {
      scope: "repository",
      at: at.toISOString(),
      rotated,
      locked: [],
      proof: sites.length
        ? `IAM accepted each policy and returned it unchanged on GetRolePolicy (read back); not proven with an old session's credentials (none are held here); IAM changes take effect within seconds (eventually consistent)`
        : "no site to revoke (withhold was empty)",
      notRotated: [
        {
          what: "sessions of the compromised host's role issued after the revocation",
          why: "the instance profile stays attached (the host is evidence and keeps running), so its metadata service can still issue new credentials; the isolation group (no ingress, no egress) keeps them from being used or carried off; detach the instance profile or attach an unconditional deny to end that too",
        },
        {
          what: "repository cipher passphrases (repo1, repo2)",
          why: "pgBackRest cannot change them for a stanza that exists, and the compromised host held them: treat every existing backup as readable by the attacker. Integrity does not rest on them (object lock; pgBackRest verify before each restore). Follow-up (not automated): a new repository path, stanza and passphrase for the new site, a full backup into it",
        },
      ],
      withheldFrom: sites,
    };
  }
}


/** What preserve records of one snapshot. */
interface SnapshotView {
  snapshotId: string;
  volumeId?: string;
  volumeSizeGiB?: number;
  state?: string;
  stateMessage?: string;
  progress?: string;
  startTime?: string;
}

function snapshotView(x: { SnapshotId?: string; VolumeId?: string; VolumeSize?: number; State?: string; StateMessage?: string; Progress?: string; StartTime?: Date }): SnapshotView {
  return {
    snapshotId: x.SnapshotId ?? "(no id)",
    volumeId: x.VolumeId,
    volumeSizeGiB: x.VolumeSize,
    state: x.State,
    ...(x.StateMessage ? { stateMessage: x.StateMessage } : {}),
    progress: x.Progress,
    startTime: x.StartTime ? new Date(x.StartTime).toISOString() : undefined,
  };
}
