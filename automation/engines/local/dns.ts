// The lab's service name: a real DNS server (dns2, UDP and TCP on 127.0.0.1) authoritative for
// the names in `<dir>/zone.json`, run as a detached daemon (dns-daemon.ts). A swap is a zone
// write (temp file + rename, so the server never reads half a file); the server re-reads the
// zone when it changes, and answers carry short TTLs. The toolkit's clients resolve the name
// through node's resolver pointed at this server, exactly as they would ask any DNS server.
//
//   zone.json: { "db.fp.internal": { "A": "127.0.10.1", "ttl": 1 }, … }
import { Resolver } from "node:dns/promises";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { isIPv4 } from "node:net";
import { join } from "node:path";
import { z } from "zod";
import { DrError } from "../../core/errors";
import { daemonStatus, scriptBeside, startDaemon, stopDaemon } from "./daemon";
import { pollUntil } from "../../core/poll";

const DAEMON = "dns";
const STATE_FILE = "dns.json";
export const ZONE_FILE = "zone.json";
export const DNS_HOST = "127.0.0.1";
/** TTL of an answer when a record does not say (seconds): short, so a swap is seen quickly. */
export const DEFAULT_TTL = 1;

const nameSchema = z
  .string()
  .min(1)
  .max(253)
  .regex(/^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*$/, "must be a lowercase dns name such as db.fp.internal");
const recordSchema = z.object({
  A: z.ipv4(),
  ttl: z.number().int().min(0).max(86_400).optional(),
});
export const zoneSchema = z.record(nameSchema, recordSchema);

export type DnsRecord = z.infer<typeof recordSchema>;
export type Zone = z.infer<typeof zoneSchema>;

export interface DnsOptions {
  /** Directory for the zone, state, pid and log files. */
  dir: string;
  /** Records to serve: name → address or full record. Replaces the zone; omitted keeps it. */
  records?: Record<string, string | DnsRecord>;
  /** UDP/TCP port; 0 picks a free one. Default: the port of the previous run in `dir`, else 0. */
  port?: number;
  /** How long to wait for the server to answer (default 20 s). */
  timeoutMs?: number;
}

export interface DnsInfo {
  host: string;
  port: number;
  pid: number;
  /** TCP is served on the same port as UDP (always true; kept for status output). */
  tcp: boolean;
}

export interface DnsStatus {
  running: boolean;
  host: string;
  port?: number;
  pid?: number;
  /** A pid file names a process that is gone. */
  stale?: boolean;
}

export interface ResolveOptions {
  port: number;
  host?: string;
  /** Bound on one lookup (default 2 s). */
  timeoutMs?: number;
}

/**
 * Starts the DNS server (idempotent: a running server gets the new records and is returned as
 * is). Ready once it answers a real query.
 */
export async function startDns(opts: DnsOptions): Promise<DnsInfo> {
  const { dir } = opts;
  mkdirSync(dir, { recursive: true });
  if (opts.records) writeZone(dir, normalizeRecords(opts.records));
  else if (!existsSync(zoneFile(dir))) writeZone(dir, {});

  const previous = readState(dir);
  const status = daemonStatus(dir, DAEMON);
  if (status.running && previous && previous.pid === status.pid) {
    await probeDns(previous.port, previous.host);
    return previous;
  }
  const port = opts.port ?? previous?.port ?? 0;
  const { pid } = await startDaemon({
    name: DAEMON,
    dir,
    script: scriptBeside(__filename, "dns-daemon"),
    args: [dir, String(port), DNS_HOST],
    timeoutMs: opts.timeoutMs,
    errorCode: "DNS_FAILED",
    readyCheck: async (childPid) => {
      const s = readState(dir);
      if (!s || s.pid !== childPid) return false;
      await probeDns(s.port, s.host);
      return true;
    },
  });
  return { ...readState(dir)!, pid };
}

/** Stops the server (idempotent). The zone stays for the next start. */
export async function stopDns(dir: string): Promise<void> {
  await stopDaemon(dir, DAEMON);
}

/** Whether the server is running, and on which port (the last one recorded). */
export function dnsStatus(dir: string): DnsStatus {
  const s = readState(dir);
  const status = daemonStatus(dir, DAEMON);
  const running = status.running && s?.pid === status.pid;
  return { running, host: s?.host ?? DNS_HOST, port: s?.port, pid: running ? status.pid : undefined, stale: status.stale };
}

/** Points `name` at `address` (atomic zone write; the server picks it up on its next query). */
export function setRecord(dir: string, name: string, address: string, ttl = DEFAULT_TTL): void {
  const zone = readZone(dir);
  zone[normalizeName(name)] = { A: address, ttl };
  writeZone(dir, zone);
}

/** Removes `name` from the zone (it then answers NXDOMAIN). */
export function removeRecord(dir: string, name: string): void {
  const zone = readZone(dir);
  delete zone[normalizeName(name)];
  writeZone(dir, zone);
}

/** The zone as stored (an empty zone when there is no file yet). */
export function readZone(dir: string): Zone {
  const file = zoneFile(dir);
  if (!existsSync(file)) return {};
  return parseZone(readFileSync(file, "utf8"), file);
}

/** Validates and writes the whole zone atomically (temp file + rename). */
export function writeZone(dir: string, zone: Zone): void {
  const checked = checkZone(zone, zoneFile(dir));
  mkdirSync(dir, { recursive: true });
  const file = zoneFile(dir);
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, JSON.stringify(checked, null, 2) + "\n", { mode: 0o644 });
  renameSync(tmp, file);
}

/** Parses zone text; every problem is reported with its name. */
export function parseZone(text: string, file = ZONE_FILE): Zone {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new DrError("CONFIG_INVALID", `zone file ${file} is not json: ${(e as Error).message}`, { hint: "rewrite it with setRecord or dr lab up" });
  }
  return checkZone(raw, file);
}

