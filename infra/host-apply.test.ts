// The host-apply document: what SSM runs on a host when its spec changes. Proves the lines are
// valid sh once SSM has put its parameters in (dash, as the agent runs them), that the
// parameter patterns accept exactly what the stack passes, and that the version follows the
// spec (a changed setting is a new run; the same spec is none).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { hostApplyDocument, hostConfigVersion } from "./host-apply";
import { hostSpecParameterName } from "./naming";
import { sampleHostSpec } from "./testing/sample-host-spec";

const doc = hostApplyDocument("eu-central-1") as {
  parameters: Record<string, { allowedPattern: string }>;
  mainSteps: { inputs: { runCommand: string[] } }[];
};

test("the document's lines are valid sh with its parameters in place", () => {
  const version = hostConfigVersion(sampleHostSpec());
  const script = doc.mainSteps[0].inputs.runCommand.join("\n").replace("{{ specParameter }}", hostSpecParameterName("production", "primary")).replace("{{ configVersion }}", version);
  const r = spawnSync("sh", ["-n"], { input: script, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
});

test("the parameter patterns accept what the stack passes and nothing a shell would act on", () => {
  const spec = new RegExp(doc.parameters.specParameter.allowedPattern);
  const version = new RegExp(doc.parameters.configVersion.allowedPattern);
  assert.ok(spec.test(hostSpecParameterName("production", "primary")));
  assert.ok(version.test(hostConfigVersion(sampleHostSpec())));
  for (const bad of ["/fp-dr-production/primary/host-spec'; reboot; '", "/x/y/host-spec\n", "$(id)"]) assert.ok(!spec.test(bad), bad);
  assert.ok(!version.test("abc; reboot"));
});

test("the version changes with the spec, and only then", () => {
  const base = hostConfigVersion(sampleHostSpec());
  assert.equal(hostConfigVersion(sampleHostSpec()), base);
  assert.notEqual(hostConfigVersion(sampleHostSpec({ settings: { work_mem: "64MB" } })), base);
  assert.notEqual(hostConfigVersion(sampleHostSpec({ clientCidrs: ["10.10.0.0/16"] })), base);
});
