// Proves what each role implies: the primary is termination-protected and manages the database
// objects; the secondary owns DNS; a drill gets the drill overrides (own network without the
// application, no DNS, alarms or paging, smaller instance, drill tags, nothing protected, no
// repository of its own, read-only).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseStackConfig, rawFromStackFile } from "./load";
import { resolveSite } from "./resolve";

const file = (name: string) => rawFromStackFile(readFileSync(join(__dirname, "..", "..", `Pulumi.${name}.yaml`), "utf8"));

test("primary: protected writer, database objects, no DNS", () => {
  const p = resolveSite(parseStackConfig(file("primary")));
  assert.equal(p.site, "primary");
  assert.equal(p.terminationProtection, true);
  assert.equal(p.protect, true);
  assert.equal(p.writer, true);
  assert.equal(p.writesRepositories, true);
  assert.equal(p.ownsRepository, true);
  assert.equal(p.databaseObjects, true);
  assert.equal(p.dns, false);
  assert.deepEqual(p.offsite, { region: "eu-west-1", site: "secondary", bucket: undefined });
  assert.equal(p.instanceType, "r6i.xlarge");
});

test("secondary: owns DNS and Incident Manager, no termination protection, no database objects", () => {
  const s = resolveSite(parseStackConfig(file("secondary")));
  assert.equal(s.dns, true);
  assert.equal(s.incidentManager, true);
  assert.equal(s.terminationProtection, false);
  assert.equal(s.databaseObjects, false);
  assert.equal(s.offsite?.site, "primary");
});

test("the standby reads the production repositories until it is the active site, then writes them", () => {
  const raw = file("secondary");
  const writes = (activeSite: string) => {
    // "auto" (Route 53's own failover) must be opted into.
    raw.values.dns = { ...(raw.values.dns as object), activeSite, automaticFailover: activeSite === "auto" };
    return resolveSite(parseStackConfig(raw)).writesRepositories;
  };
  assert.deepEqual([writes("auto"), writes("primary"), writes("secondary")], [false, false, true]);
});

test("drill: the secondary's config with drill overrides", () => {
  const raw = file("secondary");
  raw.values.role = "drill";
  raw.values.drill = { id: "20250901t040000", expiresAt: "2025-09-01T10:00:00Z" };
  raw.values.incidentManager = { enabled: false };
  const d = resolveSite(parseStackConfig(raw));
  assert.equal(d.site, "drill-20250901t040000");
  // The production instance type by default: the drill's RTO is the one a failover would see.
  assert.equal(d.instanceType, parseStackConfig(raw).host.instanceType);
  raw.values.drill = { id: "20250901t040000", expiresAt: "2025-09-01T10:00:00Z", instanceType: "t3.large" };
  assert.equal(resolveSite(parseStackConfig(raw)).instanceType, "t3.large", "smaller only when asked");
  assert.deepEqual([d.dns, d.alarms, d.incidentManager, d.databaseObjects, d.writer, d.writesRepositories, d.ownsRepository, d.protect, d.terminationProtection], [false, false, false, false, false, false, false, false, false]);
  assert.deepEqual(d.application, { cidrs: [], securityGroupIds: [], peering: undefined });
  assert.equal(d.offsite, undefined);
  assert.equal(d.tags["fp-dr:drill-id"], "20250901t040000");
  assert.equal(d.tags["fp-dr:expires-at"], "2025-09-01T10:00:00Z");
});

test("a primary that is not reachable yet declares no database objects (first pulumi up)", () => {
  const raw = file("primary");
  raw.values.access = { ...(raw.values.access as object), hostReachable: false };
  assert.equal(resolveSite(parseStackConfig(raw)).databaseObjects, false);
});