/** The A record answer for `name` from the lab DNS server (the first address). */
export async function resolveName(name: string, opts: ResolveOptions): Promise<string> {
  return (await resolveAddresses(name, opts))[0];
}

/**
 * Every A address for `name`, asked of the server at host:port through node's resolver (the
 * same path the toolkit's clients use). Failures are DNS_FAILED with `details.reason`:
 * nxdomain, nodata, refused, timeout or error.
 */
export async function resolveAddresses(name: string, opts: ResolveOptions): Promise<string[]> {
  const host = opts.host ?? DNS_HOST;
  const timeoutMs = opts.timeoutMs ?? 2_000;
  const server = `${host}:${opts.port}`;
  const resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
  resolver.setServers([server]);
  let timer: NodeJS.Timeout | undefined;
  try {
    const bound = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        resolver.cancel();
        reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: "ETIMEOUT" }));
      }, timeoutMs + 500);
    });
    const addresses = await Promise.race([resolver.resolve4(name), bound]);
    if (addresses.length === 0) throw Object.assign(new Error("empty answer"), { code: "ENODATA" });
    return addresses;
  } catch (e) {
    throw dnsError(name, server, e as NodeJS.ErrnoException);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/**
 * Polls the real DNS answer for `name` until it is exactly `expected` (used after a swap).
 * Throws DNS_FAILED (reason timeout) with the last answer seen when the bound runs out.
 */
export async function waitForAnswer(
  name: string,
  expected: string,
  opts: ResolveOptions & { intervalMs?: number },
): Promise<{ address: string; waitedMs: number }> {
  const started = Date.now();
  const timeoutMs = opts.timeoutMs ?? 10_000;
  let last = "no answer yet";
  return pollUntil(
    async ({ elapsedMs }) => {
      // Each query is bounded by what is left of the wait (at least 200 ms, at most 2 s).
      try {
        const addresses = await resolveAddresses(name, { ...opts, timeoutMs: Math.max(200, Math.min(2_000, timeoutMs - elapsedMs)) });
        if (addresses.length === 1 && addresses[0] === expected) return { address: expected, waitedMs: Date.now() - started };
        last = `answer ${addresses.join(", ")}`;
      } catch (e) {
        last = (e as Error).message;
      }
      return undefined;
    },
    {
      what: `${name} to answer ${expected}`,
      timeoutMs,
      intervalMs: opts.intervalMs ?? 100,
      onTimeout: () =>
        new DrError("DNS_FAILED", `${name} did not answer ${expected} within ${(timeoutMs / 1000).toFixed(1)}s (last: ${last})`, {
          details: { name, expected, last, reason: "timeout" },
          hint: "check that the zone was written (setRecord) and the lab dns server is running (dr lab status)",
        }),
    },
  );
}

function dnsError(name: string, server: string, e: NodeJS.ErrnoException): DrError {
  const reasons: Record<string, string> = {
    ENOTFOUND: "nxdomain",
    ENODATA: "nodata",
    ECONNREFUSED: "refused",
    ETIMEOUT: "timeout",
    ETIMEDOUT: "timeout",
    ECANCELLED: "timeout",
  };
  const reason = reasons[e.code ?? ""] ?? "error";
  const text: Record<string, string> = {
    nxdomain: `${name} does not exist (nxdomain from ${server})`,
    nodata: `${name} has no address record (answer from ${server})`,
    refused: `dns server ${server} refused the query for ${name}`,
    timeout: `dns server ${server} did not answer for ${name}`,
    error: `dns lookup of ${name} at ${server} failed: ${e.code ?? e.message}`,
  };
  return new DrError("DNS_FAILED", text[reason], {
    cause: e,
    details: { name, server, reason },
    hint:
      reason === "nxdomain" || reason === "nodata"
        ? "the name is not in the lab zone: check the service name in the config, or run dr lab up"
        : "the lab dns server is not answering: run dr lab status, then dr lab up",
  });
}

/** One query proves the server answers: NXDOMAIN for a name we never serve is an answer. */
async function probeDns(port: number, host: string): Promise<void> {
  try {
    await resolveAddresses("probe.fp-dr.invalid", { port, host, timeoutMs: 1_000 });
  } catch (e) {
    if (e instanceof DrError && e.details?.reason === "nxdomain") return;
    throw e;
  }
}

function normalizeRecords(records: Record<string, string | DnsRecord>): Zone {
  const zone: Zone = {};
  for (const [name, r] of Object.entries(records)) zone[normalizeName(name)] = typeof r === "string" ? { A: r, ttl: DEFAULT_TTL } : r;
  return zone;
}

function normalizeName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, "");
}

function checkZone(raw: unknown, file: string): Zone {
  const parsed = zoneSchema.safeParse(raw);
  if (parsed.success) {
    for (const r of Object.values(parsed.data)) if (!isIPv4(r.A)) throw new DrError("CONFIG_INVALID", `zone file ${file}: ${r.A} is not an ipv4 address`);
    return parsed.data;
  }
  const problems = parsed.error.issues.map((i) => `${i.path.map(String).join(".") || "(zone)"}: ${i.message}`);
  throw new DrError("CONFIG_INVALID", `zone file ${file} is invalid: ${problems.join("; ")}`, {
    details: { problems },
    hint: 'each entry is "name": { "A": "<ipv4>", "ttl": <seconds> }',
  });
}

function zoneFile(dir: string): string {
  return join(dir, ZONE_FILE);
}

function readState(dir: string): DnsInfo | undefined {
  const file = join(dir, STATE_FILE);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as DnsInfo;
  } catch {
    return undefined;
  }
}
