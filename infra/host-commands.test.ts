// Proves the commands Pulumi runs on a host: valid bash; pgBackRest arguments for each kind of
// restore request; the guard that refuses to restore over a running primary holding data
// (exercised for real with stand-in sudo/psql/pgbackrest on PATH); the admin password only in
// a quoted heredoc on stdin.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readyScript, restoreArguments, restoreScript, type RestoreRequestSpec } from "./host-commands";

const base: RestoreRequestSpec = { stanza: "fp", requestId: "incident-42", mode: "promote", repo: 1, allowOverwrite: false };

test("restore arguments: point in time, backup set, standby, other repository", () => {
  assert.deepEqual(restoreArguments({ ...base, targetTime: "2025-08-30T10:15:00Z" }), ["--stanza=fp", "--repo=1", "--delta", "--type=time", "--target=2025-08-30T10:15:00Z", "--target-action=promote", "restore"]);
  assert.deepEqual(restoreArguments({ ...base, set: "20250830-010000F" }), ["--stanza=fp", "--repo=1", "--delta", "--set=20250830-010000F", "--type=immediate", "--target-action=promote", "restore"]);
  assert.deepEqual(restoreArguments({ ...base, mode: "standby", repo: 2 }), ["--stanza=fp", "--repo=2", "--delta", "--type=standby", "restore"]);
});

test("the scripts are valid bash", () => {
  for (const script of [restoreScript({ ...base, set: "20250830-010000F" }), readyScript(), readyScript({ role: "fp_admin", password: "it's-a-secret" })]) {
    const r = spawnSync("bash", ["-n"], { input: script, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
  }
});

/** Runs the restore script with fake sudo/psql/pgbackrest/systemctl that log their arguments. */
function runRestore(request: RestoreRequestSpec, state: { inRecovery: string; userDatabases: string }) {
  const dir = mkdtempSync("/tmp/fp-dr-restore-");
  try {
    const log = join(dir, "log");
    const fake = (name: string, body: string) => {
      writeFileSync(join(dir, name), `#!/bin/bash\n${body}\n`);
      chmodSync(join(dir, name), 0o755);
    };
    fake("sudo", `if [ "$1" = "-u" ]; then shift 2; fi; exec "$@"`);
    fake("cloud-init", "exit 0");
    fake("systemctl", `echo "systemctl $*" >> ${log}`);
    fake("pg_isready", "exit 0");
    fake("pgbackrest", `echo "pgbackrest $*" >> ${log}`);
    fake("psql", `case "$*" in *pg_is_in_recovery*) echo ${state.inRecovery};; *pg_database*) echo ${state.userDatabases};; esac`);
    const r = spawnSync("bash", ["-s"], { input: restoreScript(request), encoding: "utf8", env: { PATH: `${dir}:/usr/bin:/bin` } });
    let calls = "";
    try {
      calls = readFileSync(log, "utf8");
    } catch {
      calls = "";
    }
    return { status: r.status, stderr: r.stderr, calls };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("a running primary holding data is never restored over, unless the request allows it", () => {
  const req = { ...base, targetTime: "2025-08-30T10:15:00Z" };
  const refused = runRestore(req, { inRecovery: "f", userDatabases: "1" });
  assert.equal(refused.status, 3);
  assert.match(refused.stderr, /refusing to restore over a running primary/);
  assert.equal(refused.calls, "", "nothing was stopped or restored");

  const allowed = runRestore({ ...req, allowOverwrite: true }, { inRecovery: "f", userDatabases: "1" });
  assert.equal(allowed.status, 0, allowed.stderr);
  assert.match(allowed.calls, /pgbackrest --stanza=fp --repo=1 --delta --type=time --target=2025-08-30T10:15:00Z --target-action=promote restore/);

  // A fresh, empty cluster and a standby may be restored over.
  for (const state of [{ inRecovery: "f", userDatabases: "0" }, { inRecovery: "t", userDatabases: "1" }]) {
    const r = runRestore(req, state);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.calls.trim().split("\n").map((l) => l.split(" ")[0] + " " + l.split(" ")[1]), ["systemctl stop", "pgbackrest --stanza=fp", "systemctl start"]);
  }
});

test("the admin password travels only inside a quoted heredoc, SQL-escaped", () => {
  const script = readyScript({ role: "fp_admin", password: "it's-a-secret" });
  assert.match(script, /<<'FP_DR_SQL'\n[\s\S]*PASSWORD 'it''s-a-secret';\nFP_DR_SQL\n/);
  assert.equal(script.split("it''s-a-secret").length, 2, "the password appears exactly once");
  assert.throws(() => readyScript({ role: "fp_admin", password: "two\nlines" }), /single line/);
  assert.doesNotMatch(readyScript(), /ALTER ROLE/);
});
