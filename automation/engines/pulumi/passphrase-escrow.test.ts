// The escrowed passphrase against an HTTP double of Secrets Manager (./secrets-manager-double.ts):
// the exact request, the primary region first and the replica's region when it fails, a value
// that is redacted from everything printed, and a refusal that names the secret, not its value.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { DrError } from "../../core/errors";
import { Output } from "../../core/output";
import { cipherPassSecretName } from "../../../infra/naming";
import { readEscrowedPassphrase } from "./passphrase-escrow";
import { startSecretsManagerDouble, type SecretsManagerDouble } from "./secrets-manager-double";

const name = cipherPassSecretName("production");
const pass = "escrowed-passphrase-only-this-test-knows-9f8e7d";
let sm: SecretsManagerDouble;

before(async () => {
  // The primary's region is down; the replica answers.
  sm = await startSecretsManagerDouble({ "eu-west-1": { [name]: pass } }, ["eu-central-1", "eu-west-1"]);
});
after(async () => sm?.close());

test("read from the secret's own region first, then from its replica; the value is redacted from what is printed", async () => {
  sm.requests.length = 0;
  const got = await readEscrowedPassphrase({ secretName: name, regions: ["eu-central-1", "eu-west-1"], clientFor: sm.clientFor });
  assert.equal(got, pass);
  assert.deepEqual(sm.requests, [
    { region: "eu-central-1", target: "secretsmanager.GetSecretValue", body: { SecretId: "fp-dr/production/repository-cipher-pass" } },
    { region: "eu-west-1", target: "secretsmanager.GetSecretValue", body: { SecretId: "fp-dr/production/repository-cipher-pass" } },
  ]);
  let printed = "";
  const err = new Writable({ write: (c, _e, cb) => ((printed += String(c)), cb()) });
  const out = new Output({ json: false, verbose: true, stderr: err });
  out.info(`read ${got}`);
  out.warn(`passphrase ${got}`);
  assert.ok(printed.length > 0 && !printed.includes(pass), printed);
});

test("unreadable in every region: CONFIG_INVALID naming the secret and each region's error, never a value", async () => {
  sm.requests.length = 0;
  await assert.rejects(readEscrowedPassphrase({ secretName: "fp-dr/staging/repository-cipher-pass", regions: ["eu-central-1", "eu-west-1"], clientFor: sm.clientFor }), (e: DrError) => {
    assert.equal(e.code, "CONFIG_INVALID");
    assert.equal(e.message, "no repository passphrase given and its escrow fp-dr/staging/repository-cipher-pass could not be read (eu-central-1: InternalServiceError; eu-west-1: ResourceNotFoundException)");
    assert.match(e.hint ?? "", /GetSecretValue/);
    return true;
  });
  assert.equal(sm.requests.length, 2);
});
