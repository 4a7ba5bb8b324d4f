// Proves: real `pgbackrest info --output=json` (captured from pgBackRest 2.45 on the lab) is
// parsed into typed sets, and a changed format is an error rather than a silent misreading.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import test from "node:test";
import { parseInfo, toBackupSet } from "./info";

const fixture = readFileSync(join(__dirname, "../../test/fixtures/pgbackrest-info-2.45.json"), "utf8");

test("parses both repositories' sets with WAL ranges, sizes and annotations", () => {
  const [stanza] = parseInfo(fixture);
  assert.equal(stanza.name, "fp");
  assert.equal(stanza.status.code, 0);
  const sets = stanza.backup.map(toBackupSet);
  assert.equal(sets.length, 2);
  assert.deepEqual(sets.map((s) => s.repo).sort(), [1, 2]);
  for (const s of sets) {
    assert.equal(s.type, "full");
    assert.match(s.label, /^\d{8}-\d{6}F$/);
    assert.ok(s.size > 1_000_000 && s.repoSize! > 0 && s.repoSize! < s.size, "compressed repository size below database size");
    assert.match(s.walStart!, /^[0-9A-F]{24}$/);
    assert.ok(s.stoppedAt >= s.startedAt);
    assert.equal(s.annotations.by, "dr lab up");
  }
  assert.equal(stanza.archive.length, 2);
});

test("a changed format fails loudly", () => {
  const broken = JSON.parse(fixture);
  broken[0].backup[0].timestamp = "yesterday";
  assert.throws(() => parseInfo(JSON.stringify(broken)), /timestamp/);
});
