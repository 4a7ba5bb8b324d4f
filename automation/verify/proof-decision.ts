// Whether a restore-path gate may show the proofs recorded with the backup instead of running
// amcheck and the orphan check on the copy again: only a passing proof of that check, no older
// than the configured bound, and only when nothing asks for the full gate. Anything else (no
// proof, a failed one, one too old) runs the check on the copy, and says why.
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
  if (policy.fullGate) return { use: false, why: policy.fullGate };
  if (policy.maxAgeSeconds <= 0) return { use: false, why: "recorded proofs are not used (verification.proofMaxAge is 0)" };
  if (!proof) return { use: false, why: "no proof recorded with the backup" };
  if (proof.error) return { use: false, why: `the proofs could not run at backup time (${proof.error})` };
  const check = proof.checks.find((c) => c.kind === kind);
  if (!check) return { use: false, why: `no ${kind} proof recorded with the backup` };
  if (!check.ok) return { use: false, why: `the ${kind} proof FAILED at backup time on ${proof.site} (${check.detail})` };
  const ageSeconds = Math.max(0, Math.round((policy.now - Date.parse(proof.startedAt)) / 1000));
  if (ageSeconds > policy.maxAgeSeconds) return { use: false, why: `the recorded proof is ${formatAge(ageSeconds)} old, older than verification.proofMaxAge (${formatAge(policy.maxAgeSeconds)})` };
  return { use: true, check, proof, ageSeconds };
}

/** "3h 2m", "45s": how old a proof is, for the gate's detail. */
export function formatAge(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return [d ? `${d}d` : "", h ? `${h}h` : "", m ? `${m}m` : ""].filter(Boolean).join(" ") || "0m";
}

/** The gate's detail for a proof it shows instead of running the check. */
export function recordedDetail(u: Extract<ProofUse, { use: true }>): string {
  const p = u.proof;
  return `recorded: passed at backup time on ${p.site} (${p.role}) ${formatAge(u.ageSeconds)} ago, covering up to ${p.coversLsn} (${p.coversTime}), took ${(u.check.durationMs / 1000).toFixed(1)}s: ${u.check.detail}`;
}
