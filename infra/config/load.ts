// Reading the stack config: from Pulumi's config map (the program) or from a
// Pulumi.<stack>.yaml file (tests, `dr` tooling), into the raw object the schema parses.
// parseStackConfig reports every problem at once, each with its key as written in the stack
// file ("fp-dr:host.dataVolumeGiB", "aws:region"), and never echoes a secret's value.
import { parseDocument } from "yaml";
import type { z } from "zod";
import { DrError } from "../../automation/core/errors";
import { crossFieldIssues } from "./rules";
import { secretKeys, stackConfigSchema, type StackConfig } from "./schema";

/** The Pulumi project name, the namespace of every config key of ours. */
export const projectName = "fp-dr";

export interface RawStackConfig {
  /** Keys of the fp-dr namespace (without the prefix), values as structured data. */
  values: Record<string, unknown>;
  /** Keys (without the prefix) whose values are Pulumi secrets. */
  secret: Set<string>;
}

/**
 * The key as an operator writes it in the stack file. Secret keys are marked "(secret)": it
 * tells the operator to use --secret, and keeps "…Password: <message>" from looking like an
 * assignment to the redaction every error message goes through.
 */
export function configKeyPath(path: readonly PropertyKey[]): string {
  const [head, ...rest] = path.map(String);
  if (head === undefined) return `${projectName}:`;
  const key = head === "region" ? "aws:region" : `${projectName}:${head}`;
  const full = rest.length ? `${key}.${rest.join(".")}` : key;
  return (secretKeys as readonly string[]).includes(head) ? `${full} (secret)` : full;
}

function issueLines(issues: readonly z.core.$ZodIssue[]): string[] {
  const lines: string[] = [];
  for (const i of issues) {
    if (i.code === "unrecognized_keys") {
      for (const k of i.keys) lines.push(`${configKeyPath([...i.path, k])}: unknown key (typo?)`);
    } else {
      lines.push(`${configKeyPath(i.path)}: ${i.message}`);
    }
  }
  return lines;
}

/**
 * Validates a raw stack config. Returns the typed config, or throws CONFIG_INVALID whose
 * message lists every problem on its own line ("fp-dr:host.dataVolumeGiB: …").
 */
export function parseStackConfig(raw: RawStackConfig, source = "stack configuration"): StackConfig {
  const problems: string[] = [];
  for (const key of secretKeys) {
    if (raw.values[key] !== undefined && !raw.secret.has(key)) {
      problems.push(`${configKeyPath([key])}: must be a secret, not plain text: pulumi config set --secret ${projectName}:${key} …`);
    }
  }
  const result = stackConfigSchema.safeParse(raw.values);
  if (!result.success) problems.push(...issueLines(result.error.issues));
  for (const i of crossFieldIssues(raw.values)) problems.push(`${configKeyPath(i.path)}: ${i.message}`);
  const unique = [...new Set(problems)];
  if (unique.length > 0 || !result.success) {
    throw new DrError("CONFIG_INVALID", `${source} is invalid (${unique.length} problem${unique.length === 1 ? "" : "s"}):\n  ${unique.join("\n  ")}`, {
      hint: "fix each key listed above in Pulumi.<stack>.yaml (`pulumi config set [--secret] fp-dr:<key> <value>`), then run again",
      details: { problems: unique },
    });
  }
  return result.data;
}

/**
 * Pulumi's flat config map ("fp-dr:host" → '{"instanceType":…}', "aws:region" → "eu-west-1")
 * as the raw object. Structured values arrive JSON-encoded; plain strings stay strings.
 */
export function rawFromConfigMap(all: Record<string, string>, isSecret: (key: string) => boolean): RawStackConfig {
  const values: Record<string, unknown> = {};
  const secret = new Set<string>();
  for (const [fullKey, text] of Object.entries(all)) {
    if (fullKey === "aws:region") {
      values.region = text;
      continue;
    }
    if (!fullKey.startsWith(`${projectName}:`)) continue;
    const key = fullKey.slice(projectName.length + 1);
    // A secret is always a string: a numeric-looking password must not turn into a number.
    if (isSecret(fullKey)) {
      secret.add(key);
      values[key] = text;
    } else {
      values[key] = decodeValue(text);
    }
  }
  return { values, secret };
}

function decodeValue(text: string): unknown {
  // Pulumi passes objects, arrays, numbers and booleans JSON-encoded, strings as they are.
  if (/^\s*[[{]/.test(text) || /^(true|false|-?\d+(\.\d+)?)$/.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/**
 * A Pulumi.<stack>.yaml file as the raw object: `secure:` values count as secrets (their
 * ciphertext stands in for the value, which only the Pulumi CLI can decrypt).
 */
export function rawFromStackFile(text: string): RawStackConfig {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    throw new DrError("CONFIG_INVALID", `stack file is not valid YAML: ${doc.errors.map((e) => e.message.split("\n")[0]).join("; ")}`, {
      hint: "fix the YAML syntax",
    });
  }
  const top = (doc.toJS() ?? {}) as { config?: Record<string, unknown> };
  const values: Record<string, unknown> = {};
  const secret = new Set<string>();
  for (const [fullKey, value] of Object.entries(top.config ?? {})) {
    if (fullKey === "aws:region") {
      values.region = value;
      continue;
    }
    if (!fullKey.startsWith(`${projectName}:`)) continue;
    const key = fullKey.slice(projectName.length + 1);
    const secure = typeof value === "object" && value !== null && "secure" in value ? (value as { secure: unknown }).secure : undefined;
    if (secure !== undefined) {
      secret.add(key);
      values[key] = typeof secure === "string" ? secureStandIn(key, secure) : secure;
    } else {
      values[key] = value;
    }
  }
  return { values, secret };
}

/** A value of the right shape for a `secure:` key whose ciphertext we cannot decrypt. */
function secureStandIn(key: string, ciphertext: string): string {
  if (key === "sshPrivateKey") return `-----BEGIN OPENSSH PRIVATE KEY-----\n${ciphertext}\n-----END OPENSSH PRIVATE KEY-----`;
  return ciphertext;
}
