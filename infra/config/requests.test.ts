// Proves that a request makes the whole trip and comes back the same: restore target → request →
// `--path` entries → what Pulumi keeps → the stack schema → the target the host restores to; and
// fence and drill requests through entries, storage and schema. A field lost or retyped on the
// way (a repo number kept as text, a timeout in the wrong unit, a target dropped) fails here.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { RestoreTarget } from "../../automation/pgbackrest/options";
import { readRequest, requestEntries, requestForTarget, storedForm, targetOfRequest } from "./requests";

test("restore: every target kind survives target → entries → stored → schema → target", () => {
  const targets: RestoreTarget[] = [
    { kind: "latest" },
    { kind: "time", time: new Date("2025-09-01T03:59:30.250Z") },
    { kind: "lsn", lsn: "0/5000060" },
    { kind: "name", name: "fp-dr-drill-20250901t040000z-ab12" },
    { kind: "immediate" },
  ];
  for (const target of targets) {
    const written = { requestId: "restore-20250901t120000z-0001", set: "20250830-010000F", ...requestForTarget(target), repo: 2 as const, allowOverwrite: true, timeout: 14400 };
    const entries = requestEntries("restore", written);
    assert.ok(Object.keys(entries).every((k) => k.startsWith("fp-dr:restore.")), target.kind);
    const read = readRequest("restore", storedForm(entries).restore);
    assert.deepEqual(read, written, target.kind);
    assert.deepEqual(targetOfRequest(read), target, target.kind);
  }
});

test("restore: what the schema fills in is what the host would assume", () => {
  const read = readRequest("restore", storedForm(requestEntries("restore", { requestId: "r-1" })).restore);
  assert.deepEqual(read, { requestId: "r-1", mode: "promote", repo: 1, timeout: 4 * 3600, allowOverwrite: false });
});

test("fence and drill requests come back as written", () => {
  for (const mode of ["isolate", "stop"] as const) {
    const fence = { mode, requestId: "fence-20250901t120000z-0001" };
    assert.deepEqual(readRequest("fence", storedForm(requestEntries("fence", fence)).fence), fence);
  }
  const drill = { id: "20250901t040000z", expiresAt: "2025-09-02T00:00:00.000Z", instanceType: "t3.medium" };
  assert.deepEqual(readRequest("drill", storedForm(requestEntries("drill", drill)).drill), drill);
});

test("a request the schema refuses is refused on the way back", () => {
  assert.throws(() => readRequest("restore", storedForm(requestEntries("restore", { requestId: "has space" })).restore));
  assert.throws(() => readRequest("fence", { requestId: "f-1", mode: "delete" }));
});

test("a standby request pointing at a primary, and a promote request, come back as written", () => {
  const standby = { requestId: "reprotect-20250901t130000z-0001", mode: "standby" as const, repo: 1 as const, allowOverwrite: true, primaryHost: "10.30.7.9", primarySlot: "fp_standby_primary", timeout: 14400 };
  const read = readRequest("restore", storedForm(requestEntries("restore", standby)).restore);
  assert.deepEqual(read, standby);
  assert.deepEqual(targetOfRequest(read), { kind: "latest" });
  const promote = { requestId: "promote-20250901t130000z-0002", waitSeconds: 60 };
  assert.deepEqual(readRequest("promote", storedForm(requestEntries("promote", promote)).promote), promote);
  assert.throws(() => readRequest("restore", { ...standby, primaryHost: "db.example" }), /IPv4|ipv4/i);
});
