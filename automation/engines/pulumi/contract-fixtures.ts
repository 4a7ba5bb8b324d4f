// Fixtures of the contract test: the two site stacks as the CLI would report their config
// (from the repository's real Pulumi.primary.yaml / Pulumi.secondary.yaml, `secure:` values
// replaced by test secrets), a fake program computing SiteOutputs from a stack's config, and
// the dr config the engine is given.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { parseConfig } from "../../core/load-config";
import type { DrConfig } from "../../config/schema";
import type { SiteOutputs } from "../../../infra/outputs";
import { testSecrets } from "../../../infra/testing/mocks";

export { testSecrets };
import { configValue, siteNameInStack } from "./stack-config";
import type { StoredConfig } from "./stack-ops";

export const repoRoot = join(__dirname, "..", "..", "..");
export const backendUrl = "s3://fp-dr-pulumi-state?region=eu-west-1";
export const secretsProvider = "awskms://alias/fp-dr-pulumi?region=eu-west-1";
export const accountId = "123456789012";
export const addresses: Record<string, string> = { primary: "10.20.7.42", secondary: "10.30.1.20" };
export const drillAddress = "10.31.4.17";
/** The primary's replacement host (hardware failure), in the primary region's other subnet. */
export const replacementHost = { instanceId: "i-0c7d6e5f4a3b2c1d0", privateIp: "10.20.8.17" };


/** A stack file's config as `pulumi config --show-secrets --json` reports it. */
export function storedConfigFromStackFile(file: string, extraSecrets: string[] = []): StoredConfig {
  const doc = parse(readFileSync(join(repoRoot, file), "utf8")) as { config: Record<string, unknown> };
  const out: StoredConfig = {};
  for (const [key, value] of Object.entries(doc.config)) {
    if (typeof value === "object" && value !== null && "secure" in value) {
      out[key] = { value: testSecrets[key.replace(/^fp-dr:/, "")], secret: true };
    } else if (typeof value === "object" && value !== null) {
      out[key] = { value: JSON.stringify(value), objectValue: value, secret: false };
    } else {
      out[key] = { value: String(value), secret: false };
    }
  }
  for (const k of extraSecrets) out[`fp-dr:${k}`] = { value: testSecrets[k], secret: true };
  return out;
}

const bucket = (region: string) => `fp-dr-production-pgbackrest-${region}-${accountId}`;

/** What the program would export for a stack with this config (SiteOutputs, plain values). */
export function fakeProgram(_stack: string, config: StoredConfig): Record<string, unknown> {
  const role = configValue(config, "fp-dr:role") as SiteOutputs["role"];
  const region = String(configValue(config, "aws:region"));
  const site = siteNameInStack(config);
  const privateIp = role === "drill" ? drillAddress : addresses[site];
  const offsite = configValue(config, "fp-dr:offsite") as { region: string } | undefined;
  const dns = configValue(config, "fp-dr:dns") as { zoneId: string; serviceName: string; activeSite: "auto" | "primary" | "secondary" } | undefined;
  const access = configValue(config, "fp-dr:access") as { hostReachable?: boolean } | undefined;
  const restore = configValue(config, "fp-dr:restore") as { requestId: string } | undefined;
  const drill = configValue(config, "fp-dr:drill") as { id: string; expiresAt: string } | undefined;
  const replacement = role === "primary" ? (configValue(config, "fp-dr:replacement") as { id: string; reachable?: boolean } | undefined) : undefined;
  // Once reachable, the site's instance and address are the replacement's (infra Site).
  const active = replacement?.reachable ? replacementHost : undefined;
  const repo = (r: string) => ({ bucket: bucket(r), region: r, path: "/pgbackrest", cipher: true });
  const outputs: SiteOutputs = {
    environment: "production",
    site,
    role,
    region,
    stanza: "fp",
    database: "financial_planning",
    vpcId: `vpc-${site}`,
    instanceId: active?.instanceId ?? `i-0${site.length}f3e2d1c0b9a8765`,
    privateIp: active?.privateIp ?? privateIp,
    endpoint: { host: active?.privateIp ?? privateIp, port: 5432 },
    securityGroups: { database: `sg-${site}-db`, isolation: `sg-${site}-isolation` },
    repositories: { repo1: { ...repo(region), kmsKeyArn: role === "drill" ? undefined : `arn:aws:kms:${region}:${accountId}:key/k` }, ...(offsite && role !== "drill" ? { repo2: repo(offsite.region) } : {}) },
    alarms: role === "drill" ? [] : [`fp-dr-production-${site}-database-unavailable`],
    ...(dns && role === "secondary"
      ? { dns: { zoneId: dns.zoneId, serviceName: dns.serviceName ?? "db.fp.internal", activeSite: dns.activeSite ?? "auto", healthCheckId: "hc-0123", primaryAddress: addresses.primary, secondaryAddress: addresses.secondary } }
      : {}),
    ...(restore && access?.hostReachable ? { restore: { requestId: restore.requestId, command: "bash -s" } } : {}),
    ...(drill ? { drill } : {}),
    ...(replacement ? { replacement: { id: replacement.id, reachable: replacement.reachable === true, ...replacementHost } } : {}),
  };
  return JSON.parse(JSON.stringify(outputs)) as Record<string, unknown>;
}

/** The dr config of an AWS environment on the pulumi engine. */
export function drConfig(): DrConfig {
  return parseConfig({
    environment: "production",
    engine: "pulumi",
    sites: { primary: { role: "primary", region: "eu-central-1" }, secondary: { role: "secondary", region: "eu-west-1" } },
    pulumi: { workDir: repoRoot, backendUrl, secretsProvider, dnsTimeout: "5m", restoreTimeout: "4h" },
  });
}
