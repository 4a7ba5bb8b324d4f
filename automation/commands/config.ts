// `dr config show|validate`: the effective configuration, and a check that lists every problem.
// `show` adds the invariants in force (the lab's built-in ones included): what the gate checks.
import { stringify } from "yaml";
import type { Deps } from "./deps";
import { loadConfig } from "../core/load-config";
import type { DrConfig } from "../config/schema";
import { invariantsInForce, type InvariantsInForce } from "../verify/invariants";

export async function showConfig(deps: Deps): Promise<{ source: string; config: DrConfig; invariantsInForce: InvariantsInForce; yaml: string }> {
  const source = deps.configSource ?? "embedded default (the local lab)";
  const inForce = invariantsInForce(deps.config);
  // As YAML comments, so that the output stays a configuration file one can load.
  const listed = [
    `# invariants in force (the gate, and every manifest at backup time): ${inForce.invariants.length}, ${inForce.origin}`,
    ...inForce.invariants.flatMap((i) => [
      `#   - ${i.name} (expect ${String(i.expect)}): ${i.sql.replace(/\s+/g, " ")}`,
      ...(i.since ? [`#     since the backup's proofs (restore-path gates): ${i.since.sql.replace(/\s+/g, " ")}`] : []),
    ]),
  ];
  return { source, config: deps.config, invariantsInForce: inForce, yaml: `# source: ${source}\n${stringify(deps.config)}${listed.join("\n")}\n` };
}

/** Validation happens in loadConfig; reaching the end means the file is valid. */
export async function validateConfig(deps: Deps, file?: string): Promise<{ source: string; valid: true }> {
  const loaded = file ? loadConfig({ path: file }) : { source: deps.configSource };
  return { source: loaded.source ?? "embedded default", valid: true };
}
