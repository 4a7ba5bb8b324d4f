// The running stack's config: Pulumi's config map → raw object → validated StackConfig. The
// program calls this first, so an invalid Pulumi.<stack>.yaml stops the run, with every
// problem listed, before a single resource is declared.
import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig, rawFromConfigMap } from "./load";
import type { StackConfig } from "./schema";
import { overlayControl } from "./control-state";
import { openControlStore, readControlDocument } from "./control-read";
import { refuseDuringSwitchover } from "./switchover-guard";

/** Pulumi's runtime knows which keys are secrets; the function is not in its typings. */
function isSecretKey(key: string): boolean {
  const runtime = pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean };
  if (typeof runtime.isConfigSecret === "function") return runtime.isConfigSecret(key);
  // Fallback for SDKs without it: the language host's environment variable.
  const keys = process.env.PULUMI_CONFIG_SECRET_KEYS;
  return keys ? (JSON.parse(keys) as string[]).includes(key) : false;
}

/**
 * The stack's declaration (Pulumi.<stack>.yaml) with the environment's control state laid over
 * it: the latest failover decisions, whoever runs the update and from whichever checkout.
 */
export async function loadStackConfig(): Promise<StackConfig> {
  const raw = rawFromConfigMap(pulumi.runtime.allConfig(), isSecretKey);
  const environment = typeof raw.values.environment === "string" ? raw.values.environment : "production";
  const control = await readControlDocument(await openControlStore(raw.values.sharedState), environment);
  // The automation's own updates run the program with its run id in the environment (plans/runner.ts).
  refuseDuringSwitchover(control, process.env.FP_DR_RUN_ID, process.env.FP_DR_EPOCH ? Number(process.env.FP_DR_EPOCH) : undefined);
  return parseStackConfig(overlayControl(raw, control, pulumi.getStack()), `Pulumi.${pulumi.getStack()}.yaml${control ? ` with control state v${control.version}` : ""}`);
}
