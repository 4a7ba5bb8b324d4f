// Proves the fingerprints on a real PostgreSQL 15 cluster: read in parallel block ranges over
// several sessions they equal the single scan's, for a table many ranges long, a small one, an
// empty one, a partitioned one and one with a column type that has no extended hash (hashed as
// text, exactly as the single-scan SQL before did); a changed row or a duplicated one changes
// the checksum under either row hash.
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
      create table s.places (id int, at point, tags text[]);
      insert into s.places select i, point(i, -i), array[i::text, 'x'] from generate_series(1, 20000) i;
      analyze`);
  });
  after(async () => {
    for (const x of opened) await x.end().catch(() => undefined);
    await c?.end().catch(() => undefined);
    await scratch?.destroy();
  });

  it("parallel block ranges over sessions add up to exactly the single scan; each table hashed as its column types allow", async () => {
    const blocks = Number((await c.query("select pg_relation_size('s.big') / 8192 n")).rows[0].n);
    assert.ok(blocks > 4 * 128, `s.big spans several ranges (${blocks} blocks)`);
    const single = await fingerprintSnapshot(c, ["s"]);
    const parallel = await fingerprintSnapshot(c, ["s"], { sessions: sessions(3) });
    assert.deepEqual(parallel, single);
    assert.deepEqual(single.s.map((t) => [t.table, t.rows]), [["big", 60000], ["empty", 0], ["part", 5000], ["places", 20000], ["small", 3]]);
    // Every column of s.big has an extended hash: the row's own hash, two seeds, no text.
    const record = (await c.query(`select md5('r:' || count(*)::text || ':' || coalesce(sum(hash_record_extended(t, 0)), 0)::text
        || ':' || coalesce(sum(hash_record_extended(t, 1)), 0)::text) as checksum from s.big t`)).rows[0].checksum;
    assert.equal(single.s[0].checksum, record);
    assert.equal(single.s[1].checksum, createHash("md5").update("r:0:0:0").digest("hex"));
    // s.places has a point (no extended hash): its rows' text, as the single-scan SQL hashed it.
    const text = (await c.query(`select md5(count(*)::text || ':' || coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint::numeric), 0)::text
        || ':' || coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::bigint::numeric), 0)::text) as checksum
      from (select md5(t::text) as h from s.places t) x`)).rows[0].checksum;
    assert.equal(single.s[3].checksum, text);
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
    // The same under the text hash (s.places has a point column).
    const places = async () => (await fingerprintSnapshot(c, ["s"], { sessions: sessions(2) })).s.find((t) => t.table === "places")!;
    const p0 = await places();
    await c.query("update s.places set at = point(0, 0) where id = 19999");
    const p1 = await places();
    assert.equal(p1.rows, p0.rows);
    assert.notEqual(p1.checksum, p0.checksum);
    await c.query("insert into s.places select * from s.places where id = 1");
    const p2 = await places();
    assert.equal(p2.rows, p0.rows + 1);
    assert.notEqual(p2.checksum, p1.checksum);
  });
});
