import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chooseRecoveryPoint, endOfArchiveTarget } from "./recovery-point";

const target = "2026-12-06T11:00:00.000Z";
const commit = (at: string, lsn = "0/3000060") => ({ commit: { kind: "commit" as const, at, lsn }, segment: "000000010000000000000003", newestSegment: "000000010000000000000004", scanned: ["000000010000000000000004", "000000010000000000000003"], complete: true });

describe("where a restore to a point in time stops", () => {
  it("at the target time when a commit after it is archived (replay stops there)", () => {
    assert.equal(chooseRecoveryPoint(target, commit("2026-12-06T11:00:00.001Z")).kind, "time");
  });
  it("at the end of the archived WAL when its last commit is at or before the target, and says why that is the same state", () => {
    for (const at of ["2026-12-06T10:59:58.000Z", target]) {
      const p = chooseRecoveryPoint(target, commit(at));
      assert.equal(p.kind, "end-of-archive");
      assert.equal(p.lastArchivedCommitAt, at);
      assert.match(p.why, /no commit after the recovery point .*its last commit is .*nothing was committed between the two, so the end of the archived WAL \(000000010000000000000004\) is the same state/);
    }
  });
  it("at the end when every archived segment was read and none holds a commit; at the time (as before) when the search gave up", () => {
    const none = { newestSegment: "000000010000000000000004", scanned: ["000000010000000000000004"], complete: true };
    assert.equal(chooseRecoveryPoint(target, none).kind, "end-of-archive");
    const gaveUp = chooseRecoveryPoint(target, { ...none, complete: false });
    assert.equal(gaveUp.kind, "time");
    assert.match(gaveUp.why, /fails if the archive holds no commit after it/);
  });
});

describe("the stop a restore plan carries out for the end of the archive", () => {
  const set = { label: "20261206-100000F", lsnStop: "0/2000100" };
  it("right after the newest archived commit (an LSN target: a copy never replays what is archived after the plan)", () => {
    const end = endOfArchiveTarget(commit("2026-12-06T10:59:58.000Z", "0/3000060"), set);
    assert.deepEqual(end.target, { kind: "lsn", lsn: "0/3000060" });
    assert.match(end.description, /end of the archived WAL: its newest commit \(2026-12-06T10:59:58.000Z, LSN 0\/3000060\)/);
    // LSNs compare as numbers, not strings ("1/0" is after "0/FFFFFFFF").
    assert.equal(endOfArchiveTarget(commit(target, "1/0"), { ...set, lsnStop: "0/FFFFFFFF" }).target.kind, "lsn");
  });
  it("the end of the backup when the newest commit is inside it (PostgreSQL refuses to stop before the backup's end) or none was archived", () => {
    assert.deepEqual(endOfArchiveTarget(commit(target, "0/2000000"), set).target, { kind: "immediate" });
    assert.match(endOfArchiveTarget(commit(target, "0/2000000"), set).description, /end of backup 20261206-100000F \(no commit archived after it; the newest, .* is inside it\)/);
    assert.deepEqual(endOfArchiveTarget({ newestSegment: "000000010000000000000004", scanned: [], complete: true }, set).target, { kind: "immediate" });
  });
});
