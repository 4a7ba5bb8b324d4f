// Proves: the custody record chains its entries (an edited or removed entry is detected), an
// incident stays bound to its site, and a changed incident time is recorded as a revision.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { actor, appendCustody, checkChain, CUSTODY_FILE, lastEntry, newIncidentId, openIncident, readCustody, checkIncidentId } from "./custody";
import { tempDir } from "../../test/harness/temp-dir";

const by = actor("test");

function fresh() {
  const dir = join(tempDir("fp-dr-custody-"), "inc");
  openIncident(dir, { id: "inc", site: "primary", environment: "lab", engine: "local" }, by);
  appendCustody(dir, { action: "isolate", site: "primary", by, summary: "isolated" });
  appendCustody(dir, { action: "preserve", site: "primary", by, summary: "copied", evidence: [{ path: "evidence/x", sha256: "0".repeat(64), bytes: 1 }] });
  return dir;
}

test("entries are chained: editing or removing one breaks the chain", () => {
  const dir = fresh();
  const record = readCustody(dir)!;
  assert.deepEqual(record.entries.map((e) => e.action), ["open", "isolate", "preserve"]);
  assert.deepEqual(checkChain(record), { ok: true });
  assert.equal(lastEntry(record, "preserve", "primary")?.summary, "copied");

  const edited = JSON.parse(readFileSync(join(dir, CUSTODY_FILE), "utf8"));
  edited.entries[1].summary = "nothing happened";
  assert.deepEqual(checkChain(edited), { ok: false, brokenAt: 3 });
  const removed = readCustody(dir)!;
  removed.entries.splice(1, 1);
  assert.equal(checkChain(removed).ok, false);
});

test("an incident stays bound to its site; a new incident time is a recorded revision", () => {
  const dir = fresh();
  assert.throws(() => openIncident(dir, { id: "inc", site: "secondary", environment: "lab", engine: "local" }, by), /concerns site primary/);
  const r = openIncident(dir, { id: "inc", site: "primary", environment: "lab", engine: "local", incidentTime: "2026-11-26T03:00:00.000Z" }, by);
  assert.equal(r.incident.incidentTime, "2026-11-26T03:00:00.000Z");
  assert.equal(r.entries[r.entries.length - 1].action, "revise");
  assert.equal(checkChain(readCustody(dir)!).ok, true);
});

test("incident ids are usable as site and directory names", () => {
  assert.match(newIncidentId(new Date("2026-11-26T03:14:15Z")), /^20261126-031415$/);
  assert.equal(checkIncidentId("t1"), "t1");
  assert.throws(() => checkIncidentId("../etc"), /not usable/);
  assert.throws(() => checkIncidentId("Upper"), /not usable/);
});
