// The stack outputs of a site, typed in one place: the program exports exactly these keys and
// automation/ (the pulumi engine) reads them back through `parseSiteOutputs`. No Pulumi
// import, so automation can load this file without loading the Pulumi SDK.
import { z } from "zod";
import { DrError } from "../automation/core/errors";
import { fenceModes } from "./config/requests";

const repositoryOutput = z.object({
  bucket: z.string(),
  region: z.string(),
  /** pgBackRest repo path (key prefix), e.g. /pgbackrest. */
  path: z.string(),
  /** This region's backup key; absent for a repository another stack owns. */
  kmsKeyArn: z.string().optional(),
  /** pgBackRest repository encryption (aes-256-cbc with the stack's passphrase). */
  cipher: z.boolean(),
});

export const siteOutputsSchema = z.object({
  environment: z.string(),
  /** Site name: "primary", "secondary", "drill-<id>" (the Site metric dimension). */
  site: z.string(),
  role: z.enum(["primary", "secondary", "drill"]),
  region: z.string(),
  stanza: z.string(),
  database: z.string(),
  vpcId: z.string(),
  instanceId: z.string(),
  privateIp: z.string(),
  /** Where PostgreSQL listens inside the site's network. */
  endpoint: z.object({ host: z.string(), port: z.number() }),
  securityGroups: z.object({
    /** The host's group (5432 from the application only). */
    database: z.string(),
    /** No ingress, no egress: swapped onto the host during a security incident. */
    isolation: z.string(),
  }),
  /** repo1: this region's repository; repo2: the offsite one (none for a drill). */
  repositories: z.object({ repo1: repositoryOutput, repo2: repositoryOutput.optional() }),
  /** SNS topic ARNs per severity (none for a drill). */
  topics: z.object({ critical: z.string(), warning: z.string(), info: z.string() }).optional(),
  /** CloudWatch alarm names of the site. */
  alarms: z.array(z.string()),
  /** Failover records (secondary stack only). */
  dns: z
    .object({
      zoneId: z.string(),
      serviceName: z.string(),
      activeSite: z.enum(["auto", "primary", "secondary"]),
      healthCheckId: z.string(),
      primaryAddress: z.string(),
      secondaryAddress: z.string(),
    })
    .optional(),
  /** The restore request last applied by this stack. */
  restore: z.object({ requestId: z.string(), command: z.string() }).optional(),
  drill: z.object({ id: z.string(), expiresAt: z.string() }).optional(),
  /**
   * The stream between the sites: the peering connection this stack requested (secondary: the
   * primary stack accepts this id) or accepted, the replication role and slot; and, on a
   * standby that streams, the primary it streams from.
   */
  replication: z.object({ peeringConnectionId: z.string(), role: z.string(), slot: z.string(), primaryHost: z.string().optional() }).optional(),
  /** The promote request last applied by this stack. */
  promote: z.object({ requestId: z.string() }).optional(),
  /** The fence in force (fp-dr:fence): the host is isolated, or isolated and stopped. */
  fence: z.object({ mode: z.enum(fenceModes), requestId: z.string() }).optional(),
  /**
   * A replacement host after a hardware failure (fp-dr:replacement): its instance and address;
   * once `reachable`, instanceId and privateIp above are the replacement's too (the fence stays
   * on the old host).
   */
  replacement: z.object({ id: z.string(), reachable: z.boolean(), instanceId: z.string(), privateIp: z.string() }).optional(),
  incidentManager: z
    .object({
      escalationPlanArn: z.string(),
      responsePlans: z.object({ critical: z.string(), warning: z.string() }),
    })
    .optional(),
});

export interface SiteOutputs extends z.infer<typeof siteOutputsSchema> {}

/** The output keys, in declaration order: the program exports each as a stack output. */
export const siteOutputKeys = Object.keys(siteOutputsSchema.shape) as (keyof SiteOutputs)[];

/**
 * Reads a stack's outputs as the Automation API returns them ({ key: { value, secret } }) or
 * as plain values, and validates them. Throws listing every missing or malformed key.
 */
export function parseSiteOutputs(raw: Record<string, unknown>): SiteOutputs {
  const values: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    values[k] = typeof v === "object" && v !== null && "value" in v && Object.keys(v).every((x) => x === "value" || x === "secret") ? (v as { value: unknown }).value : v;
  }
  const result = siteOutputsSchema.safeParse(values);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new DrError("INTERNAL", `stack outputs do not match SiteOutputs (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n  ${problems.join("\n  ")}`, {
      hint: "run `pulumi up` on the stack with this version of fp-dr so that its outputs are current",
      details: { problems },
    });
  }
  return result.data;
}
