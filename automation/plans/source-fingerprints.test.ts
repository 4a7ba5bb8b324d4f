// Proves, on a real cluster, that a drill's invariants at the source run on one core inside the
// reading's transaction (the setting ends with it), and that a reading held until the RTO ends
// reads nothing before, reads the restore point's data after, and gives its snapshot back unread
// when the drill ends first.
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import { Client } from "pg";
import { startScratchCluster, type ScratchCluster } from "../postgres/scratch";
import { fingerprintSnapshot } from "../verify/fingerprint";
import { abandonReading, invariantsOnOneCore, readingFingerprints, rtoEnded, sourceFingerprints, untilRtoEnds } from "./source-fingerprints";

describe("the drill's reading of its source", () => {
  let scratch: ScratchCluster;
  let c: Client;
  before(async () => {
    scratch = await startScratchCluster();
    c = new Client(scratch.connection());
    await c.connect();
  });
  after(async () => {
    await c?.end().catch(() => undefined);
    await scratch?.destroy();
  });

  it("run without parallel workers, and leave the session as it was once the transaction ends", async () => {
    const workers = { name: "parallel workers per gather", sql: "select current_setting('max_parallel_workers_per_gather')", expect: "0" };
    const before = (await c.query("show max_parallel_workers_per_gather")).rows[0].max_parallel_workers_per_gather;
    assert.notEqual(before, "0", "the server's own setting allows parallel workers");
    await c.query("begin isolation level repeatable read");
    const got = await invariantsOnOneCore(c, [workers]);
    await c.query("commit");
    assert.deepEqual(got, [{ name: workers.name, holds: true, got: "0" }]);
    assert.equal((await c.query("show max_parallel_workers_per_gather")).rows[0].max_parallel_workers_per_gather, before);
  });

  describe("held until the RTO ends", () => {
    /** Exports a snapshot on `a` and starts the held reading of it on a new session; returns that session's pid. */
    const holdReading = async (runId: string) => {
      const a = new Client(scratch.connection());
      const b = new Client(scratch.connection());
      await Promise.all([a.connect(), b.connect()]);
      await a.query("begin isolation level repeatable read");
      const snapshot = (await a.query("select pg_export_snapshot() s")).rows[0].s;
      const pid = (await b.query("select pg_backend_pid() p")).rows[0].p as number;
      let read = false;
      const prints = fingerprintSnapshot(b, ["held"], { snapshot, afterImport: () => a.query("commit").then(() => untilRtoEnds(runId)) })
        .then((p) => ((read = true), { prints: p, invariants: [], invariantsMs: 0 }))
        .finally(() => Promise.all([a.end(), b.end()]));
      readingFingerprints(runId, prints);
      return { pid, wasRead: () => read };
    };
    const stateOf = async (pid: number) => (await c.query("select state from pg_stat_activity where pid = $1", [pid])).rows[0]?.state as string | undefined;
    const settle = () => new Promise((r) => setTimeout(r, 300));

    before(async () => {
      await c.query("create schema held; create table held.t (id int); insert into held.t select generate_series(1, 5)");
    });

    it("reads nothing until the RTO ends, then the data as it was at the snapshot", async () => {
      const r = await holdReading("run-held");
      await settle();
      assert.equal(await stateOf(r.pid), "idle in transaction", "the snapshot is held");
      assert.equal(r.wasRead(), false);
      await c.query("insert into held.t values (6)");
      rtoEnded("run-held");
      const got = await sourceFingerprints("run-held");
      assert.equal(got.prints?.prints.held[0].rows, 5, "the row written after the snapshot is not in it");
    });

    it("a drill that ends before its audit gives the snapshot back unread", async () => {
      const r = await holdReading("run-abandoned");
      await settle();
      assert.equal(await stateOf(r.pid), "idle in transaction");
      abandonReading("run-abandoned", "the drill ended before its audit");
      await settle();
      assert.equal(await stateOf(r.pid), undefined, "the session is gone");
      assert.equal(r.wasRead(), false);
      assert.deepEqual(await sourceFingerprints("run-abandoned"), { waitedMs: 0 }, "nothing is left to wait for");
    });
  });
});
