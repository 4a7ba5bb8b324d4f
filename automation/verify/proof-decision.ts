// Whether a restore-path gate may show the proofs recorded with the backup instead of running
// amcheck and the orphan check on the copy again: only a passing proof of that check, no older
// than the configured bound, and only when nothing asks for the full gate. Anything else (no
// proof, a failed one, one too old) runs the check on the copy, and says why. The same policy
// decides whether an invariant with an incremental form checks only what was written since
// the proofs, where its whole form held.
import type { BackupProof, ProofCheck } from "./proof";

export type ProofUse = { use: true; check: ProofCheck; proof: BackupProof; ageSeconds: number } | { use: false; why: string };

export interface ProofPolicy {
  /** Oldest a proof may be (seconds since its checks began); 0: never use one. */
  maxAgeSeconds: number;
  /** The operator or the plan wants every check on the copy (--full-gate, incidents, corruption). */
  fullGate?: string;
  now: number;
}

export function proofDecision(proof: BackupProof | undefined, kind: ProofCheck["kind"], policy: ProofPolicy): ProofUse {
  const barred = whyNotUsable(proof, policy);
  if (barred) return { use: false, why: barred };
  const check = proof!.checks.find((c) => c.kind === kind);
  if (!check) return { use: false, why: `no ${kind} proof recorded with the backup` };
  if (!check.ok) return { use: false, why: `the ${kind} proof FAILED at backup time on ${proof!.site} (${check.detail})` };
  const age = ageOf(proof!, policy);
  return "why" in age ? { use: false, why: age.why } : { use: true, check, proof: proof!, ageSeconds: age.ageSeconds };
}

export type SinceUse = { use: true; fromXid: string; proof: BackupProof; ageSeconds: number } | { use: false; why: string };

/**
 * Whether a gate may check an invariant only over what was written since the backup's proofs:
 * the same policy as the structural proofs, and the whole check must have held there, with the
 * transaction it held before recorded (proofs of older versions recorded none).
 */
export function sinceDecision(proof: BackupProof | undefined, name: string, policy: ProofPolicy): SinceUse {
  const barred = whyNotUsable(proof, policy);
  if (barred) return { use: false, why: barred };
  const held = proof!.invariants.find((x) => x.name === name);
  if (!held) return { use: false, why: "not evaluated with the backup's proofs" };
  if (!held.holds) return { use: false, why: `it did not hold with the backup's proofs (${held.error ?? `got ${String(held.got)}`})` };
  if (!held.heldBeforeXid) return { use: false, why: "the backup's proofs recorded no transaction it held before" };
  const age = ageOf(proof!, policy);
  return "why" in age ? { use: false, why: age.why } : { use: true, fromXid: held.heldBeforeXid, proof: proof!, ageSeconds: age.ageSeconds };
}

/** What bars any use of the recorded proofs, whatever the check. */
function whyNotUsable(proof: BackupProof | undefined, policy: ProofPolicy): string | undefined {
  if (policy.fullGate) return policy.fullGate;
  if (policy.maxAgeSeconds <= 0) return "recorded proofs are not used (verification.proofMaxAge is 0)";
  if (!proof) return "no proof recorded with the backup";
  if (proof.error) return `the proofs could not run at backup time (${proof.error})`;
  return undefined;
}

function ageOf(proof: BackupProof, policy: ProofPolicy): { ageSeconds: number } | { why: string } {
  const ageSeconds = Math.max(0, Math.round((policy.now - Date.parse(proof.startedAt)) / 1000));
  if (ageSeconds > policy.maxAgeSeconds) return { why: `the recorded proof is ${formatAge(ageSeconds)} old, older than verification.proofMaxAge (${formatAge(policy.maxAgeSeconds)})` };
  return { ageSeconds };
}

/** "3h 2m", "45s": how old a proof is, for the gate's detail. */
export function formatAge(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return [d ? `${d}d` : "", h ? `${h}h` : "", m ? `${m}m` : ""].filter(Boolean).join(" ") || "0m";
}

/** Where an incremental invariant's check starts, for the gate's detail. */
export function sinceDetail(u: Extract<SinceUse, { use: true }>): string {
  const p = u.proof;
  return `written by transactions from ${u.fromXid} on; the whole check held with the backup's proofs on ${p.site} (${p.role}) ${formatAge(u.ageSeconds)} ago, covering up to ${p.coversLsn}`;
}

/** The gate's detail for a proof it shows instead of running the check. */
export function recordedDetail(u: Extract<ProofUse, { use: true }>): string {
  const p = u.proof;
  return `recorded: passed at backup time on ${p.site} (${p.role}) ${formatAge(u.ageSeconds)} ago, covering up to ${p.coversLsn} (${p.coversTime}), took ${(u.check.durationMs / 1000).toFixed(1)}s: ${u.check.detail}`;
}
