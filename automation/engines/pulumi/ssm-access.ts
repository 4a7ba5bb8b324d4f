// The default way in on AWS when a site's `access.via` is ssm: Session Manager port forwards of
// the site's instance to this machine, 127.0.0.1:<ssh port> → 22 (Pulumi's remote commands
// connect there) and 127.0.0.1:<postgres port> → 5432 (every SQL check). Each forward is an
// `aws ssm start-session --document-name AWS-StartPortForwardingSession` process, started once
// per site, waited for until its local port accepts connections (bounded), and stopped by
// close(). What it opened is recorded, so the engine's pre-flight can say so.
import { spawn, type ChildProcess } from "node:child_process";
import { connect } from "node:net";
import { DrError } from "../../core/errors";
import type { DbAddress, SiteAccess } from "./access";
import { pollUntil } from "../../core/poll";

export interface OpenedForward {
  site: string;
  instanceId: string;
  region: string;
  localPort: number;
  remotePort: number;
  pid?: number;
}

export interface SsmPortForwardOptions {
  /** The AWS CLI (with the session-manager plugin). Default "aws". */
  command?: string;
  /** Longest wait for a forward's local port to accept connections. Default 30 s. */
  readyTimeoutMs?: number;
  /** Extra environment (AWS_PROFILE…). */
  env?: NodeJS.ProcessEnv;
  /** Told of every forward once it accepts connections (the pre-flight's report of what it opened). */
  onOpened?: (f: OpenedForward) => void;
}

export interface SsmPortForwardAccess extends SiteAccess {
  /** Forwards open now, for the pre-flight report. */
  opened(): OpenedForward[];
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

/** One line for the operator: what was opened, to where. */
export function describeForward(f: OpenedForward): string {
  return `opened ssm port forward for ${f.site}: 127.0.0.1:${f.localPort} → ${f.instanceId}:${f.remotePort} (${f.region}, pid ${f.pid ?? "?"})`;
}

export function ssmPortForwardAccess(opts: SsmPortForwardOptions = {}): SsmPortForwardAccess {
  const command = opts.command ?? "aws";
  const bound = opts.readyTimeoutMs ?? 30_000;
  const forwards = new Map<string, { info: OpenedForward; child: ChildProcess; stderr: string[] }[]>();

  async function forward(site: string, instanceId: string, region: string, remotePort: number, localPort: number) {
    const args = [
      "ssm", "start-session",
      "--region", region,
      "--target", instanceId,
      "--document-name", "AWS-StartPortForwardingSession",
      "--parameters", JSON.stringify({ portNumber: [String(remotePort)], localPortNumber: [String(localPort)] }),
    ];
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...opts.env } });
    const stderr: string[] = [];
    child.stderr?.on("data", (d) => stderr.push(String(d)));
    let exited: number | null | undefined;
    let spawnError: Error | undefined;
    child.once("exit", (code) => (exited = code));
    child.once("error", (e) => (spawnError = e));
    const entry = { info: { site, instanceId, region, localPort, remotePort, pid: child.pid }, child, stderr };
    // Poll the real signal: the local port accepts a connection (bounded).
    await pollUntil(
      async () => {
        if (spawnError) throw new DrError("DEPENDENCY_MISSING", `cannot start ${command} for the ssm port forward to ${site}: ${spawnError.message}`, { hint: "install the AWS CLI v2 and its session-manager plugin, or set access.via to bastion" });
        if (exited !== undefined) {
          throw new DrError("SITE_UNREACHABLE", `the ssm port forward to ${site} (${instanceId}:${remotePort}) ended (exit ${exited}): ${stderr.join("").trim().split("\n").pop() ?? ""}`, {
            hint: "check the instance is registered with Systems Manager (its agent and the ssm endpoints) and your credentials allow ssm:StartSession",
          });
        }
        return (await accepts(localPort)) || undefined;
      },
      {
        what: `the ssm port forward to ${site} to open 127.0.0.1:${localPort}`,
        timeoutMs: bound,
        intervalMs: 200,
        onTimeout: async () => {
          await stop(child);
          return new DrError("SITE_UNREACHABLE", `the ssm port forward to ${site} (${instanceId}:${remotePort}) did not open 127.0.0.1:${localPort} within ${Math.round(bound / 1000)} s`, { hint: "is another process holding that local port? are the ssm endpoints reachable from the instance?" });
        },
      },
    );
    return entry;
  }

  return {
    async open(site, outputs, ports): Promise<DbAddress> {
      if (ports.via !== "ssm") return { host: outputs.endpoint.host, port: outputs.endpoint.port };
      const live = forwards.get(site);
      if (live && live.every((f) => f.child.exitCode === null && f.info.instanceId === outputs.instanceId)) return { host: "127.0.0.1", port: ports.postgres };
      await this.close(site);
      const opened: { info: OpenedForward; child: ChildProcess; stderr: string[] }[] = [];
      try {
        opened.push(await forward(site, outputs.instanceId, outputs.region, 22, ports.ssh));
        opened.push(await forward(site, outputs.instanceId, outputs.region, 5432, ports.postgres));
      } catch (e) {
        await Promise.all(opened.map((f) => stop(f.child)));
        throw e;
      }
      forwards.set(site, opened);
      for (const f of opened) opts.onOpened?.(f.info);
      return { host: "127.0.0.1", port: ports.postgres };
    },
    async close(site) {
      // Stopped means exited: the local port is free again when close() returns (5 s, then SIGKILL).
      await Promise.all((forwards.get(site) ?? []).map((f) => stop(f.child)));
      forwards.delete(site);
    },
    opened() {
      return [...forwards.values()].flat().map((f) => f.info);
    },
  };
}
