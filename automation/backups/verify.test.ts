// Proves: pgBackRest 2.45 verify text (captured from real runs, one clean and one with a
// flipped byte) is turned into a verdict per set; pgBackRest itself exits 0 in both cases.
import assert from "node:assert/strict";
import test from "node:test";
import { parseVerifyText } from "./verify";

const clean = `stanza: fp
status: ok
  archiveId: 15-1, total WAL checked: 6, total valid WAL: 6
    missing: 0, checksum invalid: 0, size invalid: 0, other: 0
  backup: 20261126-091323F, status: valid, total files checked: 1334, total valid files: 1334
    missing: 0, checksum invalid: 0, size invalid: 0, other: 0
`;
const tampered = `stanza: fp
status: error
  archiveId: 15-1, total WAL checked: 5, total valid WAL: 5
    missing: 0, checksum invalid: 0, size invalid: 0, other: 0
  backup: 20261126-091323F, status: invalid, total files checked: 1334, total valid files: 1333
    missing: 0, checksum invalid: 1, size invalid: 0, other: 0
`;

test("a clean repository: every set valid, archive counted", () => {
  const r = parseVerifyText(clean);
  assert.equal(r.status, "ok");
  assert.equal(r.sets.length, 1);
  assert.equal(r.sets[0].ok, true);
  assert.equal(r.sets[0].filesChecked, 1334);
  assert.deepEqual(r.archive, { id: "15-1", checked: 6, valid: 6, problems: 0 });
});

test("a flipped byte: the set is invalid with the reason", () => {
  const r = parseVerifyText(tampered);
  assert.equal(r.status, "error");
  assert.equal(r.sets[0].ok, false);
  assert.equal(r.sets[0].checksumInvalid, 1);
  assert.match(r.sets[0].detail, /1 with bad checksums/);
});

// Captured from pgBackRest 2.45 with --log-level-console=info after a byte flip in the offsite store.
const named = `2026-12-06 11:17:16.772 P00   INFO: verify command begin 2.45: --log-level-console=info --output=text --repo=2 --set=20261206-111708F_20261206-111714I --stanza=fp --verbose
2026-12-06 11:17:18.705 P02   INFO: invalid checksum '20261206-111708F_20261206-111714I/pg_data/base/16386/1255.lz4'
2026-12-06 11:17:18.928 P00   INFO: stanza: fp
                                    status: error
                                      archiveId: 15-1, total WAL checked: 8, total valid WAL: 8
                                        missing: 0, checksum invalid: 0, size invalid: 0, other: 0
                                      backup: 20261206-111708F_20261206-111714I, status: invalid, total files checked: 1344, total valid files: 1343
                                        missing: 0, checksum invalid: 1, size invalid: 0, other: 0
stanza: fp
status: error
  archiveId: 15-1, total WAL checked: 8, total valid WAL: 8
    missing: 0, checksum invalid: 0, size invalid: 0, other: 0
  backup: 20261206-111708F_20261206-111714I, status: invalid, total files checked: 1344, total valid files: 1343
    missing: 0, checksum invalid: 1, size invalid: 0, other: 0
2026-12-06 11:17:18.928 P00   INFO: verify command end: completed successfully (2157ms)
`;

test("with pgBackRest's info lines: the damaged file is named, and the repeated report counts once", () => {
  const r = parseVerifyText(named);
  assert.equal(r.sets.length, 1);
  assert.deepEqual(r.sets[0].invalidFiles, ["pg_data/base/16386/1255.lz4 (invalid checksum)"]);
  assert.match(r.sets[0].detail, /1 with bad checksums: pg_data\/base\/16386\/1255\.lz4 \(invalid checksum\)/);
});

