// Proves: typed options become exactly the pgBackRest argv we intend (the flags are what
// decides which backup is restored and where; a wrong one is a wrong restore).
import assert from "node:assert/strict";
import test from "node:test";
import { DrError } from "../core/errors";
import { backupArgs, formatTargetTime, restoreArgs, verifyArgs } from "./options";

test("backup: type, start-fast, repository, annotations", () => {
  assert.deepEqual(backupArgs({ type: "incr", repo: 2, annotations: { by: "ops@host", why: "before release" } }), [
    "--repo=2",
    "--type=incr",
    "--start-fast",
    "--annotation=by=ops@host",
    "--annotation=why=before release",
    "backup",
  ]);
});

test("restore to a point in time pauses at the target, one database only, delta when overwriting", () => {
  const args = restoreArgs({
    repo: 2,
    set: "20261126-091323F",
    pgPath: "/lab/sites/secondary/data",
    target: { kind: "time", time: new Date("2026-11-26T03:14:15.926Z") },
    targetAction: "pause",
    databases: ["financial_planning"],
    delta: true,
  });
  assert.deepEqual(args, [
    "--repo=2",
    "--pg1-path=/lab/sites/secondary/data",
    "--set=20261126-091323F",
    "--type=time",
    "--target=2026-11-26 03:14:15.926000+00",
    "--target-action=pause",
    "--db-include=financial_planning",
    "--delta",
    "restore",
  ]);
});

test("restore latest as a standby (read-only until opened); lsn and name targets", () => {
  assert.deepEqual(restoreArgs({ pgPath: "/d", target: { kind: "latest" }, asStandby: true }), ["--pg1-path=/d", "--type=standby", "restore"]);
  assert.deepEqual(restoreArgs({ pgPath: "/d", target: { kind: "latest" } }), ["--pg1-path=/d", "--type=default", "restore"]);
  assert.deepEqual(restoreArgs({ pgPath: "/d", target: { kind: "lsn", lsn: "0/3000060" } }), ["--pg1-path=/d", "--type=lsn", "--target=0/3000060", "--target-action=promote", "restore"]);
  assert.deepEqual(restoreArgs({ pgPath: "/d", target: { kind: "name", name: "before-migration" }, targetAction: "pause" }), [
    "--pg1-path=/d",
    "--type=name",
    "--target=before-migration",
    "--target-action=pause",
    "restore",
  ]);
});

test("verify and target time formatting", () => {
  assert.deepEqual(verifyArgs({ repo: 1, set: "X" }), ["--repo=1", "--set=X", "--output=text", "--verbose", "verify"]);
  assert.equal(formatTargetTime(new Date("2026-01-02T03:04:05.006Z")), "2026-01-02 03:04:05.006000+00");
});

test("a restore point name that would break out of postgresql.auto.conf's quotes never reaches pgBackRest", () => {
  assert.deepEqual(restoreArgs({ pgPath: "/d", target: { kind: "name", name: "fp-dr-drill-1" } }).slice(1, 3), ["--type=name", "--target=fp-dr-drill-1"]);
  for (const name of ["x'; archive_command = 'rm -rf /", "back\\slash", "two\nlines", " padded", "", "n".repeat(64)]) {
    assert.throws(() => restoreArgs({ pgPath: "/d", target: { kind: "name", name } }), (e: unknown) => e instanceof DrError && e.code === "TARGET_INVALID" && /--target-lsn/.test(e.hint ?? ""), JSON.stringify(name));
  }
});
