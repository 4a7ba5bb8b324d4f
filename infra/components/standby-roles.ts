// The remote commands that move a site's standby role: StandbyStream points the standby at its
// primary (passfile, primary_conninfo, slot; re-run after every restore, which rewrites the
// recovery settings), Promote runs a promote request once per request id. Both are updated on
// their own by the automation (`pulumi up --target`), like the restore.
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { promoteScript, remoteShell, standbyStreamScript, type StandbyStreamSpec } from "../host-commands";
import { childName } from "../naming";
import type { SshConnection } from "./host-ready";

export interface StandbyStreamArgs {
  /** SSH connection to the host. Required. */
  connection: pulumi.Input<SshConnection>;
  /** The primary, role, slot and the replication password (secret). Required. */
  stream: pulumi.Input<StandbyStreamSpec>;
  /** What re-runs it: the primary, role and slot, the restore request id, the instance (not the secret). Required. */
  triggers: pulumi.Input<unknown>[];
}

export class StandbyStream extends pulumi.ComponentResource {
  readonly command: command.remote.Command;

  constructor(name: string, args: StandbyStreamArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fp-dr:site:StandbyStream", name, {}, opts);
    const stream = pulumi.output(args.stream);
    this.command = new command.remote.Command(
      childName(name, "conninfo"),
      {
        connection: args.connection,
        create: remoteShell,
        // The script carries the password: a secret in the state.
        stdin: pulumi.secret(stream.apply(standbyStreamScript)),
        triggers: args.triggers,
        logging: "stdoutAndStderr",
      },
      { parent: this },
    );
    this.registerOutputs({});
  }
}

export interface PromoteArgs {
  /** SSH connection to the host. Required. */
  connection: pulumi.Input<SshConnection>;
  /** The request (fp-dr:promote). Required. */
  request: { requestId: string; waitSeconds: number };
  /** Slot to create for the other site once this one is primary. Default none. */
  slot?: string;
  /** The instance. Required. */
  instanceId: pulumi.Input<string>;
}

export class Promote extends pulumi.ComponentResource {
  readonly requestId: string;
  readonly command: command.remote.Command;

  constructor(name: string, args: PromoteArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fp-dr:site:Promote", name, {}, opts);
    this.requestId = args.request.requestId;
    this.command = new command.remote.Command(
      childName(name, "pg-promote"),
      {
        connection: args.connection,
        create: remoteShell,
        stdin: promoteScript({ ...args.request, slot: args.slot }),
        triggers: [args.request.requestId, args.instanceId],
        logging: "stdoutAndStderr",
      },
      { parent: this, customTimeouts: { create: `${Math.ceil(args.request.waitSeconds / 60) + 5}m` } },
    );
    this.registerOutputs({ requestId: this.requestId });
  }
}
