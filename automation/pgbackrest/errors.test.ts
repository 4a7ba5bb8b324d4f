// Proves the mapping of pgBackRest's exit codes to ours: a crypto error means a repository that
// cannot be decrypted only where the command reads one; writing, it is the encryption that failed.
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { mapPgbackrestError } from "./errors";

describe("pgBackRest's exit codes", () => {
  it("a crypto error reading a repository blames the passphrase or the files; writing one, the encryption", () => {
    for (const command of ["restore", "verify", "archive-get", "info"]) {
      assert.deepEqual([command, mapPgbackrestError(95, command).code], [command, "BACKUP_INVALID"]);
      assert.match(mapPgbackrestError(95, command).hint, /wrong cipher passphrase or tampered files/);
    }
    for (const command of ["backup", "archive-push", "stanza-create"]) {
      const m = mapPgbackrestError(95, command);
      assert.deepEqual([command, m.code], [command, "BACKUP_FAILED"]);
      assert.doesNotMatch(m.hint, /passphrase|tampered/);
    }
  });

  it("an unmapped code falls back by command", () => {
    assert.equal(mapPgbackrestError(199, "backup").code, "BACKUP_FAILED");
    assert.equal(mapPgbackrestError(199, "restore").code, "RESTORE_FAILED");
    assert.equal(mapPgbackrestError(199, "check").code, "PGBACKREST_FAILED");
  });
});
