// The URNs the engine targets exist in the real program. The secondary stack (as shipped in
// Pulumi.secondary.yaml) runs against infra's mocks, with the mock monitor's URN function
// replaced by the engine's rule (the parent's whole type chain, the root stack left out; the
// stock mock keeps only the parent's last type). Then every URN that ./urns.ts builds for the
// DNS swap, the restore and the fence (both modes) must be one the program registered.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import * as mocksModule from "@pulumi/pulumi/runtime/mocks";
import * as settingsModule from "@pulumi/pulumi/runtime/settings";
import { configFromStackFile, installMocks, settle, standbySecrets } from "../../../infra/testing/mocks";
import { activeSiteUrns, dnsRecordUrns, fenceUrns, instanceUrn, primaryStackReferenceUrn, promoteUrns, restoreUrns, streamUrns } from "./urns";

interface MockMonitorLike {
  getRegisteredResources(): Map<string, unknown>;
}

const mocks = mocksModule as unknown as { MockMonitor: { prototype: { newUrn(parent: string, type: string, name: string): string } } };
const settings = settingsModule as unknown as { getMonitor(): MockMonitorLike };

mocks.MockMonitor.prototype.newUrn = function (parent: string, type: string, name: string): string {
  let qualified = type;
  if (parent) {
    const parentType = parent.split("::")[2];
    if (parentType !== "pulumi:pulumi:Stack") qualified = `${parentType}$${type}`;
  }
  return `urn:pulumi:secondary::fp-dr::${qualified}::${name}`;
};

// Fenced with mode stop, so that the state resource a stop fence adds is registered too.
const { config, secretKeys } = configFromStackFile(join(__dirname, "..", "..", "..", "Pulumi.secondary.yaml"), standbySecrets, {
  "fp-dr:fence": { mode: "stop", requestId: "fence-20250901t120000z-0001" },
  "fp-dr:promote": { requestId: "promote-20250901t120000z-0002" },
});
installMocks({ stack: "secondary", config, secretKeys, stackOutputs: { "acme/fp-dr/primary": { privateIp: "10.20.7.42", role: "primary", vpcId: "vpc-0a1b2c3d4e5f60718" } } });
let urns: string[] = [];

before(async () => {
  const { program } = await import("../../../infra/program");
  await settle(await program());
  urns = [...settings.getMonitor().getRegisteredResources().keys()];
});

test("the program registers the URNs the engine targets (DNS records, restore and promote commands, the stream settings, host instance, its stopped state, the reference to the primary's outputs)", () => {
  assert.ok(urns.length > 40, `only ${urns.length} resources registered`);
  assert.deepEqual(fenceUrns("secondary", "secondary", "isolate"), [instanceUrn("secondary", "secondary")]);
  for (const u of [...activeSiteUrns("secondary", "secondary"), ...dnsRecordUrns("secondary", "secondary"), ...restoreUrns("secondary", "secondary"), ...fenceUrns("secondary", "secondary", "stop"), ...promoteUrns("secondary", "secondary"), ...streamUrns("secondary", "secondary"), primaryStackReferenceUrn("secondary", "secondary")]) {
    assert.ok(urns.includes(u), `${u} is not a resource of the program; near misses:\n  ${urns.filter((x) => x.endsWith(u.split("::").pop()!)).join("\n  ")}`);
  }
});

test("a fully qualified stack name contributes only its last segment to a URN", () => {
  assert.deepEqual(dnsRecordUrns("organization/fp-dr/secondary", "secondary"), dnsRecordUrns("secondary", "secondary"));
});
