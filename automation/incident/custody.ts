// The chain of custody of a security incident: one JSON file in the incident's directory
// (`<incidents>/<id>/custody.json`) saying what was isolated, preserved, restored and rotated,
// when, by whom (OS user, sudo user, host, pid, command) and with which evidence (paths and
// SHA-256). Entries are only ever appended; each carries the SHA-256 of the entry before it, so
// an edited or removed entry breaks the chain (`checkChain`). The record holds no secrets.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { hostname, userInfo } from "node:os";
import { join } from "node:path";
import type { DrConfig } from "../config/schema";
import { DrError } from "../core/errors";
import type { EvidenceFile } from "./types";
import { incidentsRoot } from "../core/state-dirs";

export const CUSTODY_FILE = "custody.json";

export type CustodyAction =
  | "open"
  | "revise"
  | "isolate"
  | "preserve"
  | "rotate-repository"
  | "assess"
  | "restore"
  | "verify"
  | "open-for-writes"
  | "rotate-database"
  | "swap-dns"
  | "close";

export interface Actor {
  user: string;
  /** The person behind sudo, when there is one. */
  sudoUser?: string;
  host: string;
  pid: number;
  /** The fp-dr command that acted ("dr incident isolate", a run id's plan step). */
  command: string;
}

export interface IncidentHeader {
  id: string;
  /** The compromised site. */
  site: string;
  environment: string;
  engine: string;
  openedAt: string;
  /** When the attacker is believed to have started (ISO 8601); restores go to a point before it. */
  incidentTime?: string;
}

export interface CustodyEntry {
  seq: number;
  at: string;
  action: CustodyAction;
  site?: string;
  by: Actor;
  runId?: string;
  /** One line, for people. */
  summary: string;
  /** Files written as evidence, relative to the incident directory, with SHA-256. */
  evidence?: EvidenceFile[];
  /** Structured details (no secrets). */
  data?: Record<string, unknown>;
  /** SHA-256 of the previous entry's JSON ("" for the first). */
  prev: string;
}

export interface CustodyRecord {
  incident: IncidentHeader;
  entries: CustodyEntry[];
}

/** One incident's directory, under the incidents root of core/state-dirs.ts. */
export function incidentDir(config: DrConfig, id: string): string {
  return join(incidentsRoot(config), id);
}

/** Incident ids become site names (incident-<id>) and directory names. */
export function checkIncidentId(id: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,31}$/.test(id)) {
    throw new DrError("USAGE", `incident id ${JSON.stringify(id)} is not usable`, { hint: "use at most 32 lowercase letters, digits and dashes, e.g. 20261126-0312" });
  }
  return id;
}

export function newIncidentId(now = new Date()): string {
  return now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15).toLowerCase();
}

export function actor(command: string): Actor {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = `uid ${process.getuid?.() ?? "?"}`;
  }
  return { user, sudoUser: process.env.SUDO_USER || undefined, host: hostname(), pid: process.pid, command };
}

function entryDigest(e: CustodyEntry): string {
  return createHash("sha256").update(JSON.stringify(e)).digest("hex");
}

export function readCustody(dir: string): CustodyRecord | undefined {
  const file = join(dir, CUSTODY_FILE);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as CustodyRecord;
  } catch (e) {
    throw new DrError("CONFIG_INVALID", `the custody record ${file} cannot be read: ${(e as Error).message}`, { hint: "it is evidence: do not edit it by hand; restore it from a copy" });
  }
}

function writeCustody(dir: string, record: CustodyRecord): void {
  const file = join(dir, CUSTODY_FILE);
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(record, null, 2) + "\n", { mode: 0o600 });
  renameSync(tmp, file);
}

/** An incident stays bound to the site it was opened for. */
export function checkIncidentSite(existing: CustodyRecord | undefined, id: string, site: string): void {
  if (existing && existing.incident.site !== site) {
    throw new DrError("USAGE", `incident ${id} concerns site ${existing.incident.site}, not ${site}`, { hint: "use another --incident-id for another site, or leave --site out" });
  }
}

/**
 * Opens the incident (creating its directory and record) or reads it back. The site must be
 * the one the incident was opened for; a changed incident time is recorded as a revision.
 */
export function openIncident(dir: string, header: Omit<IncidentHeader, "openedAt">, by: Actor): CustodyRecord {
  const existing = readCustody(dir);
  if (!existing) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const incident: IncidentHeader = { ...header, openedAt: new Date().toISOString() };
    const record: CustodyRecord = { incident, entries: [] };
    writeCustody(dir, record);
    return appendCustody(dir, { action: "open", site: header.site, by, summary: `incident ${header.id} opened for site ${header.site}${header.incidentTime ? `, incident time ${header.incidentTime}` : ""}` }).record;
  }
  checkIncidentSite(existing, header.id, header.site);
  if (header.incidentTime && header.incidentTime !== existing.incident.incidentTime) {
    const before = existing.incident.incidentTime;
    existing.incident.incidentTime = header.incidentTime;
    writeCustody(dir, existing);
    return appendCustody(dir, { action: "revise", site: header.site, by, summary: `incident time ${before ? `revised from ${before} to` : "set to"} ${header.incidentTime}`, data: { before, after: header.incidentTime } }).record;
  }
  return existing;
}

/** What a caller gives for a new entry (seq and prev are set here, at defaults to now). */
export type NewCustodyEntry = Omit<CustodyEntry, "seq" | "at" | "prev"> & { at?: string };

/** Appends one entry (chained to the previous one); returns it and the whole record it is now the last of. */
export function appendCustody(dir: string, entry: NewCustodyEntry): { entry: CustodyEntry; record: CustodyRecord } {
  const record = readCustody(dir);
  if (!record) throw new DrError("INTERNAL", `no incident record in ${dir}`, { hint: "open the incident first (a bug in the caller)" });
  const last = record.entries[record.entries.length - 1];
  const full: CustodyEntry = { seq: record.entries.length + 1, at: entry.at ?? new Date().toISOString(), prev: last ? entryDigest(last) : "", ...stripUndefined(entry) } as CustodyEntry;
  record.entries.push(full);
  writeCustody(dir, record);
  return { entry: full, record };
}

function stripUndefined<T extends object>(o: T): T {
  return JSON.parse(JSON.stringify(o)) as T;
}

/** The newest entry of an action (for a site), if any. */
export function lastEntry(record: CustodyRecord | undefined, action: CustodyAction, site?: string): CustodyEntry | undefined {
  return record?.entries.filter((e) => e.action === action && (site === undefined || e.site === site)).pop();
}

/** Whether every entry still carries the digest of the one before it. */
export function checkChain(record: CustodyRecord): { ok: boolean; brokenAt?: number } {
  for (let i = 1; i < record.entries.length; i++) {
    if (record.entries[i].prev !== entryDigest(record.entries[i - 1])) return { ok: false, brokenAt: record.entries[i].seq };
  }
  return { ok: record.entries[0]?.prev === "" || record.entries.length === 0 };
}
