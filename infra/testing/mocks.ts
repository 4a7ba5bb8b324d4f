// Test harness for the Pulumi program: mocks that record every registered resource (type,
// name, inputs, provider) and answer the lookups the program makes, throwing on any other;
// config taken from a real stack file (secure values replaced by test secrets); helpers to
// resolve outputs and read what was declared. One stack role per test file: Pulumi's runtime
// state is per process, and node's test runner gives each file its own.
import * as pulumi from "@pulumi/pulumi";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { parse } from "yaml";

export const testAccountId = "123456789012";

/** Test secrets (never real): every secret a primary's stack holds. */
export const testSecrets: Record<string, string> = {
  repoCipherPass: "test-repo-cipher-passphrase-6f1c2b7e9d",
  adminPassword: "test-admin-password-0a9b8c7d",
  appPassword: "test-app-password-1b2c3d4e",
  backupPassword: "test-backup-password-2c3d4e5f",
  verifierPassword: "test-verifier-password-3d4e5f6a",
  sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\ntest-key-material-not-real\n-----END OPENSSH PRIVATE KEY-----",
  replicationPassword: "test-replication-password-4e5f6a7b8c",
};

/** A standby's (secondary, drill): it declares no database roles, so it holds no role passwords. */
export const standbySecrets: Record<string, string> = {
  repoCipherPass: testSecrets.repoCipherPass,
  adminPassword: testSecrets.adminPassword,
  sshPrivateKey: testSecrets.sshPrivateKey,
  replicationPassword: testSecrets.replicationPassword,
};

export interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  /** "urn::id" of the explicit provider, if any. */
  provider?: string;
  id: string;
  /** Region of the provider that manages it ("" for non-AWS resources). */
  region: string;
}

export interface Harness {
  resources: Registered[];
  /** Provider id → region, for every aws provider registered. */
  providerRegions: Map<string, string>;
  calls: string[];
}

/** Pulumi's marker of a secret value in serialized inputs. */
const secretSig = "4dabf18193072939515e22adb298388d";

export function isSecretValue(v: unknown): v is { value: unknown } {
  return typeof v === "object" && v !== null && (v as Record<string, unknown>)[secretSig] === "1b47061264138c4ac30d75fd1eb44270";
}

/** The plain value, whether or not it was marked secret. */
export function unsecret<T = unknown>(v: unknown): T {
  return (isSecretValue(v) ? v.value : v) as T;
}

/**
 * Pulumi's config map from a stack file: structured values JSON-encoded, `secure:` values
 * replaced by `secrets[key]` (which must be given) and reported as secret keys.
 */
