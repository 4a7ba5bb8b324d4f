// Promotion, switchover and reprotect on the AWS sites (engines/standby-roles.ts), each a short
// recipe of stack requests and commands on the hosts:
//   promote           fp-dr:promote (a new request id) on the site's stack, `up --target` its
//                     promote command (pg_promote, then the slot the other site will stream
//                     through), then wait over SQL until the server takes writes
//   stopCleanly       `systemctl stop` of the host's cluster (Debian's pg_ctlcluster: fast mode,
//                     the shutdown checkpoint reaches the connected standby)
//   shutdownToken     pg_controldata on the host: the demotion token
//   restartAsStandby  standby.signal, the stream settings (passfile on stdin), start: no rebuild
//   reprotect         on the old primary's stack: a standby restore request from the new
//                     primary's repository pointing at the new primary (primaryHost, slot), the
//                     fence removed in the same targeted update (an isolated host is reachable
//                     by nothing, the restore command included), then wait for standby replay
// Nothing refreshes; only the named resources are updated.
import { hostPaths } from "../../../infra/cloud-init/host-spec";
import { requestEntries } from "../../../infra/config/requests";
import { standbyStreamScript } from "../../../infra/host-commands";
import type { SiteOutputs } from "../../../infra/outputs";
import { DrError, withContext } from "../../core/errors";
import { demotionToken, type DemotionToken } from "../../postgres/controldata";
import type { SiteEndpoint } from "../engine";
import type { StandbyRoles } from "../standby-roles";
import type { HostCommandRunner, SiteDatabase } from "./access";
import { configValue, siteNameInStack, storedSecret } from "./stack-config";
import type { StackOps, StoredConfig } from "./stack-ops";
import type { ControlState } from "./control-writes";
import type { SwitchoverRecord } from "../../../infra/config/control-state";
import { fenceUrns, promoteUrns, restoreUrns, streamUrns } from "./urns";

const cluster = `postgresql@${hostPaths.pgVersion}-${hostPaths.clusterName}`;

export interface PulumiStandbyRolesDeps {
  ops: StackOps;
  /** The environment's control document (where a switchover in flight is kept). Default: none, nothing is recorded. */
  control?: ControlState;
  database: SiteDatabase;
  hostCommands?: HostCommandRunner;
  stackOf(site: string): string;
  /** The stack that owns the service name's records. */
  dnsStack(): string;
  /** The configured site with this role. */
  siteOfRole(role: string): string | undefined;
  selectedConfig(stack: string): Promise<StoredConfig>;
  siteOutputs(stack: string): Promise<SiteOutputs>;
  endpointFrom(site: string, outputs: SiteOutputs, config: StoredConfig): Promise<SiteEndpoint>;
  /** The host's number (1 or 2) of the new primary's own repository. */
  hostRepoOf(primary: SiteOutputs, host: SiteOutputs): 1 | 2;
  newRequestId(purpose: "promote" | "reprotect"): string;
  /** How long a promotion and a reprotect restore may take, in seconds. */
  promoteWaitSeconds: number;
  restoreTimeoutSeconds: number;
  onOutput?: (text: string) => void;
}

/** The replication block of a stack's config (the stream's role and slot). */
function replicationOf(config: StoredConfig): { role: string; slot: string } {
  const r = (configValue(config, "fp-dr:replication") ?? {}) as { role?: string; slot?: string; stream?: boolean };
  return { role: r.role ?? "fp_replication", slot: r.slot ?? "fp_standby" };
}

export class PulumiStandbyRoles implements StandbyRoles {
  constructor(private readonly d: PulumiStandbyRolesDeps) {}

  private host(doing: string): HostCommandRunner {
    if (!this.d.hostCommands) {
      throw new DrError("DEPENDENCY_MISSING", `${doing} needs a command on the host, which Pulumi cannot run on demand`, {
        hint: "give the pulumi engine a host command runner (SSM Run Command, or SSH through the access path)",
      });
    }
    return this.d.hostCommands;
  }

  async promote(site: string): Promise<{ detail: string }> {
    const stack = this.d.stackOf(site);
    try {
      // 1. A new promote request on the site's stack (the old one removed whole).
      const config = await this.d.selectedConfig(stack);
      const name = siteNameInStack(config);
      await this.d.ops.removeConfig(stack, ["fp-dr:promote"]);
      const requestId = this.d.newRequestId("promote");
      await this.d.ops.setConfig(stack, requestEntries("promote", { requestId, waitSeconds: this.d.promoteWaitSeconds }), { path: true });
      // 2. Only the promote command runs.
      await this.d.ops.up(stack, { targets: promoteUrns(stack, name), message: `fp-dr: promote ${site} ${requestId}`, onOutput: this.d.onOutput });
      // 3. Takes writes, seen over SQL (Pulumi only knows the command exited 0).
      const ep = await this.d.endpointFrom(site, await this.d.siteOutputs(stack), config);
      const s = await this.d.database.waitForRecovery(ep, { mode: "promote", timeoutMs: this.d.promoteWaitSeconds * 1000 });
      return { detail: `${site} takes writes at ${s.replayLsn ?? "?"} (request ${requestId})` };
    } catch (e) {
      throw withContext(`promoting ${site} (stack ${stack})`, e);
    }
  }

