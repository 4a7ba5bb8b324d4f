// Proves which runs may show the proofs recorded with a backup at their gate: a datacenter or
// hardware failover by restore and a drill (its audit runs them on the copy after the RTO), unless
// --full-gate; incidents and corruption recoveries always check the copy itself, and say why.
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import type { RunScenario } from "../core/run-record";
import { runOptions } from "../commands/recover";
import { fullGateReason } from "./restore-steps";

const ctx = (scenario: RunScenario, fullGate = false) => ({ options: runOptions({ fullGate }), record: { scenario } as never });

describe("the full gate", () => {
  it("a failover by restore and a drill (whose audit runs them after its RTO) may show the recorded proofs; --full-gate runs them on the copy", () => {
    assert.equal(fullGateReason(ctx("drill")), undefined);
    assert.equal(fullGateReason(ctx("drill", true)), "--full-gate");
    assert.equal(fullGateReason(ctx("datacenter")), undefined);
    assert.equal(fullGateReason(ctx("hardware")), undefined);
    assert.equal(fullGateReason(ctx("datacenter", true)), "--full-gate");
  });

  it("incidents and corruption recoveries check the copy itself", () => {
    assert.match(fullGateReason(ctx("security"))!, /source's own proofs are not trusted/);
    assert.match(fullGateReason(ctx("corruption"))!, /checks the copy itself/);
  });
});