export function configFromStackFile(path: string, secrets: Record<string, string>, overrides: Record<string, unknown> = {}): { config: Record<string, string>; secretKeys: string[] } {
  const doc = parse(readFileSync(path, "utf8")) as { config: Record<string, unknown> };
  const values: Record<string, unknown> = { ...doc.config, ...overrides };
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    if (typeof value === "object" && value !== null && "secure" in value) {
      const short = key.replace(/^fp-dr:/, "");
      if (!(short in secrets)) throw new Error(`test gives no value for the secret ${key}`);
      config[key] = secrets[short];
      secretKeys.push(key);
    } else {
      config[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
  }
  for (const [short, value] of Object.entries(secrets)) {
    const key = `fp-dr:${short}`;
    if (!(key in config)) {
      config[key] = value;
      secretKeys.push(key);
    }
  }
  return { config, secretKeys };
}

function hash(text: string): number {
  let h = 2166136261;
  for (const c of text) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return h;
}

/** Installs the mocks and the config; import the program only after this. */
export function installMocks(opts: {
  stack: string;
  config: Record<string, string>;
  secretKeys: string[];
  /** Outputs of referenced stacks, by fully qualified name. */
  stackOutputs?: Record<string, Record<string, unknown>>;
}): Harness {
  const harness: Harness = { resources: [], providerRegions: new Map(), calls: [] };
  const regionOf = (provider?: string) => (provider ? harness.providerRegions.get(provider.split("::").pop() ?? "") : undefined) ?? opts.config["aws:region"] ?? "";
  pulumi.runtime.setMocks(
    {
      newResource(args) {
        const inputs = args.inputs as Record<string, unknown>;
        const region = args.type.startsWith("aws:") ? regionOf(args.provider) : "";
        if (args.type === "pulumi:pulumi:StackReference") {
          const outputs = opts.stackOutputs?.[String(inputs.name)];
          if (!outputs) throw new Error(`unmocked stack reference ${String(inputs.name)}`);
          harness.resources.push({ type: args.type, name: args.name, inputs, id: args.name, region: "" });
          return { id: String(inputs.name), state: { name: inputs.name, outputs, secretOutputNames: [] } };
        }
        const service = args.type.split(":")[1]?.split("/")[0] ?? "x";
        let id = `${args.name}-id`;
        const state: Record<string, unknown> = { ...inputs };
        switch (args.type) {
          case "pulumi:providers:aws":
            id = `${args.name}-provider`;
            harness.providerRegions.set(id, String(inputs.region));
            break;
          case "aws:s3/bucket:Bucket":
            id = String(inputs.bucket);
            state.arn = `arn:aws:s3:::${id}`;
            break;
          case "aws:kms/key:Key":
            state.keyId = id;
            state.arn = `arn:aws:kms:${region}:${testAccountId}:key/${id}`;
            break;
          case "aws:ec2/instance:Instance": {
            const h = hash(args.name);
            id = `i-${h.toString(16).padStart(17, "0")}`;
            state.privateIp = `10.${(h >>> 16) & 255}.${(h >>> 8) & 255}.${(h & 254) + 1}`;
            break;
          }
          case "aws:ebs/volume:Volume":
            id = `vol-${hash(args.name).toString(16).padStart(17, "0")}`;
            break;
          case "aws:sns/topic:Topic":
            state.arn = `arn:aws:sns:${region}:${testAccountId}:${String(inputs.name)}`;
            break;
          case "aws:ssmincidents/responsePlan:ResponsePlan":
            state.arn = `arn:aws:ssm-incidents::${testAccountId}:response-plan/${String(inputs.name)}`;
            break;
          default:
            state.arn = `arn:aws:${service}:${region}:${testAccountId}:${args.name}`;
        }
        harness.resources.push({ type: args.type, name: args.name, inputs, provider: args.provider, id, region });
        return { id, state };
      },
      call(args) {
        harness.calls.push(args.token);
        const region = regionOf(args.provider);
        switch (args.token) {
          case "aws:index/getAvailabilityZones:getAvailabilityZones":
            return { names: [`${region}a`, `${region}b`, `${region}c`], zoneIds: ["z1", "z2", "z3"], id: region };
          case "aws:index/getCallerIdentity:getCallerIdentity":
            return { accountId: testAccountId, arn: `arn:aws:iam::${testAccountId}:user/ci`, userId: "AIDATEST", id: testAccountId };
          case "aws:index/getPartition:getPartition":
            return { partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws", id: "aws" };
          case "aws:ec2/getAmi:getAmi":
            return { id: "ami-0123456789abcdef0", architecture: "x86_64", name: "debian-12-amd64-20250801-2222" };
          default:
            throw new Error(`unmocked call ${args.token}: add it to infra/testing/mocks.ts deliberately`);
        }
      },
    },
    "fp-dr",
    opts.stack,
    false,
  );
  pulumi.runtime.setAllConfig(opts.config, opts.secretKeys);
  return harness;
}

/** Resolves every output the program returned and waits until no registration is pending. */
export async function settle(outputs: Record<string, pulumi.Output<unknown>>): Promise<Record<string, unknown>> {
  const resolved: Record<string, unknown> = {};
  for (const [k, o] of Object.entries(outputs)) {
    resolved[k] = await new Promise((resolve) => o.apply((v) => resolve(v)));
  }
  const runtime = pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> };
  if (runtime.waitForRPCs) await runtime.waitForRPCs();
  return resolved;
}

export function ofType(h: Harness, type: string): Registered[] {
  return h.resources.filter((r) => r.type === type);
}

/** The write_files of a host's user data (gzip + base64 cloud-config), by path. */
export function userDataFiles(instance: Registered): Map<string, string> {
  const b64 = unsecret<string>(instance.inputs.userDataBase64);
  const doc = parse(gunzipSync(Buffer.from(b64, "base64")).toString("utf8")) as { write_files: { path: string; content: string }[] };
  return new Map(doc.write_files.map((f) => [f.path, f.content]));
}

/** "key=value" lines of an ini-style file (of one [section] when named; otherwise the last of each key wins). */
export function iniValues(text: string, section?: string): Map<string, string> {
  const out = new Map<string, string>();
  let current: string | undefined;
  for (const line of text.split("\n")) {
    const header = /^\[([^\]]+)\]$/.exec(line.trim());
    if (header) current = header[1];
    const m = /^([A-Za-z0-9_.-]+)\s*=\s*(.*?)(\s+#.*)?$/.exec(line.trim());
    if (m && (section === undefined || section === current)) out.set(m[1], m[2]);
  }
  return out;
}

/** Every string found in a resource's inputs outside secret markers. */
export function plainStrings(value: unknown, out: string[] = []): string[] {
  if (isSecretValue(value)) return out;
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => plainStrings(v, out));
  else if (typeof value === "object" && value !== null) Object.values(value).forEach((v) => plainStrings(v, out));
  return out;
}