  /**
   * The DNS stack's config fp-dr:dns.activeSite (the role the automation last forced the
   * service name to, after verifying it), as a site name. Config, not the DNS answer: Route 53
   * may answer otherwise, and "auto" records nothing.
   */
  async recordedPrimary(): Promise<string | undefined> {
    const active = (configValue(await this.d.ops.getAllConfig(this.d.dnsStack()), "fp-dr:dns") as { activeSite?: string } | undefined)?.activeSite ?? "primary";
    return active === "auto" ? undefined : this.d.siteOfRole(active);
  }

  /** Whether the site's stack holds a fence in force (its last update's outputs; no cloud is asked). */
  async fenced(site: string): Promise<boolean> {
    return (await this.d.siteOutputs(this.d.stackOf(site))).fence !== undefined;
  }

  async stopCleanly(site: string): Promise<void> {
    const outputs = await this.d.siteOutputs(this.d.stackOf(site));
    await this.host(`stopping ${site}`)(site, outputs, ["sudo", "systemctl", "stop", cluster]);
  }

  async isStopped(site: string): Promise<boolean> {
    const outputs = await this.d.siteOutputs(this.d.stackOf(site));
    const r = await this.host(`asking ${site} whether it runs`)(site, outputs, ["sh", "-c", `systemctl is-active ${cluster} || true`]);
    return r.stdout.trim() !== "active";
  }

  async shutdownToken(site: string): Promise<DemotionToken> {
    const outputs = await this.d.siteOutputs(this.d.stackOf(site));
    const r = await this.host(`reading the shutdown checkpoint of ${site}`)(site, outputs, ["sudo", "-u", "postgres", `${hostPaths.pgBin}/pg_controldata`, hostPaths.dataDir]);
    return demotionToken(r.stdout, site);
  }

  async recordSwitchover(switchover: SwitchoverRecord | null): Promise<void> {
    await this.d.control?.recordSwitchover(switchover);
  }

  async recordedSwitchover(): Promise<SwitchoverRecord | undefined> {
    return this.d.control?.switchover();
  }

  async restartAsStandby(site: string, primary: string): Promise<{ detail: string }> {
    const stack = this.d.stackOf(site);
    const config = await this.d.selectedConfig(stack);
    const outputs = await this.d.siteOutputs(stack);
    const to = await this.d.siteOutputs(this.d.stackOf(primary));
    const password = storedSecret(config, "replicationPassword");
    if (!password) throw new DrError("CONFIG_INVALID", `stack ${stack} holds no fp-dr:replicationPassword: ${site} cannot stream from ${primary}`, { hint: "set it (the same on both stacks), or reprotect with `dr reprotect`" });
    const r = replicationOf(config);
    const run = this.host(`restarting ${site} as a standby`);
    // standby.signal first: the server must come back read-only, never as a second primary.
    await run(site, outputs, ["sudo", "-u", "postgres", "touch", `${hostPaths.dataDir}/standby.signal`]);
    await run(site, outputs, ["sudo", "systemctl", "start", cluster]);
    await run(site, outputs, ["bash", "-s"], standbyStreamScript({ primaryHost: to.privateIp, role: r.role, password, slot: r.slot, application: siteNameInStack(config) }));
    return { detail: `${site} is a standby of ${primary} (${to.privateIp}) through slot ${r.slot}` };
  }

  async reprotect(site: string, primary: string): Promise<{ requestId: string; detail: string }> {
    const stack = this.d.stackOf(site);
    try {
      // 1. The old primary's stack and where the new primary's own repository is for its host.
      const config = await this.d.selectedConfig(stack);
      const name = siteNameInStack(config);
      const outputs = await this.d.siteOutputs(stack);
      const to = await this.d.siteOutputs(this.d.stackOf(primary));
      const repo = this.d.hostRepoOf(to, outputs);
      // 2. A standby request pointing at the new primary; the fence goes in the same update.
      await this.d.ops.removeConfig(stack, ["fp-dr:restore", "fp-dr:fence"]);
      const requestId = this.d.newRequestId("reprotect");
      const slot = replicationOf(config).slot;
      await this.d.ops.setConfig(
        stack,
        requestEntries("restore", { requestId, mode: "standby", repo, allowOverwrite: true, primaryHost: to.privateIp, primarySlot: slot, timeout: this.d.restoreTimeoutSeconds }),
        { path: true },
      );
      // 3. The instance (its normal security groups), the restore and the stream settings only.
      await this.d.ops.up(stack, {
        targets: [...fenceUrns(stack, name, outputs.fence?.mode ?? "isolate"), ...restoreUrns(stack, name), ...streamUrns(stack, name)],
        message: `fp-dr: reprotect ${site} as a standby of ${primary} ${requestId}`,
        onOutput: this.d.onOutput,
      });
      // 4. Replaying as a standby, seen over SQL.
      const ep = await this.d.endpointFrom(site, outputs, config);
      const s = await this.d.database.waitForRecovery(ep, { mode: "standby", timeoutMs: this.d.restoreTimeoutSeconds * 1000 });
      return { requestId, detail: `${site} is a standby of ${primary} (${to.privateIp}, slot ${slot}) from its host's repo${repo}, replayed to ${s.replayLsn ?? "?"}` };
    } catch (e) {
      throw withContext(`reprotecting ${site} as a standby of ${primary} (stack ${stack})`, e);
    }
  }
}
