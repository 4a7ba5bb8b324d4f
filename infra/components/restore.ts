// A restore request from config, carried out on the site's host: `pgbackrest restore` of a
// backup set or to a point in time (or as a standby that keeps replaying). The request id is
// the trigger: a new id re-runs the restore, an unchanged one never does.
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { remoteShell, restoreScript, type RestoreRequestSpec } from "../host-commands";
import { childName } from "../naming";
import type { SshConnection } from "./host-ready";

export interface RestoreArgs {
  /** SSH connection to the host. Required. */
  connection: pulumi.Input<SshConnection>;
  /** The request. Required. */
  request: RestoreRequestSpec;
  /** The instance; a replaced host gets the restore again. Required. */
  instanceId: pulumi.Input<string>;
  /** How long the restore may take, in seconds. Default 4 hours. */
  timeoutSeconds?: number;
}

export class Restore extends pulumi.ComponentResource {
  readonly requestId: string;
  readonly script: string;
  readonly command: command.remote.Command;

  constructor(name: string, args: RestoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fp-dr:site:Restore", name, {}, opts);
    const r = args.request;
    this.requestId = r.requestId;
    this.script = restoreScript(r);
    const timeout = `${Math.ceil((args.timeoutSeconds ?? 4 * 3600) / 60)}m`;
    this.command = new command.remote.Command(
      childName(name, "pgbackrest"),
      {
        connection: args.connection,
        create: remoteShell,
        stdin: this.script,
        triggers: [r.requestId, r.set ?? "", r.targetTime ?? "", r.mode, r.repo, args.instanceId],
        logging: "stdoutAndStderr",
      },
      { parent: this, customTimeouts: { create: timeout, update: timeout } },
    );
    this.registerOutputs({ requestId: this.requestId });
  }
}
