// A restore request from config, carried out on the site's host: `pgbackrest restore` of a
// backup set or to a target (time, LSN, restore point), opening by itself (promote) or paused
// there read-only until the automation opens it (pause), or as a standby that keeps replaying.
// The request id is the trigger: a new id re-runs the restore, an unchanged one never does.
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

/**
 * What re-runs the restore when it changes (a replacement of the command). The LSN and name
 * targets are appended only when given, so that a standing request (the secondary's warm
 * standby) keeps exactly the triggers it was created with and is not restored again by an
 * upgrade of fp-dr. For the same reason the script of such a request must not change: any
 * change of the command's inputs runs it again (see host-commands.test.ts).
 */
function restoreTriggers(r: RestoreRequestSpec, instanceId: pulumi.Input<string>): pulumi.Input<unknown>[] {
  const triggers: pulumi.Input<unknown>[] = [r.requestId, r.set ?? "", r.targetTime ?? "", r.mode, r.repo, instanceId];
  if (r.targetLsn) triggers.push(`lsn:${r.targetLsn}`);
  if (r.targetName) triggers.push(`name:${r.targetName}`);
  return triggers;
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
        triggers: restoreTriggers(r, args.instanceId),
        logging: "stdoutAndStderr",
      },
      { parent: this, customTimeouts: { create: timeout, update: timeout } },
    );
    this.registerOutputs({ requestId: this.requestId });
  }
}
