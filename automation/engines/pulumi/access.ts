// What the Automation API cannot do on its own, as injectable pieces with honest defaults:
// - a network path from this machine to a site's host (the database is private: SSM port
//   forwarding or a bastion; Pulumi's own remote commands and the postgresql provider use the
//   same local ports, access.ssh.localPort / access.postgres.localPort),
// - whether a region answers at all (fencing touches the primary only if it does),
// - what the service name resolves to (Route 53 private zone: ask from inside the VPC),
// - SQL on the restored database (wait for recovery, promote, probe),
// - a command on the host (start a backup through its systemd unit).
// Tests and operators supply their own; the defaults never pretend something worked.
import { promises as dnsPromises } from "node:dns";
import { connect as netConnect } from "node:net";
import { DrError } from "../../core/errors";
import { caughtUp, promote, readRecoveryState, waitForState, type RecoveryState } from "../../postgres/recovery-state";
import type { SiteOutputs } from "../../../infra/outputs";
import type { SiteEndpoint, SiteProbe } from "../engine";

/** Where PostgreSQL of a site answers from this machine. */
export interface DbAddress {
  host: string;
  port: number;
}

export interface SiteAccess {
  /**
   * Opens (or reuses) the path from here to the site's host and returns where its PostgreSQL
   * answers. With SSM, that means `aws ssm start-session` port forwards of the instance
   * (outputs.instanceId) to 127.0.0.1:<ports.ssh> (22) and 127.0.0.1:<ports.postgres> (5432),
   * which Pulumi's remote commands need too. Idempotent.
   */
  open(site: string, outputs: SiteOutputs, ports: { ssh: number; postgres: number; via: "ssm" | "bastion" }): Promise<DbAddress>;
  /** Closes what open() started (drill teardown). Idempotent. */
  close(site: string): Promise<void>;
}

/**
 * Default: no tunnel; PostgreSQL at its private address (outputs.endpoint). Right only when
 * `dr` itself runs inside the site's network (a bastion or a host in a peered VPC); anywhere
 * else connections fail, and the engine reports the site unreachable rather than guessing.
 * Pulumi's remote commands with access.via=ssm still need the port forwards: supply a
 * SiteAccess that opens them (e.g. spawning `aws ssm start-session --document-name
 * AWS-StartPortForwardingSession`), which needs the AWS CLI and its session-manager plugin.
 */
export const privateNetworkAccess: SiteAccess = {
  async open(_site, outputs) {
    return { host: outputs.endpoint.host, port: outputs.endpoint.port };
  },
  async close() {},
};

/** Does the region's control plane answer? */
export type RegionProbe = (region: string) => Promise<{ reachable: boolean; detail: string }>;

/**
 * Default: a TCP connection to the region's EC2 API endpoint (ec2.<region>.amazonaws.com:443)
 * within `timeoutMs`. A real signal that the region's API is reachable from here, not a proof
 * that every service there is healthy.
 */
export function tcpRegionProbe(timeoutMs = 5000, endpointOf: (region: string) => DbAddress = (region) => ({ host: `ec2.${region}.amazonaws.com`, port: 443 })): RegionProbe {
  return (region) =>
    new Promise((resolve) => {
      const { host, port } = endpointOf(region);
      const socket = netConnect({ host, port });
      const done = (reachable: boolean, detail: string) => {
        socket.destroy();
        resolve({ reachable, detail });
      };
      socket.setTimeout(timeoutMs, () => done(false, `${host}:${port} did not answer within ${timeoutMs} ms`));
      socket.once("connect", () => done(true, `${host}:${port} accepted a connection`));
      socket.once("error", (e) => done(false, `${host}:${port}: ${e.message}`));
    });
}

/** The A records a name resolves to now. */
export type DnsResolver = (name: string) => Promise<string[]>;

/**
 * Default: the system resolver. The service name lives in a Route 53 private hosted zone, so
 * this only sees it from inside an associated VPC; elsewhere, inject a resolver that asks from
 * there (or Route 53's TestDNSAnswer API).
 */
export const systemResolver: DnsResolver = async (name) => {
  try {
    return await dnsPromises.resolve4(name);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ENOTFOUND" || code === "ENODATA") return [];
    throw new DrError("DNS_FAILED", `cannot resolve ${name}: ${(e as Error).message}`, { hint: "check the resolver this machine uses and that it can see the private hosted zone", cause: e });
  }
};

/** SQL on a site's database, for what Pulumi cannot observe. */
export interface SiteDatabase {
  probe(endpoint: SiteEndpoint): Promise<Omit<SiteProbe, "site">>;
  /**
   * Waits until the restored cluster reached its goal: "pause" — recovery reached the target
   * and is paused there, read-only (or the server was opened meanwhile); "promote" — recovery
   * ended at the target and the server is open; "standby" — replay has caught up with the
   * archive (the startup process waits for WAL no source has: postgres/recovery-state.ts). Throws RECOVERY_TIMEOUT after
   * timeoutMs.
   */
  waitForRecovery(endpoint: SiteEndpoint, goal: { mode: "promote" | "pause" | "standby"; timeoutMs: number }): Promise<{ replayLsn?: string; lastCommitAt?: string }>;
  /**
   * Ends recovery (pg_promote, which also ends a pause at the target); a server already out of
   * recovery is left as it is.
   */
  promote(endpoint: SiteEndpoint): Promise<void>;
}

export interface PgSiteDatabaseOptions {
  /** How often a wait asks the site (default 5 s: every poll crosses the SSM forward). */
  pollMs?: number;
}

/**
 * Default SiteDatabase over node-postgres, connecting as the admin role through the endpoint
 * the SiteAccess returned; every question is the one recovery-state module's (the lab asks the
 * same): "caught up" is its definition, the startup process waiting for WAL no source has.
 */
export function pgSiteDatabase(opts: PgSiteDatabaseOptions = {}): SiteDatabase {
  const pollMs = opts.pollMs ?? 5000;
  const reached = { promote: (s: RecoveryState) => s.role === "primary", pause: (s: RecoveryState) => s.paused || s.role === "primary", standby: (s: RecoveryState) => caughtUp(s) };
  return {
    async probe(endpoint) {
      try {
        const s = await readRecoveryState(endpoint.admin);
        return { reachable: true, mode: s.role, lastCommitAt: s.lastReplayAt ?? undefined };
      } catch (e) {
        return { reachable: false, error: (e as Error).message };
      }
    },
    async waitForRecovery(endpoint, goal) {
      const s = await waitForState(endpoint.admin, `recovery on ${endpoint.site} reaching its goal (${goal.mode})`, reached[goal.mode], goal.timeoutMs, {
        pollMs,
        hint: "look at the PostgreSQL log on the host (journalctl -u postgresql@15-main); raise pulumi.restoreTimeout if replay is just slow",
      });
      return { replayLsn: s.replayLsn, lastCommitAt: s.lastReplayAt ?? undefined };
    },
    async promote(endpoint) {
      await promote(endpoint.admin);
    },
  };
}

/**
 * Runs a command on a site's host (SSM Run Command, or SSH through the SiteAccess path); a
 * non-zero exit rejects. `stdin` carries what must never be on a command line (a passfile line).
 */
export type HostCommandRunner = (site: string, outputs: SiteOutputs, argv: string[], stdin?: string) => Promise<{ stdout: string }>;
