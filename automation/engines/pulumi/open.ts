// The pulumi engine from the dr config: the LocalWorkspace adapter on this repository's
// project (backend, secrets provider and CLI from `pulumi:` in the config or the environment)
// and the engine on top, with pgBackRest access to the S3 repositories when pgbackrest is
// installed (./repositories.ts), SSM port forwards to the hosts (./ssm-access.ts) and SSM Run
// Command on them (./ssm-commands.ts). The CLI wiring calls this; tests build PulumiEngine directly.
import type { DrConfig } from "../../config/schema";
import { PulumiEngine, type PulumiEngineOptions } from "./engine";
import { defaultWorkDir, openLocalWorkspace, type PulumiCli } from "./local-workspace";
import { ControlState, withControlState } from "./control-writes";
import { prepareOwnWorkspace } from "./own-workspace";
import { openSharedStore } from "../../core/shared-store-open";
import { pulumiWorkspaceDir } from "../../core/state-dirs";
import { onPath, pulumiRepositories } from "./repositories";
import { describeForward, ssmPortForwardAccess } from "./ssm-access";
import { ssmRunCommand } from "./ssm-commands";

export interface OpenPulumiEngineOptions extends Omit<PulumiEngineOptions, "ops" | "config"> {
  /** A CLI double (contract tests); default: the real `pulumi`. */
  pulumiCommand?: PulumiCli;
  /** Extra environment for the CLI (e.g. AWS_PROFILE). */
  envVars?: Record<string, string>;
  /** Told what the default access opened (the SSM port forwards), one line each. */
  onAccess?: (line: string) => void;
}

export async function openPulumiEngine(config: DrConfig, opts: OpenPulumiEngineOptions = {}): Promise<PulumiEngine> {
  const { pulumiCommand, envVars, onAccess, ...engine } = opts;
  const p = config.pulumi;
  // A workspace of its own (never the operator's stack files), whose decisions go to the
  // environment's control document first, where every `pulumi up` reads them.
  const workDir = prepareOwnWorkspace(p.workDir ?? defaultWorkDir(), pulumiWorkspaceDir(config));
  const local = await openLocalWorkspace({ workDir, command: p.command, backendUrl: p.backendUrl, secretsProvider: p.secretsProvider, pulumiCommand, envVars });
  const control = new ControlState(await openSharedStore(config), config.environment);
  const ops = withControlState(local, control);
  // Without pgbackrest here the engine's pre-flight refuses honestly (DEPENDENCY_MISSING).
  const repositories = engine.repositories ?? (p.repositories.enabled && onPath("pgbackrest") ? pulumiRepositories({ ops, config }) : undefined);
  // Sites with access.via=ssm are reached through Session Manager port forwards, opened on first
  // use and reported; others at their private address (dr inside the VPC, or a bastion).
  // Each forward is said as it opens and kept for the run's notes (the runner takes them).
  const opened: string[] = [];
  const access = engine.access ?? ssmPortForwardAccess({ onOpened: (f) => { const line = describeForward(f); opened.push(line); onAccess?.(line); } });
  // Commands on a host (the post-checks' first backup) through SSM Run Command.
  const hostCommands = engine.hostCommands ?? ssmRunCommand();
  // takeNotes is set here, not in the engine: only the default access reports what it opened.
  return Object.assign(new PulumiEngine({ ...engine, access, hostCommands, repositories, ops, control, config }), { takeNotes: () => opened.splice(0) });
}
