// The gate in front of everything that talks to PostgreSQL: a remote command that returns only
// when the host's bootstrap has finished and PostgreSQL accepts connections (and, on the
// writer, the provider's superuser exists with the stack's password). Database objects and
// restores depend on it, so they are never attempted against a host that is still booting.
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { readyScript, remoteShell } from "../host-commands";
import { childName } from "../naming";

export type SshConnection = command.types.input.remote.ConnectionArgs;

export interface HostReadyArgs {
  /** SSH connection to the host (SSM port forward or bastion). Required. */
  connection: pulumi.Input<SshConnection>;
  /** The instance; a new instance re-runs the gate. Required. */
  instanceId: pulumi.Input<string>;
  /** Superuser to ensure, with its password (secret). Default none (standby, drill). */
  admin?: { role: string; password: pulumi.Input<string> };
  /** How long to wait for the bootstrap. Default 30 minutes. */
  timeout?: string;
}

export class HostReady extends pulumi.ComponentResource {
  /** Depend on this to run only against a ready host. */
  readonly gate: command.remote.Command;

  constructor(name: string, args: HostReadyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fp-dr:site:HostReady", name, {}, opts);
    const admin = args.admin;
    const script = admin
      ? pulumi.secret(pulumi.output(admin.password).apply((password) => readyScript({ role: admin.role, password })))
      : pulumi.output(readyScript());
    this.gate = new command.remote.Command(
      childName(name, "gate"),
      {
        connection: args.connection,
        create: remoteShell,
        stdin: script,
        triggers: [args.instanceId],
        // The output holds nothing secret, but the script on stdin may: log nothing.
        logging: "none",
      },
      { parent: this, customTimeouts: { create: args.timeout ?? "30m", update: args.timeout ?? "30m" }, additionalSecretOutputs: ["stdin"] },
    );
    this.registerOutputs({});
  }
}
