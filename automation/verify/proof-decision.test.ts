// Proves when a restore-path gate shows a proof recorded at backup time instead of re-running the
// check on the copy: only a passing proof of that check, within the age bound, with no full gate
// asked for; every other case runs the check and says why.
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import type { BackupProof } from "./proof";
import { formatAge, proofDecision, recordedDetail, sinceDecision, sinceDetail } from "./proof-decision";

const now = Date.parse("2026-12-06T12:00:00Z");
const proof = (over: Partial<BackupProof> = {}, amcheckOk = true): BackupProof => ({
  ok: amcheckOk,
  site: "secondary",
  role: "standby",
  startedAt: "2026-12-06T10:00:00Z",
  durationMs: 4200,
  coversLsn: "0/3000060",
  coversTime: "2026-12-06T09:59:59Z",
  checks: [
    { kind: "amcheck", name: "amcheck", ok: amcheckOk, detail: amcheckOk ? "12 btree indexes checked" : "1 corrupt: app.ix", durationMs: 3900 },
    { kind: "orphans", name: "orphans", ok: true, detail: "9 foreign keys, no orphans", durationMs: 300 },
  ],
  invariants: [],
  ...over,
});
const policy = { maxAgeSeconds: 26 * 3600, now };

describe("recorded proofs at the gate", () => {
  it("a passing proof within the bound is shown, with where, when and what it covers", () => {
    const d = proofDecision(proof(), "amcheck", policy);
    assert.equal(d.use, true);
    if (!d.use) return;
    assert.equal(d.ageSeconds, 7200);
    assert.equal(recordedDetail(d), "recorded: passed at backup time on secondary (standby) 2h ago, covering up to 0/3000060 (2026-12-06T09:59:59Z), took 3.9s: 12 btree indexes checked");
  });

  it("a failed proof runs the check on the copy, the other kind can still be shown", () => {
    const d = proofDecision(proof({}, false), "amcheck", policy);
    assert.deepEqual(d, { use: false, why: "the amcheck proof FAILED at backup time on secondary (1 corrupt: app.ix)" });
    assert.equal(proofDecision(proof({}, false), "orphans", policy).use, true);
  });

  it("a proof older than the bound, none at all, one that could not run, or a missing kind: run on the copy", () => {
    assert.match((proofDecision(proof(), "amcheck", { ...policy, maxAgeSeconds: 3600 }) as { why: string }).why, /2h old, older than verification.proofMaxAge \(1h\)/);
    assert.deepEqual(proofDecision(undefined, "amcheck", policy), { use: false, why: "no proof recorded with the backup" });
    assert.match((proofDecision(proof({ error: "connection refused", checks: [] }), "orphans", policy) as { why: string }).why, /could not run at backup time \(connection refused\)/);
    assert.match((proofDecision(proof({ checks: [] }), "amcheck", policy) as { why: string }).why, /no amcheck proof recorded/);
  });

  it("the full gate, asked for or configured (bound 0), always runs on the copy", () => {
    assert.deepEqual(proofDecision(proof(), "amcheck", { ...policy, fullGate: "--full-gate" }), { use: false, why: "--full-gate" });
    assert.match((proofDecision(proof(), "amcheck", { ...policy, maxAgeSeconds: 0 }) as { why: string }).why, /proofMaxAge is 0/);
  });

  it("an incremental invariant starts from the transaction its whole check held before, under the same policy", () => {
    const held = proof({ invariants: [{ name: "sums", holds: true, got: "0", heldBeforeXid: "7301" }, { name: "old", holds: true, got: "0" }, { name: "broken", holds: false, got: "3" }] });
    const d = sinceDecision(held, "sums", policy);
    assert.equal(d.use && d.fromXid, "7301");
    if (d.use) assert.equal(sinceDetail(d), "written by transactions from 7301 on; the whole check held with the backup's proofs on secondary (standby) 2h ago, covering up to 0/3000060");
    // A failed amcheck proof does not bar it: the invariant's own whole check held.
    assert.equal(sinceDecision({ ...held, ok: false }, "sums", policy).use, true);
    assert.deepEqual(sinceDecision(held, "old", policy), { use: false, why: "the backup's proofs recorded no transaction it held before" });
    assert.deepEqual(sinceDecision(held, "broken", policy), { use: false, why: "it did not hold with the backup's proofs (got 3)" });
    assert.deepEqual(sinceDecision(held, "absent", policy), { use: false, why: "not evaluated with the backup's proofs" });
    assert.deepEqual(sinceDecision(held, "sums", { ...policy, fullGate: "--full-gate" }), { use: false, why: "--full-gate" });
    assert.match((sinceDecision(held, "sums", { ...policy, maxAgeSeconds: 3600 }) as { why: string }).why, /2h old, older than verification.proofMaxAge/);
    assert.deepEqual(sinceDecision(undefined, "sums", policy), { use: false, why: "no proof recorded with the backup" });
  });

  it("ages read like durations", () => {
    assert.deepEqual([formatAge(45), formatAge(3660), formatAge(93600)], ["45s", "1h 1m", "1d 2h"]);
  });
});
