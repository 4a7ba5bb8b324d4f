// Loads the `dr` configuration: the file (--config, else ./dr.config.yaml if present, else
// nothing: the embedded lab default), then FP_DR_* environment overrides, then validation.
// An invalid configuration is reported whole: every problem with its field path.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseDocument } from "yaml";
import { DrError } from "./errors";
import { formatIssues } from "../config/common";
import { drConfigSchema, type DrConfig } from "../config/schema";

/** Environment variables that override config fields (path in the config → variable). */
export const envOverrides: Record<string, string[]> = {
  FP_DR_ENVIRONMENT: ["environment"],
  FP_DR_ENGINE: ["engine"],
  FP_DR_LAB_DIR: ["lab", "dir"],
  FP_DR_LAB_SCALE: ["lab", "scale"],
  FP_DR_SERVICE_USER: ["lab", "serviceUser"],
  FP_DR_REPORTS_DIR: ["reports", "dir"],
  FP_DR_STANDBY: ["standby", "enabled"],
  // The pulumi engine. PULUMI_BACKEND_URL and PULUMI_CONFIG_PASSPHRASE need no entry: the
  // Pulumi CLI reads them from the environment itself when the config does not say otherwise.
  FP_DR_PULUMI_WORK_DIR: ["pulumi", "workDir"],
  FP_DR_PULUMI_BACKEND_URL: ["pulumi", "backendUrl"],
  FP_DR_PULUMI_SECRETS_PROVIDER: ["pulumi", "secretsProvider"],
  FP_DR_PULUMI_COMMAND: ["pulumi", "command"],
  FP_DR_PULUMI_JOURNAL_DIR: ["pulumi", "journalDir"],
};

export interface LoadedConfig {
  config: DrConfig;
  /** The file it came from, or undefined for the embedded default. */
  source?: string;
}

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const key of path.slice(0, -1)) {
    if (typeof cur[key] !== "object" || cur[key] === null) cur[key] = {};
    cur = cur[key] as Record<string, unknown>;
  }
  cur[path[path.length - 1]] = value;
}

/**
 * Parses and validates a config object; throws CONFIG_INVALID listing every problem. A field
 * set by an environment variable (`fromEnv`: field path → variable) is blamed on the variable.
 */
export function parseConfig(raw: unknown, source = "configuration", fromEnv: Record<string, string> = {}): DrConfig {
  const result = drConfigSchema.safeParse(raw ?? {});
  if (!result.success) {
    const problems = formatIssues(result.error).map((p) => {
      const variable = Object.entries(fromEnv).find(([path]) => p.startsWith(`${path}:`))?.[1];
      return variable ? `${p} (set by ${variable})` : p;
    });
    const vars = [...new Set(problems.map((p) => /\(set by (\w+)\)$/.exec(p)?.[1]).filter(Boolean))];
    if (vars.length) source = `${source} with ${vars.join(", ")} from the environment`;
    throw new DrError("CONFIG_INVALID", `${source} is invalid (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n  ${problems.join("\n  ")}`, {
      hint: "fix each field listed above; `dr config show --json` prints the effective configuration",
      details: { problems },
    });
  }
  return result.data;
}

/** A variable's text as the field's type: a number for the scale, true/false for a switch (anything else is left for validation to blame). */
function envValue(path: string[], value: string): unknown {
  const field = path[path.length - 1];
  if (field === "scale") return Number(value);
  if (field === "enabled" && (value === "true" || value === "false")) return value === "true";
  return value;
}

export function loadConfig(opts: { path?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): LoadedConfig {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  if (opts.path === "") {
    throw new DrError("CONFIG_INVALID", "--config was given an empty file name", { hint: "name a file, or leave --config out to use ./dr.config.yaml or the embedded lab default" });
  }
  const explicit = opts.path ?? (env.FP_DR_CONFIG || undefined);
  const candidate = explicit ? resolve(cwd, explicit) : resolve(cwd, "dr.config.yaml");
  let raw: Record<string, unknown> = {};
  let source: string | undefined;
  if (existsSync(candidate)) {
    source = candidate;
    const doc = parseDocument(readFileSync(candidate, "utf8"));
    if (doc.errors.length > 0) {
      const problems = doc.errors.map((e) => `line ${e.linePos?.[0]?.line ?? "?"}: ${e.message.split("\n")[0]}`);
      throw new DrError("CONFIG_INVALID", `${candidate} is not valid YAML:\n  ${problems.join("\n  ")}`, {
        hint: "fix the YAML syntax at the lines listed",
        details: { problems },
      });
    }
    const value = doc.toJS() ?? {};
    if (typeof value !== "object" || Array.isArray(value)) {
      throw new DrError("CONFIG_INVALID", `${candidate} must hold a mapping at the top level`, { hint: "see README.md for an example dr.config.yaml" });
    }
    raw = value as Record<string, unknown>;
  } else if (explicit) {
    throw new DrError("CONFIG_INVALID", `config file not found: ${candidate}`, {
      hint: "pass an existing file with --config, or omit it to use the embedded lab default",
    });
  }
  const fromEnv: Record<string, string> = {};
  for (const [name, path] of Object.entries(envOverrides)) {
    const value = env[name];
    if (value === undefined || value === "") continue;
    setPath(raw, path, envValue(path, value));
    fromEnv[path.join(".")] = name;
  }
  return { config: parseConfig(raw, source ?? "embedded default configuration", fromEnv), source };
}
