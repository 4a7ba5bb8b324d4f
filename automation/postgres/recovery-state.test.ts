import assert from "node:assert/strict";
import { test } from "node:test";
import { lagBehind, lsnDiff, type RecoveryState } from "./recovery-state";

test("lsnDiff counts bytes across the 32-bit boundary of an LSN", () => {
  assert.equal(lsnDiff("0/7000200", "0/7000140"), 0xc0);
  assert.equal(lsnDiff("1/0", "0/FFFFFFFF"), 1);
  assert.equal(lsnDiff("16/B374D848", "16/B374D848"), 0);
  assert.ok(lsnDiff("0/5000000", "0/6000000") < 0);
});

test("lag: none when everything is replayed or the primary committed nothing since, else the age of the last replayed transaction", () => {
  const standby: RecoveryState = { role: "standby", source: "stream", timeline: 1, receiveLsn: "0/7000200", replayLsn: "0/7000200", lastReplayAt: "2026-12-06T10:00:00.000Z", paused: false, waitingForWal: true };
  const now = new Date("2026-12-06T10:00:30.000Z");
  assert.deepEqual(lagBehind(standby, { replayLsn: "0/7000200", lastReplayAt: "2026-12-06T10:00:20.000Z" }, now), { bytes: 0, seconds: 0 });
  assert.deepEqual(lagBehind(standby, { replayLsn: "0/7000300", lastReplayAt: "2026-12-06T10:00:20.000Z" }, now), { bytes: 0x100, seconds: 30 });
  // WAL without a commit since the last replayed one (an idle primary's checkpoint): no data behind.
  assert.deepEqual(lagBehind(standby, { replayLsn: "0/7000300", lastReplayAt: "2026-12-06T10:00:00.000Z" }, now), { bytes: 0x100, seconds: 0 });
});