// Captured from pgBackRest 2.45 (repo1-bundle=y) after 32 bytes were inverted in the middle of
// the set's bundle/1 object: verify names the damaged file inside the bundle by its own path,
// not the bundle object, so a bundled set's verdict names files as an unbundled one does.
const bundleFlipped = `2026-12-06 23:58:29.156 P00   INFO: verify command begin 2.45: --config=/tmp/fp-dr-bundle-verify/pgbackrest.conf --exec-id=11402-c052c181 --log-level-console=info --log-path=/tmp/fp-dr-bundle-verify/log --output=text --repo1-path=/tmp/fp-dr-bundle-verify/repo --stanza=fp --verbose
2026-12-06 23:58:29.228 P01   INFO: invalid checksum '20261206-235825F/pg_data/base/1/2690.lz4'
2026-12-06 23:58:29.378 P00   INFO: stanza: fp
                                    status: error
                                      archiveId: 15-1, total WAL checked: 2, total valid WAL: 2
                                        missing: 0, checksum invalid: 0, size invalid: 0, other: 0
                                      backup: 20261206-235825F, status: invalid, total files checked: 964, total valid files: 963
                                        missing: 0, checksum invalid: 1, size invalid: 0, other: 0
stanza: fp
status: error
  archiveId: 15-1, total WAL checked: 2, total valid WAL: 2
    missing: 0, checksum invalid: 0, size invalid: 0, other: 0
  backup: 20261206-235825F, status: invalid, total files checked: 964, total valid files: 963
    missing: 0, checksum invalid: 1, size invalid: 0, other: 0
2026-12-06 23:58:29.378 P00   INFO: verify command end: completed successfully (225ms)
`;

test("a byte flipped inside a bundle: the bundled file it hit is named by its path in the set", () => {
  const r = parseVerifyText(bundleFlipped);
  assert.equal(r.sets.length, 1);
  assert.equal(r.sets[0].ok, false);
  assert.deepEqual(r.sets[0].invalidFiles, ["pg_data/base/1/2690.lz4 (invalid checksum)"]);
  assert.match(r.sets[0].detail, /^invalid: 1 with bad checksums: pg_data\/base\/1\/2690\.lz4 \(invalid checksum\)$/);
});

// Captured from the same run with bundle/2 deleted and bundle/1 truncated to 2 MB: one log line
// per file the bundles held (410 here; the first three kept, in pgBackRest's order).
const bundleLost = `2026-12-06 23:58:35.617 P00   INFO: verify command begin 2.45: --config=/tmp/fp-dr-bundle-verify/pgbackrest.conf --exec-id=11574-62950131 --log-level-console=info --log-path=/tmp/fp-dr-bundle-verify/log --output=text --repo1-path=/tmp/fp-dr-bundle-verify/repo --stanza=fp --verbose
2026-12-06 23:58:35.729 P01   INFO: file missing '20261206-235825F/pg_data/base/1/1259.lz4'
2026-12-06 23:58:35.744 P01   INFO: file missing '20261206-235825F/pg_data/base/4/1259_vm.lz4'
2026-12-06 23:58:35.744 P01   INFO: file missing '20261206-235825F/pg_data/base/4/13391_fsm.lz4'
stanza: fp
status: error
  archiveId: 15-1, total WAL checked: 2, total valid WAL: 2
    missing: 0, checksum invalid: 0, size invalid: 0, other: 0
  backup: 20261206-235825F, status: invalid, total files checked: 964, total valid files: 554
    missing: 31, checksum invalid: 379, size invalid: 0, other: 0
`;

test("a bundle lost or cut short: every file it held counts, the first are named", () => {
  const r = parseVerifyText(bundleLost);
  const s = r.sets[0];
  assert.equal(s.ok, false);
  assert.deepEqual([s.missing, s.checksumInvalid, s.filesValid], [31, 379, 554]);
  assert.deepEqual(s.invalidFiles, ["pg_data/base/1/1259.lz4 (file missing)", "pg_data/base/4/1259_vm.lz4 (file missing)", "pg_data/base/4/13391_fsm.lz4 (file missing)"]);
  assert.match(s.detail, /^invalid: 31 missing, 379 with bad checksums: pg_data\/base\/1\/1259\.lz4 \(file missing\), /);
});
