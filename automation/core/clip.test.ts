// Proves: an enormous argument quoted in an error is cut to its start and its length, while
// ordinary messages are left alone.
import assert from "node:assert/strict";
import test from "node:test";
import { clipLongWords } from "./clip";
import { DrError } from "./errors";

test("a 100,000-character argument in an error line is cut", () => {
  const e = new DrError("SITE_UNKNOWN", `no site named ${"x".repeat(100_000)} in the lab`, { hint: `sites: ${"y".repeat(5000)}` });
  assert.ok(e.message.length < 200, `${e.message.length} characters`);
  assert.match(e.message, /^no site named x{60}…\(100000 characters\) in the lab$/);
  assert.ok(e.hint!.length < 200);
});

test("ordinary text and paths stay whole", () => {
  const text = "backup set 20261206-111708F_20261206-111714I failed: pg_data/base/16386/1255.lz4 (invalid checksum)";
  assert.equal(clipLongWords(text), text);
});
