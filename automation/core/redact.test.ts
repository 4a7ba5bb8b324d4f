// Proves: registered secrets are masked anywhere in a string or a JSON value, and
// secret-looking assignments are masked even when nobody registered the value.
import assert from "node:assert/strict";
import test from "node:test";
import { DrError } from "./errors";
import { clearSecrets, redact, redactValue, registerSecret } from "./redact";

test("registered secrets are masked in text, JSON values and error messages", () => {
  clearSecrets();
  const secret = "Zx9-very-secret-passphrase-123";
  registerSecret(secret);
  assert.equal(redact(`pass is ${secret}!`), "pass is [redacted]!");
  const v = redactValue({ a: [`x${secret}y`], b: { c: secret } });
  assert.doesNotMatch(JSON.stringify(v), /very-secret/);
  const e = new DrError("INTERNAL", `failed with ${secret}`, { hint: `retry with ${secret}` });
  assert.doesNotMatch(e.message + e.hint, /very-secret/);
});

test("unregistered secret-looking options and URLs are masked and JSON stays valid", () => {
  clearSecrets();
  assert.equal(redact("--repo2-cipher-pass=abcdef123"), "--repo2-cipher-pass=[redacted]");
  assert.equal(redact("repo1-s3-key-secret=XYZ"), "repo1-s3-key-secret=[redacted]");
  assert.equal(redact("PGPASSWORD=hunter22 psql"), "PGPASSWORD=[redacted] psql");
  assert.equal(redact("postgres://app:s3cr3t@db:5432/x"), "postgres://app:[redacted]@db:5432/x");
  const v = redactValue({ note: "password=abc def" });
  assert.equal(v.note, "password=[redacted] def");
});
