import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compareLsn, parseTransactionEnds } from "./archived-commits";

// pg_waldump 15 --rmgr=Transaction, run with TZ=UTC (captured from a lab segment).
const dump = [
  "rmgr: Transaction len (rec/tot):     34/    34, tx:        735, lsn: 0/0601D238, prev 0/0601D200, desc: COMMIT 2026-12-06 11:17:15.505405 UTC",
  "rmgr: Transaction len (rec/tot):     34/    34, tx:        736, lsn: 0/0601D2A0, prev 0/0601D260, desc: ABORT 2026-12-06 11:17:16.000001 UTC",
  "rmgr: Transaction len (rec/tot):    405/   405, tx:        737, lsn: 0/0601E000, prev 0/0601D2A0, desc: COMMIT 2026-12-06 11:17:17.25 UTC; inval msgs: catcache 7 catcache 6",
  "rmgr: Transaction len (rec/tot):     50/    50, tx:          0, lsn: 0/0601F000, prev 0/0601E000, desc: COMMIT_PREPARED 738: 2026-12-06 11:17:18.000000 UTC",
  "pg_waldump: error: error in WAL record at 0/601F100: invalid record length at 0/601F138: wanted 24, got 0",
].join("\n");

describe("archived commits", () => {
  it("reads commits and aborts with their LSN and UTC time, in order", () => {
    assert.deepEqual(parseTransactionEnds(dump), [
      { kind: "commit", at: "2026-12-06T11:17:15.505Z", lsn: "0/0601D238" },
      { kind: "abort", at: "2026-12-06T11:17:16.000Z", lsn: "0/0601D2A0" },
      { kind: "commit", at: "2026-12-06T11:17:17.250Z", lsn: "0/0601E000" },
      { kind: "commit", at: "2026-12-06T11:17:18.000Z", lsn: "0/0601F000" },
    ]);
  });

  it("compares LSNs numerically, padded or not", () => {
    assert.ok(compareLsn("0/601D238", "0/0601D2A0") < 0);
    assert.ok(compareLsn("1/0", "0/FFFFFFFF") > 0);
    assert.equal(compareLsn("0/0601D238", "0/601D238"), 0);
  });
});
