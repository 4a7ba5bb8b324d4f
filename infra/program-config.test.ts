// Proves that the program validates its stack config before declaring anything: a broken
// Pulumi.primary.yaml makes `pulumi up` fail with every problem and its key, and not a single
// resource (not even the provider) reaches the engine.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DrError } from "../automation/core/errors";
import { installMocks } from "./testing/mocks";

const h = installMocks({
  stack: "primary",
  config: {
    "aws:region": "eu-central-1",
    "fp-dr:role": "primary",
    "fp-dr:host": JSON.stringify({ instanceType: "huge", toolkitUrl: "ftp://nowhere" }),
    "fp-dr:alerts": JSON.stringify({ diskUsagePercent: 900 }),
    "fp-dr:repoCipherPass": "plain-text-passphrase-in-a-stack-file",
  },
  secretKeys: [],
});

test("an invalid stack config fails with every problem before any resource is declared", async () => {
  const { program } = await import("./program");
  await assert.rejects(program(), (e: unknown) => {
    assert.ok(e instanceof DrError);
    assert.equal(e.code, "CONFIG_INVALID");
    assert.match(e.message, /^Pulumi\.primary\.yaml is invalid \(\d+ problems\):/);
    for (const key of ["fp-dr:host.instanceType", "fp-dr:host.toolkitUrl", "fp-dr:alerts.diskUsagePercent", "fp-dr:repoCipherPass (secret)", "fp-dr:offsite", "fp-dr:alerting.subscriptions.critical"]) {
      assert.ok(e.message.includes(`\n  ${key}: `), `${key} missing from:\n${e.message}`);
    }
    assert.ok(!e.message.includes("plain-text-passphrase-in-a-stack-file"));
    return true;
  });
  assert.deepEqual(h.resources, [], "resources were declared from an invalid config");
  assert.deepEqual(h.calls, [], "lookups were made from an invalid config");
});
