// Proves the outputs contract the automation relies on: Automation API output maps and plain
// values both parse; a missing or malformed key is reported with its path.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DrError } from "../automation/core/errors";
import { parseSiteOutputs } from "./outputs";

const minimal = {
  environment: "production",
  site: "primary",
  role: "primary",
  region: "eu-central-1",
  stanza: "fp",
  database: "financial_planning",
  vpcId: "vpc-1",
  instanceId: "i-1",
  privateIp: "10.20.0.10",
  endpoint: { host: "10.20.0.10", port: 5432 },
  securityGroups: { database: "sg-1", isolation: "sg-2" },
  repositories: { repo1: { bucket: "b1", region: "eu-central-1", path: "/pgbackrest", cipher: true } },
  alarms: ["a"],
};

test("plain values and Automation API output maps both parse", () => {
  assert.equal(parseSiteOutputs(minimal).privateIp, "10.20.0.10");
  const wrapped = Object.fromEntries(Object.entries(minimal).map(([k, v]) => [k, { value: v, secret: false }]));
  assert.deepEqual(parseSiteOutputs(wrapped), parseSiteOutputs(minimal));
});

test("missing and malformed keys are reported with their paths", () => {
  const { instanceId: _drop, ...rest } = minimal;
  void _drop;
  assert.throws(
    () => parseSiteOutputs({ ...rest, endpoint: { host: "x", port: "5432" } }),
    (e: unknown) => e instanceof DrError && /instanceId: /.test(e.message) && /endpoint\.port: /.test(e.message),
  );
});
