// The incident's actions that leave evidence, each recorded in the chain of custody: used by
// `dr incident isolate|preserve` on their own and by the restore plan's steps, so that an
// incident isolated by hand an hour ago is not isolated (or copied) a second time. What each
// action would do (dry runs, plan explanations) is said here too, once for both.
import { join } from "node:path";
import type { Engine } from "../engines/engine";
import type { CredentialRotation, IsolationResult, PreservationResult } from "../incident/types";
import { appendCustody, lastEntry, readCustody, type Actor, type CustodyAction, type CustodyEntry, type CustodyRecord, type NewCustodyEntry } from "../incident/custody";
import { formatBytes } from "../core/output";

export interface IncidentRef {
  id: string;
  /** The incident's directory (custody record, evidence). */
  dir: string;
  /** The compromised site. */
  site: string;
}

export interface ActionOutcome<T> {
  /** What the engine returned (absent when an earlier entry was reused). */
  result?: T;
  /**
   * What is known of it: the engine's result, else what the earlier entry recorded (its data:
   * a subset of the result, or `{ manual, what }` for a step recorded as done by hand).
   */
  recorded?: Partial<T>;
  /** The custody entry that records it (new, or the earlier one). */
  entry: CustodyEntry;
  /** The custody record after the action. */
  record: CustodyRecord;
  /** True when it had been done before (by fp-dr or recorded as done by hand). */
  reused: boolean;
}

/** What an action writes into its entry (who and which run are added by the caller). */
type Recording = Omit<NewCustodyEntry, "by" | "runId">;

function when(e: CustodyEntry): string {
  return `${e.at} by ${e.by.sudoUser ?? e.by.user}@${e.by.host}`;
}

/** Records a result the engine just returned. */
function recordResult<T>(ref: IncidentRef, by: Actor, runId: string | undefined, result: T, recording: Recording): ActionOutcome<T> & { result: T } {
  const { action, site, ...rest } = recording;
  const { entry, record } = appendCustody(ref.dir, { action, site, by, runId, ...rest });
  return { result, recorded: result, entry, record, reused: false };
}

/** Once per incident (and site): an earlier entry of the action is reused, else the engine acts and it is recorded. */
async function once<T>(ref: IncidentRef, action: CustodyAction, site: string | undefined, by: Actor, runId: string | undefined, act: () => Promise<T>, recording: (result: T) => Omit<Recording, "action" | "site">): Promise<ActionOutcome<T>> {
  const record = readCustody(ref.dir);
  const before = lastEntry(record, action, site);
  if (before) return { recorded: before.data as Partial<T> | undefined, entry: before, record: record!, reused: true };
  const result = await act();
  return recordResult(ref, by, runId, result, { action, site, ...recording(result) });
}

/** ISOLATE. Always asks the engine (it is idempotent and ends sessions that came back); records what changed. */
export async function isolateSite(engine: Engine, ref: IncidentRef, by: Actor, runId?: string): Promise<ActionOutcome<IsolationResult> & { result: IsolationResult }> {
  const record = readCustody(ref.dir);
  const before = lastEntry(record, "isolate", ref.site);
  const result = await engine.isolate(ref.site, { id: ref.id, dir: ref.dir });
  if (before && result.outcome === "already-isolated" && result.terminated.length === 0) {
    return { result, recorded: result, entry: before, record: record!, reused: true };
  }
  return recordResult(ref, by, runId, result, {
    action: "isolate",
    site: ref.site,
    summary: `${ref.site} ${result.outcome}: ${result.detail}`,
    evidence: result.evidence,
    data: { outcome: result.outcome, running: result.running, terminated: result.terminated, isolatedAt: result.at, engine: engine.name, walPush: result.walPush },
  });
}

/** PRESERVE. Once per incident and site: a second copy would only blur which one is the evidence. */
export async function preserveSite(engine: Engine, ref: IncidentRef, by: Actor, runId?: string): Promise<ActionOutcome<PreservationResult>> {
  return once(ref, "preserve", ref.site, by, runId, () => engine.preserve(ref.site, { id: ref.id, dir: ref.dir }), (result) => ({
    at: result.finishedAt,
    summary: `${ref.site}: ${result.files} files (${formatBytes(result.bytes)}) copied to ${result.location}, SHA-256 of each in ${result.manifests[0]?.path}`,
    evidence: result.manifests,
    data: { location: result.location, method: result.method, consistency: result.consistency, startedAt: result.startedAt, finishedAt: result.finishedAt, files: result.files, bytes: result.bytes, vanished: result.vanished, backup: result.backup },
  }));
}

/** Rotates the repository access (withholding the new credentials from the compromised site), once per incident. */
export async function rotateRepository(engine: Engine, ref: IncidentRef, by: Actor, runId?: string): Promise<ActionOutcome<CredentialRotation>> {
  return once(ref, "rotate-repository", undefined, by, runId, () => engine.rotateRepositoryAccess([ref.site]), (result) => ({
    at: result.at,
    summary: `${result.rotated.join("; ")}; withheld from ${result.withheldFrom.join(", ") || "no site"}; ${result.proof}`,
    data: { ...result },
  }));
}

/** Rotates every login role of the restored site, once per incident and site. */
export async function rotateDatabase(engine: Engine, ref: IncidentRef, site: string, by: Actor, runId?: string): Promise<ActionOutcome<CredentialRotation>> {
  return once(ref, "rotate-database", site, by, runId, () => engine.rotateDatabaseCredentials(site), (result) => ({
    at: result.at,
    summary: `${site}: ${result.rotated.join(", ")} rotated${result.locked.length ? `; no password any more for ${result.locked.join(", ")}` : ""}; ${result.proof}`,
    data: { ...result },
  }));
}

/** "done at <when> by <who>" for a reused entry. */
export function reusedDetail(what: string, e: CustodyEntry): string {
  return `${what} already at ${when(e)}: ${e.summary}`;
}

/** What ISOLATE does to the compromised site, for dry runs and plan explanations. */
export function describeIsolation(engineName: string, site: string): string {
  return `${site}: ${engineName === "local" ? "push the WAL written so far to the repositories (a switch, a bounded wait), replace pg_hba.conf by reject-all (keep the original), reload, terminate every session, turn archiving off; the server keeps running" : "swap its security groups for the isolation group, terminate every session"}`;
}

/** What PRESERVE takes of the compromised site, for dry runs and plan explanations. */
export function describePreservation(engineName: string, site: string, incidentDir: string): string {
  return engineName === "local"
    ? `online copy (pg_backup_start/stop) of ${site}'s data directory and logs into ${join(incidentDir, "evidence", site)}, SHA-256 of every file`
    : `crash-consistent EBS snapshots of ${site}'s data and root volumes, tagged with the incident id`;
}

/** What rotating the repository access does, for plan explanations. */
export function describeRepositoryRotation(engineName: string, site: string): string {
  return engineName === "local"
    ? `a new S3 key pair for the offsite store, the old one revoked; every pgbackrest.conf rewritten except ${site}'s`
    : `an IAM policy on ${site}'s host role revoking every session issued before now (AWS's "revoke older sessions"), read back`;
}
