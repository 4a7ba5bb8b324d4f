// What the incident actions of an engine return: isolation, preservation and credential rotation,
// with the evidence files they wrote. Shared by both engines, the custody record and the plans.
/** The incident an isolate/preserve acts for: its id and the directory that holds its evidence. */
export interface IncidentContext {
  id: string;
  /** Local directory of the incident (custody record, evidence); the engine writes below it. */
  dir: string;
}

/** A file written as evidence, relative to the incident directory, with its SHA-256. */
export interface EvidenceFile {
  path: string;
  sha256: string;
  bytes: number;
}

/** A session that was live on a site when it was isolated, and was terminated. */
export interface TerminatedSession {
  pid: number;
  user: string | null;
  database: string | null;
  client: string | null;
  application: string | null;
  backendStart: string | null;
  state: string | null;
  kind: string;
}

export interface IsolationResult {
  site: string;
  /** isolated: cut off now; already-isolated: it was (checked again); unreachable: nothing could be done. */
  outcome: "isolated" | "already-isolated" | "unreachable";
  detail: string;
  at: string;
  /** Whether the server still runs (its memory and live state are kept for forensics). */
  running: boolean;
  terminated: TerminatedSession[];
  /** What the site looked like before it was changed (originals of the files replaced, sessions). */
  evidence: EvidenceFile[];
  /** The WAL already written, pushed to the repositories before archiving was turned off (lab). */
  walPush?: { segment?: string; archived: boolean; waitedMs: number; detail: string };
}

export interface PreservationResult {
  site: string;
  /** Where the forensic copy is (a directory here; snapshot ids on AWS). */
  location: string;
  /** How it was taken, in words. */
  method: string;
  /** What state the copy is consistent at, and how to get there. */
  consistency: string;
  startedAt: string;
  finishedAt: string;
  files: number;
  bytes: number;
  /** The SHA-256 list of every copied file (sha256sum format) and the manifest; both hashed. */
  manifests: EvidenceFile[];
  /** Files that disappeared while being copied (the server kept running). */
  vanished: string[];
  /** WAL range that makes the copy consistent (online copies). */
  backup?: { startLsn: string; stopLsn: string; timeline: number };
}

export interface CredentialRotation {
  /** The site whose roles were rotated, or "repository". */
  scope: string;
  at: string;
  /** What was given new credentials (role names, "s3 access key"). */
  rotated: string[];
  /** Login roles fp-dr does not manage: their password was removed (they cannot log in until reset). */
  locked: string[];
  /** How it was proven: old credentials refused, new ones accepted. */
  proof: string;
  /** What could not be rotated, and why. */
  notRotated: { what: string; why: string }[];
  /** Sites that were deliberately not given the new credentials (isolated, compromised). */
  withheldFrom: string[];
}
