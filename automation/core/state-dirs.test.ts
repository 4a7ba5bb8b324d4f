// Proves that every run's state (journal, shared store of the lease, reports, incidents) has one home per engine:
// the lab directory on the local engine, and on the pulumi engine the directory that holds its
// journal, so that pulumi reports and incidents never land in a lab directory.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "./load-config";
import { incidentsRoot, journalFor, reportsDir, sharedStoreDir } from "./state-dirs";

test("local engine: journal, shared store, reports and incidents under the lab directory", () => {
  const config = parseConfig({ environment: "lab", lab: { dir: "/srv/lab" } });
  assert.equal(journalFor(config).dir, "/srv/lab/journal");
  assert.equal(sharedStoreDir(config), "/srv/lab/shared");
  assert.equal(reportsDir(config), "/srv/lab/reports");
  assert.equal(incidentsRoot(config), "/srv/lab/incidents");
});

test("pulumi engine: everything beside pulumi.journalDir, nothing in the lab directory", () => {
  const config = parseConfig({ engine: "pulumi", environment: "prod", lab: { dir: "/srv/lab" }, pulumi: { journalDir: "/var/lib/dr/journal" } });
  assert.equal(journalFor(config).dir, "/var/lib/dr/journal");
  assert.equal(sharedStoreDir(config), "/var/lib/dr/shared");
  assert.equal(reportsDir(config), "/var/lib/dr/reports");
  assert.equal(incidentsRoot(config), "/var/lib/dr/incidents");
  const unset = parseConfig({ engine: "pulumi" });
  for (const p of [journalFor(unset).dir, reportsDir(unset), incidentsRoot(unset)]) assert.match(p, /fp-dr[/]pulumi[/]/);
});

test("reports.dir wins on both engines", () => {
  for (const engine of ["local", "pulumi"]) assert.equal(reportsDir(parseConfig({ engine, reports: { dir: "/srv/reports" } })), "/srv/reports");
});
