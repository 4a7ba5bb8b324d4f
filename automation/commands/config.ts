// `dr config show|validate`: the effective configuration, and a check that lists every problem.
import { stringify } from "yaml";
import type { Deps } from "./deps";
import { loadConfig } from "../core/load-config";
import type { DrConfig } from "../config/schema";

export async function showConfig(deps: Deps): Promise<{ source: string; config: DrConfig; yaml: string }> {
  const source = deps.configSource ?? "embedded default (the local lab)";
  return { source, config: deps.config, yaml: `# source: ${source}\n${stringify(deps.config)}` };
}

/** Validation happens in loadConfig; reaching the end means the file is valid. */
export async function validateConfig(deps: Deps, file?: string): Promise<{ source: string; valid: true }> {
  const loaded = file ? loadConfig({ path: file }) : { source: deps.configSource };
  return { source: loaded.source ?? "embedded default", valid: true };
}
