// What a recovery plan needs from the world. The same plan runs on either engine: a drill on
// the local lab and a datacenter failover on AWS differ only in the engine passed in.
//   local  — the lab: real clusters, S3 store and DNS on this machine
//   pulumi — the AWS sites through the Automation API (LocalWorkspace on this repo's project)
import type { BackupProof } from "../verify/proof";
import type { ClientConfig } from "pg";
import type { RestoreTarget } from "../pgbackrest/options";
import type { ArchivedCommit } from "../backups/archived-commits";
import type { ArchivedSegment } from "../backups/archive";
import type { RepoCatalog } from "../backups/catalog";
import type { ArrivingWal, RestorePlan } from "../restore/plan";
import type { RestoreRate } from "../restore/rate";
import type { CredentialRotation, IncidentContext, IsolationResult, PreservationResult } from "../incident/types";
import type { StandbyRoles } from "./standby-roles";

export type EngineName = "local" | "pulumi";

/** How a site answered when asked (assessment and post-checks). */
export interface SiteProbe {
  site: string;
  reachable: boolean;
  /** primary: accepts writes; standby: in recovery. */
  mode?: "primary" | "standby";
  /** Last committed transaction's time (track_commit_timestamp), if readable. */
  lastCommitAt?: string;
  error?: string;
}

export interface FenceResult {
  site: string;
  /** stopped: the server is down and cannot take writes even if restarted. */
  outcome: "stopped" | "isolated" | "unreachable" | "already-fenced";
  detail: string;
}

/** A site the engine can restore into and connect to. */
export interface SiteEndpoint {
  site: string;
  /** node-postgres settings for the superuser (verification, promotion). */
  admin: ClientConfig;
  /** node-postgres settings for the application role. */
  app: ClientConfig;
  address: string;
  port: number;
}

export interface EngineRestoreRequest {
  site: string;
  repo: 1 | 2;
  set?: string;
  target: RestoreTarget;
  /** Replace whatever the site holds (it is fenced or a fresh site). */
  overwrite: boolean;
  /**
   * Restore only these databases (pgBackRest --db-include; the others come back zeroed and
   * unusable). Default: all. An engine that cannot restore a subset restores every database
   * (pulumi: infra's restore request has no such field).
   */
  databases?: string[];
  /** The run restoring (named by a destination it leaves half-restored). */
  runId?: string;
  /** This environment's measured restore rate, for the plan's estimate (default: conservative). */
  rate?: RestoreRate;
  /** A named target's WAL still on its way to the archive: awaited before the restored copy starts. */
  arriving?: ArrivingWal;
}

export interface EngineRestoreResult {
  site: string;
  set: string;
  repo: number;
  replayLsn?: string;
  lastCommitAt?: string;
  /** walWaitMs: waited after the files for the target's WAL on its way to the archive (`arriving`). */
  timings: { restoreFilesMs: number; walWaitMs?: number; recoveryMs: number };
  /** What the file copy restored (the set's size), when the engine knows it: the history of restore rates. */
  bytes?: number;
  /** Leftover processes of an earlier, killed restore that were ended before this one began. */
  ended?: string[];
}

export interface Engine {
  readonly name: EngineName;
  /** Promotion, switchover and reprotect where plans cannot act on the sites directly (pulumi). */
  readonly standbyRoles?: StandbyRoles;
  /** Sites this environment knows, with their roles. */
  sites(): Promise<{ name: string; role: string }[]>;
  /**
   * What the engine opened on its own while a step ran (pulumi: the SSM port forwards, which
   * host, which local port), each line returned once: the runner keeps them in the run's notes,
   * so the report says which local ports pointed where during the run.
   */
  takeNotes?(): string[];
  probe(site: string): Promise<SiteProbe>;
  /** Stop the site or cut it off; it must not take writes even if restarted. Never throws for an unreachable site. */
  fence(site: string): Promise<FenceResult>;
  /** Make sure the site's infrastructure exists and is ready for a restore (AWS: pulumi up). */
  bringUp(site: string): Promise<SiteEndpoint>;
  /** What a repository holds: sets, archived WAL, restorable window (pre-flight reads it). */
  catalog(repo: 1 | 2): Promise<RepoCatalog>;
  /** The newest commit in these archived segments of the repository (at or before an LSN), read from the WAL itself. */
  lastArchivedCommit(repo: 1 | 2, segments: ArchivedSegment[], opts?: { upToLsn?: string }): Promise<ArchivedCommit>;
  /** pgBackRest verify of one backup set (checksums of every file): a tampered set fails. */
  verifyBackup(repo: 1 | 2, set: string): Promise<{ ok: boolean; detail: string }>;
  /** Every check a restore needs, without touching anything (the dry run's plan). */
  planRestore(req: EngineRestoreRequest): Promise<RestorePlan>;
  /** Restore into the site and wait until recovery reached the target (read-only). */
  restore(req: EngineRestoreRequest): Promise<EngineRestoreResult>;
  /** End recovery: the site takes writes, on a new timeline. */
  openForWrites(site: string): Promise<void>;
  /** Point the service name at the site; resolves once the answer is seen. */
  swapDns(site: string): Promise<{ address: string; waitedMs: number }>;
  /** Which site the service name answers with now. */
  activeSite(): Promise<string | undefined>;
  endpoint(site: string): Promise<SiteEndpoint>;
  /** A throwaway site for a drill (lab: new cluster on a free address; AWS: a drill-<ts> stack). */
  createDrillSite(id: string): Promise<SiteEndpoint>;
  /** Removes the drill site and everything it owns; idempotent. */
  destroyDrillSite(id: string): Promise<void>;
  /** Starts a full backup on the site (first backup of a new timeline); resolves when started or done. */
  /**
   * A backup of `site` (a failover's first on the new timeline). `proofs`: what the failover's
   * gate proved about the data, recorded with the manifest where the engine writes it (the lab);
   * a host's own backup unit takes its proofs itself (`dr backup manifest`).
   */
  startBackup(site: string, type: "full" | "incr", proofs?: BackupProof): Promise<{ label?: string }>;
  /**
   * Security incident, ISOLATE: cut the site off without destroying evidence: no new connection
   * is accepted, live sessions are terminated, nothing leaves it for the repositories, and the
   * server keeps running (memory and live state stay for forensics). Idempotent.
   */
  isolate(site: string, incident: IncidentContext): Promise<IsolationResult>;
  /** Security incident, PRESERVE: a forensic copy of the site's data and logs with the SHA-256 of every file. */
  preserve(site: string, incident: IncidentContext): Promise<PreservationResult>;
  /** New credentials for every login role of the (restored) site; the old ones stop working. */
  rotateDatabaseCredentials(site: string): Promise<CredentialRotation>;
  /** New credentials for the backup repositories; `withhold` sites (compromised) do not get them. */
  rotateRepositoryAccess(withhold: string[]): Promise<CredentialRotation>;
}
