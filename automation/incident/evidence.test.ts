// Proves: a copied tree's SHA256SUMS lists every file with the digest of its bytes (as
// `sha256sum -c` would check them), the copies keep the original mtime and are read-only, and a
// single flipped byte in the copy is found by checkSums; a symbolic link is kept as a link with
// its target in the manifest, never followed.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { chmodSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { checkSums, copyTree, SUMS_FILE, writeManifests } from "./evidence";
import { tempDir } from "../../test/harness/temp-dir";

test("copy, sums, and a flipped byte found", async () => {
  const base = tempDir("fp-dr-evidence-");
  const src = join(base, "src");
  mkdirSync(join(src, "base", "1"), { recursive: true });
  writeFileSync(join(src, "PG_VERSION"), "15\n");
  writeFileSync(join(src, "base", "1", "1259"), Buffer.alloc(8192 * 3, 7));
  utimesSync(join(src, "PG_VERSION"), new Date("2026-01-01T00:00:00Z"), new Date("2026-01-01T00:00:00Z"));
  // A link out of the tree (as an attacker might plant): recorded and recreated, not followed.
  const outside = join(base, "outside");
  mkdirSync(outside);
  writeFileSync(join(outside, "secret"), "not evidence of this host's database");
  symlinkSync(outside, join(src, "base", "planted"));
  const root = join(base, "evidence");
  const copy = await copyTree(src, join(root, "data"), { base: root });
  assert.deepEqual(copy.files.map((f) => f.path).sort(), ["data/PG_VERSION", "data/base/1/1259"]);
  assert.deepEqual(copy.links, [{ path: "data/base/planted", target: outside }]);
  assert.ok(lstatSync(join(root, "data/base/planted")).isSymbolicLink());
  assert.equal(readlinkSync(join(root, "data/base/planted")), outside);
  const { sums } = writeManifests(root, copy.files, copy.links, { what: "test" });
  assert.deepEqual(JSON.parse(readFileSync(join(root, "MANIFEST.json"), "utf8")).links, [{ path: "data/base/planted", target: outside }]);
  assert.equal(sums.sha256, createHash("sha256").update(readFileSync(join(root, SUMS_FILE))).digest("hex"));
  assert.equal(statSync(join(root, "data/PG_VERSION")).mtime.toISOString(), "2026-01-01T00:00:00.000Z");
  assert.equal(statSync(join(root, "data/PG_VERSION")).mode & 0o777, 0o400);
  // The standard tool agrees.
  assert.match(execFileSync("sha256sum", ["-c", SUMS_FILE], { cwd: root, encoding: "utf8" }), /data\/base\/1\/1259: OK/);
  assert.deepEqual(await checkSums(root), { ok: true, checked: 2, mismatched: [], missing: [] });

  const victim = join(root, "data/base/1/1259");
  chmodSync(victim, 0o600);
  const bytes = readFileSync(victim);
  bytes[100] ^= 0xff;
  writeFileSync(victim, bytes);
  assert.deepEqual(await checkSums(root), { ok: false, checked: 2, mismatched: ["data/base/1/1259"], missing: [] });
});
