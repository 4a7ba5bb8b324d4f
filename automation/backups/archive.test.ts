// Proves: WAL segment arithmetic matches PostgreSQL's naming, and gap detection finds holes
// (and only holes) across a timeline switch.
import assert from "node:assert/strict";
import test from "node:test";
import { findGaps, lsnBytes, lsnSegment, segmentName, segmentNumber, type ArchivedSegment } from "./archive";

const seg = (name: string): ArchivedSegment => ({ name, ...segmentNumber(name), size: 1, archivedAt: new Date(0) });

test("segment names, numbers and LSNs agree", () => {
  assert.deepEqual(segmentNumber("000000010000000000000003"), { timeline: 1, number: 3 });
  assert.equal(segmentNumber("0000000200000001000000FF").number, 256 + 255);
  assert.equal(segmentName(1, 256 + 255), "0000000100000001000000FF");
  assert.equal(lsnSegment("0/3000028"), 3);
  assert.equal(lsnSegment("1/FF000000"), 256 + 255);
  assert.ok(lsnBytes("0/11000028") < lsnBytes("0/11000090"), "within a segment");
  assert.ok(lsnBytes("0/FFFFFFFF") < lsnBytes("1/0"), "across the 32-bit halves (a string comparison gets this wrong)");
  assert.equal(lsnBytes("1/0"), 2n ** 32n);
});

test("a continuous range has no gaps, even across a timeline switch", () => {
  const s = ["000000010000000000000001", "000000010000000000000002", "000000020000000000000003", "000000020000000000000004"].map(seg);
  assert.deepEqual(findGaps(s, 1, 4), []);
});

test("missing segments are reported as ranges", () => {
  const s = ["000000010000000000000001", "000000010000000000000002", "000000010000000000000005", "000000010000000000000007"].map(seg);
  assert.deepEqual(findGaps(s, 1, 7), [
    { after: "000000010000000000000002", missingFrom: 3, missingTo: 4 },
    { after: "000000010000000000000005", missingFrom: 6, missingTo: 6 },
  ]);
});
