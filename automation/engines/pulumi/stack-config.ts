// The stack config the engine writes and reads, as pure functions: a drill stack's config (the
// template stack's config with the drill overrides, its own port forwards among them), and the
// few values the engine reads back (site name, access ports, credentials). The requests it
// writes (restore, fence, the drill block) are infra/config/requests.ts.
// Keys and shapes are those of infra/config/schema.ts; values are written with `--path`, where
// Pulumi stores "true"/"false" as booleans and integers as numbers, everything else as strings.
import { drillLocalPorts, localPortsFor } from "../../../infra/config/ports";
import type { DrConfig } from "../../config/schema";
import { DrError } from "../../core/errors";
import { requestEntries } from "../../../infra/config/requests";
import type { ConfigEntries, StoredConfig } from "./stack-ops";

export const ns = "fp-dr";
const key = (name: string) => `${ns}:${name}`;

/** The value of a key as structured data: objectValue, else JSON-looking text parsed, else the text. */
export function configValue(config: StoredConfig, fullKey: string): unknown {
  const v = config[fullKey];
  if (!v) return undefined;
  if (v.objectValue !== undefined) return v.objectValue;
  const text = v.value;
  if (text === undefined) return undefined;
  if (!v.secret && (/^\s*[[{]/.test(text) || /^(true|false|-?\d+(\.\d+)?)$/.test(text))) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

function field(config: StoredConfig, top: string, ...path: string[]): unknown {
  let cur = configValue(config, key(top));
  for (const p of path) {
    if (typeof cur !== "object" || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

/** The Site component's name in the stack (infra/config/resolve.ts): fp-dr:site, else the role, drill-<id> for drills. */
export function siteNameInStack(config: StoredConfig): string {
  const explicit = field(config, "site");
  if (typeof explicit === "string") return explicit;
  const role = field(config, "role");
  const drillId = field(config, "drill", "id");
  if (role === "drill" && typeof drillId === "string") return `drill-${drillId}`;
  if (role === "primary" || role === "secondary") return role;
  throw new DrError("CONFIG_INVALID", `the stack config has no usable fp-dr:role (found ${JSON.stringify(role)})`, {
    hint: "set fp-dr:role in Pulumi.<stack>.yaml (primary, secondary or drill)",
  });
}

export function hostReachable(config: StoredConfig): boolean {
  return field(config, "access", "hostReachable") === true;
}

/** A top-level secret's text (fp-dr:<name>, e.g. appPassword); undefined when unset or structured. */
export function storedSecret(config: StoredConfig, name: string): string | undefined {
  const v = config[key(name)];
  return v && typeof v.value === "string" ? v.value : undefined;
}

/**
 * The stack of the site with this role: its sites.<name>.stack, else pulumi.stacks.<role>
 * (also when the dr config names no site with the role; the engine refuses that case itself).
 */
export function stackOfRole(config: Pick<DrConfig, "sites" | "pulumi">, role: "primary" | "secondary"): string {
  const site = Object.values(config.sites).find((s) => s.role === role);
  return site?.stack ?? config.pulumi.stacks[role];
}

/** What the engine needs to connect to a site's database (infra's access and secrets keys). */
export interface SiteConnectionConfig {
  database: string;
  /** SSM port-forward local ends (access.ssh.localPort / access.postgres.localPort). */
  sshLocalPort: number;
  postgresLocalPort: number;
  via: "ssm" | "bastion";
  sslmode: "require" | "verify-ca" | "verify-full";
  adminUser: string;
  adminPassword?: string;
  appUser: string;
  appPassword?: string;
}

export function connectionConfig(config: StoredConfig): SiteConnectionConfig {
  const str = (v: unknown, d: string) => (typeof v === "string" ? v : d);
  const num = (v: unknown) => (typeof v === "number" ? v : undefined);
  // infra's rule (infra/config/ports.ts): configured ports, else the role's defaults.
  const drillId = field(config, "drill", "id");
  const ports = localPortsFor(
    { role: String(field(config, "role")), drillId: typeof drillId === "string" ? drillId : undefined },
    { ssh: num(field(config, "access", "ssh", "localPort")), postgres: num(field(config, "access", "postgres", "localPort")) },
  );
  return {
    database: str(field(config, "database"), "financial_planning"),
    sshLocalPort: ports.ssh,
    postgresLocalPort: ports.postgres,
    via: field(config, "access", "via") === "bastion" ? "bastion" : "ssm",
    sslmode: str(field(config, "access", "postgres", "sslmode"), "require") as SiteConnectionConfig["sslmode"],
    adminUser: str(field(config, "access", "postgres", "username"), "fp_admin"),
    adminPassword: storedSecret(config, "adminPassword"),
    appUser: str(field(config, "databaseObjects", "roles", "app"), "fp_app"),
    appPassword: storedSecret(config, "appPassword"),
  };
}

/**
 * Top-level keys of the template stack that a drill stack does not take: no DNS, no restore
 * request of the template, no paging or Incident Manager, no offsite repository (a drill only
 * reads its region's repository), no route from the application, nothing protected, no
 * database objects (the restored cluster brings its roles), no fence, no drill runner of its own,
 * no stream from the primary and no promotion (a drill restores from the archive and is destroyed).
 */
export const drillDroppedKeys = ["site", "dns", "restore", "drill", "fence", "incidentManager", "alerting", "escalation", "offsite", "protect", "databaseObjects", "drillRunner", "replication", "replicationPassword", "promote"] as const;

export interface DrillOverrides {
  id: string;
  /** ISO 8601 with offset. */
  expiresAt: string;
  instanceType?: string;
}

/**
 * A drill stack's config: every key of the template stack (secrets stay secrets) minus
 * `drillDroppedKeys`, network.application and the template's port forwards, plus role drill,
 * the drill block, the drill's own port forwards (derived from its id, infra/config/ports.ts,
 * written out so that the stack says which ports it uses), and access.hostReachable false
 * (the first `up` creates the host; the engine then opens the path to it and sets it true).
 * Structured values become path entries, one per leaf.
 */
export function drillConfigEntries(template: StoredConfig, drill: DrillOverrides): ConfigEntries {
  const out: ConfigEntries = {};
  for (const [fullKey, stored] of Object.entries(template)) {
    const short = fullKey.startsWith(`${ns}:`) ? fullKey.slice(ns.length + 1) : undefined;
    if (short !== undefined && (drillDroppedKeys as readonly string[]).includes(short)) continue;
    if (short === "role") continue;
    let value = configValue(template, fullKey);
    if (short === "network" && typeof value === "object" && value !== null) {
      const { application: _dropped, ...rest } = value as Record<string, unknown>;
      value = rest;
    }
    if (short === "access" && typeof value === "object" && value !== null) {
      value = withoutLocalPorts(value as Record<string, unknown>);
    }
    if (stored.secret) {
      if (typeof stored.value !== "string") throw uncopyable(fullKey, "a structured secret");
      out[fullKey] = { value: stored.value, secret: true };
      continue;
    }
    flatten(fullKey, value, out, true);
  }
  out[key("role")] = { value: "drill" };
  Object.assign(out, requestEntries("drill", drill));
  out[key("access.hostReachable")] = { value: "false" };
  const ports = drillLocalPorts(drill.id);
  out[key("access.ssh.localPort")] = { value: String(ports.ssh) };
  out[key("access.postgres.localPort")] = { value: String(ports.postgres) };
  return out;
}

/** access without ssh.localPort and postgres.localPort (the standing site's forwards). */
function withoutLocalPorts(access: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...access };
  for (const part of ["ssh", "postgres"]) {
    const v = out[part];
    if (typeof v === "object" && v !== null) {
      const { localPort: _standing, ...rest } = v as Record<string, unknown>;
      out[part] = rest;
    }
  }
  return out;
}

function uncopyable(path: string, what: string): DrError {
  return new DrError("CONFIG_INVALID", `cannot copy ${path} into the drill stack exactly: ${what}`, {
    hint: "Pulumi's --path config stores integers and true/false as numbers and booleans; change the value in the template stack or drop the key from the drill",
  });
}

const plainSegment = /^[A-Za-z_][A-Za-z0-9_-]*$/;

function flatten(path: string, value: unknown, out: ConfigEntries, top: boolean): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => flatten(`${path}[${i}]`, v, out, false));
    return;
  }
  if (typeof value === "object") {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      flatten(plainSegment.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`, v, out, false);
    }
    return;
  }
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw uncopyable(path, `the number ${value} is not an integer`);
    out[path] = { value: String(value) };
    return;
  }
  if (typeof value === "boolean") {
    out[path] = { value: String(value) };
    return;
  }
  const text = String(value);
  // Top-level values are stored as strings whatever they look like; nested ones are re-typed.
  if (!top && /^([+-]?\d+|true|false)$/.test(text)) throw uncopyable(path, `the string ${JSON.stringify(text)} would become a ${/\d/.test(text) ? "number" : "boolean"}`);
  out[path] = { value: text };
}

/** A time as it goes into request ids and policy names: 20261126t031200z. */
export function compactTime(d: Date): string {
  return d.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "z").toLowerCase();
}
