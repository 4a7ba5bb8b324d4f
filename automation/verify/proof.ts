// What the proofs taken with a backup look like (./backup-proofs.ts takes them, ./manifest.ts
// records them, ./checks.ts and ./proof-decision.ts read them): types only, so that the checks
// and the proofs built from them do not import each other.

/** One invariant evaluated on the source: the value it gave, or why it could not run. */
export interface InvariantAtSource {
  name: string;
  holds: boolean;
  got?: string;
  error?: string;
  /**
   * For an invariant with an incremental form that held: the oldest transaction (txid) its
   * snapshot had not seen finish. Every change after that snapshot was written by a transaction
   * from there on, so a copy descended from this data needs only the incremental form from it.
   */
  heldBeforeXid?: string;
}

/** One structural check as it ran at backup time. */
export interface ProofCheck {
  kind: "amcheck" | "orphans";
  name: string;
  ok: boolean;
  detail: string;
  durationMs: number;
}

/** The proofs recorded with one manifest. */
export interface BackupProof {
  ok: boolean;
  /** Where they ran, and in which role (a standby's data is the primary's, replayed). */
  site: string;
  role: "standby" | "primary";
  startedAt: string;
  durationMs: number;
  /** Everything committed up to this WAL position / time is covered (taken when the checks began). */
  coversLsn: string;
  coversTime: string;
  checks: ProofCheck[];
  /** The invariants' values where the proofs ran (recorded with the manifest as the source's). */
  invariants: InvariantAtSource[];
  /** When the checks themselves could not run (the site unreachable): nothing is proven. */
  error?: string;
}
