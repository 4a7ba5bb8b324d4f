import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chooseRecoveryPoint } from "./recovery-point";

const target = "2026-12-06T11:00:00.000Z";
const commit = (at: string) => ({ commit: { kind: "commit" as const, at, lsn: "0/3000060" }, segment: "000000010000000000000003", newestSegment: "000000010000000000000004", scanned: ["000000010000000000000004", "000000010000000000000003"], complete: true });

describe("where a restore to a time before the incident stops", () => {
  it("at the target time when a commit after it is archived (replay stops there)", () => {
    assert.equal(chooseRecoveryPoint(target, commit("2026-12-06T11:00:00.001Z")).kind, "time");
  });
  it("at the end of the archived WAL when its last commit is at or before the target, and says so", () => {
    for (const at of ["2026-12-06T10:59:58.000Z", target]) {
      const p = chooseRecoveryPoint(target, commit(at));
      assert.equal(p.kind, "end-of-archive");
      assert.equal(p.lastArchivedCommitAt, at);
      assert.match(p.why, /no commit after the recovery point .* end of the archived WAL \(000000010000000000000004\)/);
    }
  });
  it("at the end when every archived segment was read and none holds a commit; at the time (as before) when the search gave up", () => {
    const none = { newestSegment: "000000010000000000000004", scanned: ["000000010000000000000004"], complete: true };
    assert.equal(chooseRecoveryPoint(target, none).kind, "end-of-archive");
    assert.equal(chooseRecoveryPoint(target, { ...none, complete: false }).kind, "time");
  });
});
