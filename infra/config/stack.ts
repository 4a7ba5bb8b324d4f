// The running stack's config: Pulumi's config map → raw object → validated StackConfig. The
// program calls this first, so an invalid Pulumi.<stack>.yaml stops the run, with every
// problem listed, before a single resource is declared.
import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig, rawFromConfigMap } from "./load";
import type { StackConfig } from "./schema";

/** Pulumi's runtime knows which keys are secrets; the function is not in its typings. */
function isSecretKey(key: string): boolean {
  const runtime = pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean };
  if (typeof runtime.isConfigSecret === "function") return runtime.isConfigSecret(key);
  // Fallback for SDKs without it: the language host's environment variable.
  const keys = process.env.PULUMI_CONFIG_SECRET_KEYS;
  return keys ? (JSON.parse(keys) as string[]).includes(key) : false;
}

export function loadStackConfig(): StackConfig {
  const raw = rawFromConfigMap(pulumi.runtime.allConfig(), isSecretKey);
  return parseStackConfig(raw, `Pulumi.${pulumi.getStack()}.yaml`);
}
