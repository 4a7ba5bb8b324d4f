// The incident's actions that leave evidence, each recorded in the chain of custody: used by
// `dr incident isolate|preserve` on their own and by the restore plan's steps, so that an
// incident isolated by hand an hour ago is not isolated (or copied) a second time.
import type { CredentialRotation, Engine, IsolationResult, PreservationResult } from "../engines/engine";
import { appendCustody, lastEntry, readCustody, type Actor, type CustodyEntry } from "./custody";

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
  /** The custody entry that records it (new, or the earlier one). */
  entry: CustodyEntry;
  /** True when it had been done before (by fp-dr or recorded as done by hand). */
  reused: boolean;
}

function when(e: CustodyEntry): string {
  return `${e.at} by ${e.by.sudoUser ?? e.by.user}@${e.by.host}`;
}

/** ISOLATE. Always asks the engine (it is idempotent and ends sessions that came back); records what changed. */
export async function isolateSite(engine: Engine, ref: IncidentRef, by: Actor, runId?: string): Promise<ActionOutcome<IsolationResult>> {
  const before = lastEntry(readCustody(ref.dir), "isolate", ref.site);
  const result = await engine.isolate(ref.site, { id: ref.id, dir: ref.dir });
  if (before && result.outcome === "already-isolated" && result.terminated.length === 0) {
    return { result, entry: before, reused: true };
  }
  const record = appendCustody(ref.dir, {
    action: "isolate",
    site: ref.site,
    by,
    runId,
    summary: `${ref.site} ${result.outcome}: ${result.detail}`,
    evidence: result.evidence,
    data: { outcome: result.outcome, running: result.running, terminated: result.terminated, isolatedAt: result.at, engine: engine.name },
  });
  return { result, entry: record.entries[record.entries.length - 1], reused: false };
}

/** PRESERVE. Once per incident and site: a second copy would only blur which one is the evidence. */
export async function preserveSite(engine: Engine, ref: IncidentRef, by: Actor, runId?: string): Promise<ActionOutcome<PreservationResult>> {
  const before = lastEntry(readCustody(ref.dir), "preserve", ref.site);
  if (before) return { entry: before, reused: true };
  const result = await engine.preserve(ref.site, { id: ref.id, dir: ref.dir });
  const record = appendCustody(ref.dir, {
    action: "preserve",
    site: ref.site,
    by,
    runId,
    at: result.finishedAt,
    summary: `${ref.site}: ${result.files} files (${(result.bytes / 1024 / 1024).toFixed(1)} MB) copied to ${result.location}, SHA-256 of each in ${result.manifests[0]?.path}`,
    evidence: result.manifests,
    data: { location: result.location, method: result.method, consistency: result.consistency, startedAt: result.startedAt, finishedAt: result.finishedAt, files: result.files, bytes: result.bytes, vanished: result.vanished, backup: result.backup },
  });
  return { result, entry: record.entries[record.entries.length - 1], reused: false };
}

/** Rotates the repository access (withholding the new credentials from the compromised site), once per incident. */
export async function rotateRepository(engine: Engine, ref: IncidentRef, by: Actor, runId?: string): Promise<ActionOutcome<CredentialRotation>> {
  const before = lastEntry(readCustody(ref.dir), "rotate-repository");
  if (before) return { entry: before, reused: true };
  const result = await engine.rotateRepositoryAccess([ref.site]);
  const record = appendCustody(ref.dir, {
    action: "rotate-repository",
    by,
    runId,
    at: result.at,
    summary: `${result.rotated.join("; ")}; withheld from ${result.withheldFrom.join(", ") || "no site"}; ${result.proof}`,
    data: { ...result },
  });
  return { result, entry: record.entries[record.entries.length - 1], reused: false };
}

/** Rotates every login role of the restored site, once per incident and site. */
export async function rotateDatabase(engine: Engine, ref: IncidentRef, site: string, by: Actor, runId?: string): Promise<ActionOutcome<CredentialRotation>> {
  const before = lastEntry(readCustody(ref.dir), "rotate-database", site);
  if (before) return { entry: before, reused: true };
  const result = await engine.rotateDatabaseCredentials(site);
  const record = appendCustody(ref.dir, {
    action: "rotate-database",
    site,
    by,
    runId,
    at: result.at,
    summary: `${site}: ${result.rotated.join(", ")} rotated${result.locked.length ? `; no password any more for ${result.locked.join(", ")}` : ""}; ${result.proof}`,
    data: { ...result },
  });
  return { result, entry: record.entries[record.entries.length - 1], reused: false };
}

/** "done at <when> by <who>" for a reused entry. */
export function reusedDetail(what: string, e: CustodyEntry): string {
  return `${what} already at ${when(e)}: ${e.summary}`;
}
