// Proves the synchronous form of a restore_command: pgBackRest's archive-get gets
// --no-archive-async in front of the command word; anything else is left alone.
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { synchronousArchiveGet } from "./restore-command";

describe("restore_command for the moment a copy opens", () => {
  it("pgBackRest's archive-get becomes synchronous, its options and quoting kept", () => {
    const cmd = `pgbackrest --config=/lab/sites/drill-1/pgbackrest.conf --pg1-path=/lab/it's --repo=2 --stanza=fp archive-get %f "%p"`;
    assert.equal(synchronousArchiveGet(cmd), `pgbackrest --config=/lab/sites/drill-1/pgbackrest.conf --pg1-path=/lab/it's --repo=2 --stanza=fp --no-archive-async archive-get %f "%p"`);
    assert.equal(synchronousArchiveGet(`/usr/bin/pgbackrest --stanza=fp archive-get %f "%p"`), `/usr/bin/pgbackrest --stanza=fp --no-archive-async archive-get %f "%p"`);
  });

  it("already synchronous, another command, or none: unchanged", () => {
    assert.equal(synchronousArchiveGet(`pgbackrest --stanza=fp --no-archive-async archive-get %f "%p"`), undefined);
    assert.equal(synchronousArchiveGet(`cp /archive/%f "%p"`), undefined);
    assert.equal(synchronousArchiveGet(`echo pgbackrest archive-get %f`), undefined);
    assert.equal(synchronousArchiveGet(""), undefined);
  });
});
