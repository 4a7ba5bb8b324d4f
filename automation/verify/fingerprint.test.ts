// Proves the fingerprints on a real PostgreSQL 15 cluster: read in parallel block ranges over
// several sessions they equal the single scan's (and the single-scan SQL they replaced), for a
// table many ranges long, a small one, an empty one and a partitioned one; a changed row or a
// duplicated one changes the checksum.
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Client } from "pg";
import { startScratchCluster, type ScratchCluster } from "../postgres/scratch";
import { fingerprintSnapshot } from "./fingerprint";

describe("fingerprints", () => {
  let scratch: ScratchCluster;
  let c: Client;
  const opened: Client[] = [];
  const sessions = (parallel: number) => ({
    parallel,
    open: async () => {
      const x = new Client(scratch.connection());
      x.on("error", () => undefined);
      await x.connect();
      opened.push(x);
      return x;
    },
  });

  before(async () => {
    scratch = await startScratchCluster();
    c = new Client(scratch.connection());
    c.on("error", () => undefined);
    await c.connect();
    await c.query(`create schema s;
      create table s.big (id int primary key, note text, at timestamptz, amount numeric);
      insert into s.big select i, repeat(md5(i::text), 3), '2026-01-01'::timestamptz + i * interval '1 minute', i / 7.0 from generate_series(1, 60000) i;
      create table s.small (id int, v text); insert into s.small values (1, 'a'), (2, null), (2, null);
      create table s.empty (id int);
      create table s.part (id int, v text) partition by range (id);
      create table s.part_a partition of s.part for values from (0) to (1000);
      create table s.part_b partition of s.part for values from (1000) to (100000);
      insert into s.part select i, i::text from generate_series(1, 5000) i;
      analyze`);
  });
  after(async () => {
    for (const x of opened) await x.end().catch(() => undefined);
    await c?.end().catch(() => undefined);
    await scratch?.destroy();
  });

  it("parallel block ranges over sessions add up to exactly the single scan, and to the old single-scan SQL", async () => {
    const blocks = Number((await c.query("select pg_relation_size('s.big') / 8192 n")).rows[0].n);
    assert.ok(blocks > 4 * 128, `s.big spans several ranges (${blocks} blocks)`);
    const single = await fingerprintSnapshot(c, ["s"]);
    const parallel = await fingerprintSnapshot(c, ["s"], { sessions: sessions(3) });
    assert.deepEqual(parallel, single);
    assert.deepEqual(single.s.map((t) => [t.table, t.rows]), [["big", 60000], ["empty", 0], ["part", 5000], ["small", 3]]);
    // The checksum the single-scan SQL computed before block ranges existed.
    const old = (await c.query(`select md5(count(*)::text || ':' || coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint::numeric), 0)::text
        || ':' || coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::bigint::numeric), 0)::text) as checksum
      from (select md5(t::text) as h from s.big t) x`)).rows[0].checksum;
    assert.equal(single.s[0].checksum, old);
    assert.equal(single.s[1].checksum, createHash("md5").update("0:0:0").digest("hex"));
  });

  it("a changed row or a duplicated one changes the checksum, in parallel as in a single scan", async () => {
    const before = (await fingerprintSnapshot(c, ["s"], { sessions: sessions(2) })).s[0];
    await c.query("update s.big set note = note || '!' where id = 59999");
    const changed = (await fingerprintSnapshot(c, ["s"], { sessions: sessions(2) })).s[0];
    assert.equal(changed.rows, before.rows);
    assert.notEqual(changed.checksum, before.checksum);
    await c.query("alter table s.big drop constraint big_pkey");
    await c.query("insert into s.big select * from s.big where id = 1");
    const duplicated = (await fingerprintSnapshot(c, ["s"], { sessions: sessions(2) })).s[0];
    assert.equal(duplicated.rows, before.rows + 1);
    assert.notEqual(duplicated.checksum, changed.checksum);
  });
});
