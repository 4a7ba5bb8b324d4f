// Proves: relation file paths, the server's errors while amcheck reads (captured from
// PostgreSQL 15 with flipped bytes) and pg_checksums' output (captured likewise) are read
// right; only index damage classifies as index-only, anything else (unnamed files too) as table.
import assert from "node:assert/strict";
import { sampleFinding } from "./findings.fixture";
import test from "node:test";
import { interpretServerError, parsePgChecksums, parseRelationFile } from "./messages";
import { classify, corruptionExitCode, mergeFindings, type CorruptionFinding, type CorruptionReport } from "./report";

test("relation file paths: database, file number, fork, segment, tablespace", () => {
  assert.deepEqual(parseRelationFile("base/16384/16391"), { base: "base/16384/16391", tablespace: 1663, database: 16384, filenode: 16391, fork: "main", segment: 0 });
  assert.deepEqual(parseRelationFile("/var/lib/pg/data/base/5/16403_vm.2"), { base: "base/5/16403", tablespace: 1663, database: 5, filenode: 16403, fork: "vm", segment: 2 });
  assert.deepEqual(parseRelationFile("global/1262"), { base: "global/1262", tablespace: 1664, database: 0, filenode: 1262, fork: "main", segment: 0 });
  assert.equal(parseRelationFile("pg_tblspc/16500/PG_15_202209061/16384/16391.1")?.tablespace, 16500);
  assert.equal(parseRelationFile("pg_tblspc/16500/PG_15_202209061/16384/16391.1")?.segment, 1);
  assert.equal(parseRelationFile("pg_wal/000000010000000000000003"), undefined);
});

test("server errors: a failed page names its file; locks and drops are not damage", () => {
  assert.deepEqual(interpretServerError("XX001", "invalid page in block 2 of relation base/5/16391"), { corruption: true, problem: "page-checksum", block: 2, file: "base/5/16391" });
  assert.deepEqual(interpretServerError("XX001", 'could not read block 7 in file "base/5/16391": read only 0 of 8192 bytes'), { corruption: true, problem: "page-unreadable", block: 7, file: "base/5/16391" });
  assert.equal(interpretServerError("XX002", 'item order invariant violated for index "accounts_pkey"').problem, "structure");
  assert.equal(interpretServerError("58P01", 'could not open file "base/5/16391": No such file or directory').file, "base/5/16391");
  assert.equal(interpretServerError("55P03", 'canceling statement due to lock timeout').corruption, false);
  assert.equal(interpretServerError("XX000", "could not open relation with OID 16391").corruption, false);
  assert.equal(interpretServerError("XX000", "found xmin 1234 from before relfrozenxid 5678").corruption, true);
});

const pgChecksumsOutput = `Checksum operation completed
Files scanned:   956
Blocks scanned:  2923
Bad checksums:  2
Data checksum version: 1
pg_checksums: error: checksum verification failed in file "/tmp/x/data/base/5/16403", block 3: calculated checksum 7AEB but block contains AD06
pg_checksums: error: checksum verification failed in file "/tmp/x/data/base/5/16391.1", block 2: calculated checksum F691 but block contains F89C
`;

test("pg_checksums: every failed block, relative to the data directory, with counts", () => {
  const r = parsePgChecksums(pgChecksumsOutput, "/tmp/x/data");
  assert.equal(r.filesScanned, 956);
  assert.equal(r.blocksScanned, 2923);
  assert.equal(r.badChecksums, 2);
  assert.deepEqual(
    r.failures.map((f) => [f.file, f.block]),
    [
      ["base/5/16403", 3],
      ["base/5/16391.1", 131072 + 2],
    ],
  );
  assert.equal(r.refusal, undefined);
  assert.equal(parsePgChecksums("pg_checksums: error: cluster must be shut down\n", "/d").refusal, "cluster must be shut down");
});

const finding = (kind: CorruptionFinding["kind"], relation: string, block = 1) => sampleFinding(kind, relation, block);

test("classification: only indexes → index-only; any table, TOAST or unnamed file → table", () => {
  assert.equal(classify([]), "clean");
  assert.equal(classify([finding("index", "app.a_pkey"), finding("index", "app.b_idx")]), "index-only");
  assert.equal(classify([finding("index", "app.a_pkey"), finding("toast", "pg_toast.pg_toast_1")]), "table");
  assert.equal(classify([finding("unknown", "base/5/99999")]), "table");
  const merged = mergeFindings([finding("table", "app.a", 4), finding("table", "app.a", 2), finding("index", "app.a_pkey")]);
  assert.deepEqual(merged.map((f) => [f.relation, f.blocks]), [["app.a", [2, 4]], ["app.a_pkey", [1]]]);
});

test("exit codes: 0 clean, 1 index-only or not everything read, 2 table", () => {
  const r = (classification: CorruptionReport["classification"], complete = true) => ({ classification, complete, warnings: [] });
  assert.equal(corruptionExitCode(r("clean")), 0);
  assert.equal(corruptionExitCode(r("clean", false)), 1);
  assert.equal(corruptionExitCode(r("index-only")), 1);
  assert.equal(corruptionExitCode(r("table")), 2);
});
