// The pulumi engine from the dr config: the LocalWorkspace adapter on this repository's
// project (backend, secrets provider and CLI from `pulumi:` in the config or the environment)
// and the engine on top, with pgBackRest access to the S3 repositories when pgbackrest is
// installed (./repositories.ts). The CLI wiring calls this; tests build PulumiEngine directly.
import type { DrConfig } from "../../config/schema";
import { PulumiEngine, type PulumiEngineOptions } from "./engine";
import { openLocalWorkspace, type PulumiCli } from "./local-workspace";
import { onPath, pulumiRepositories } from "./repositories";

export interface OpenPulumiEngineOptions extends Omit<PulumiEngineOptions, "ops" | "config"> {
  /** A CLI double (contract tests); default: the real `pulumi`. */
  pulumiCommand?: PulumiCli;
  /** Extra environment for the CLI (e.g. AWS_PROFILE). */
  envVars?: Record<string, string>;
}

export async function openPulumiEngine(config: DrConfig, opts: OpenPulumiEngineOptions = {}): Promise<PulumiEngine> {
  const { pulumiCommand, envVars, ...engine } = opts;
  const p = config.pulumi;
  const ops = await openLocalWorkspace({ workDir: p.workDir, command: p.command, backendUrl: p.backendUrl, secretsProvider: p.secretsProvider, pulumiCommand, envVars });
  // Without pgbackrest here the engine's pre-flight refuses honestly (DEPENDENCY_MISSING).
  const repositories = engine.repositories ?? (p.repositories.enabled && onPath("pgbackrest") ? pulumiRepositories({ ops, config }) : undefined);
  return new PulumiEngine({ ...engine, repositories, ops, config });
}
