// Proves the archive wait on a real PostgreSQL 15 cluster whose archive_command can be made to
// fail: a healthy archiver is waited for; one that failed and went to sleep (PostgreSQL then
// waits up to 60 s before retrying) is woken as soon as the store is back, well inside a
// timeout shorter than that sleep; a store that stays down ends in a clear "not archived" with
// the failure named, after only a bounded number of extra segments; a wait given up by its
// signal ends at once.
import { strict as assert } from "node:assert";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Client } from "pg";
import { makeServiceDir } from "../system/service-user";
import { chownSync } from "node:fs";
import { archivedThrough, archiverState, archiveThrough, describeArchiveWait, shipBacklog } from "./archiver";
import { DrError } from "../core/errors";
import { startScratchCluster, type ScratchCluster } from "./scratch";

describe("archive wait", () => {
  let scratch: ScratchCluster;
  let c: Client;
  let archive: string;
  let storeDown: string;

  before(async () => {
    scratch = await startScratchCluster({ wal_level: "replica", archive_mode: "on" });
    archive = join(scratch.dir, "archive");
    makeServiceDir(archive, scratch.cluster.spec.user);
    storeDown = join(scratch.dir, "store-down");
    // The "store" is a directory; while the flag file exists every push fails.
    scratch.cluster.writeSettings({ archive_command: `test ! -e ${storeDown} && cp %p ${archive}/%f` }, "fp-dr-archive.conf");
    await scratch.cluster.psql("select pg_reload_conf()");
    c = new Client(scratch.connection());
    c.on("error", () => undefined);
    await c.connect();
  });

  const chownToService = (...files: string[]) => {
    for (const f of files) chownSync(f, scratch.cluster.spec.user.uid, scratch.cluster.spec.user.gid);
  };

  after(async () => {
    await c?.end().catch(() => undefined);
    await scratch?.destroy();
  });

  it("waits for the segment holding everything committed", async () => {
    await c.query("create table t (x int); insert into t values (1)");
    const w = await archiveThrough(c, { timeoutMs: 20_000 });
    assert.equal(w.archived, true, describeArchiveWait(w));
    assert.equal(w.failures, 0);
    assert.ok(existsSync(join(archive, w.segment)), `${w.segment} is in the store`);
  });

  it("a history file archived after the segment does not hide it (the last archived is not the highest)", async () => {
    // pg_backup_stop switches to a new segment, then writes the backup's history file for the
    // previous one; the archiver can take the segment first. Made deterministic here: after N is
    // archived, a history file for N-1 appears and is archived (a reload wakes the archiver).
    await c.query("insert into t values (10)");
    const first = await archiveThrough(c, { timeoutMs: 20_000 });
    assert.equal(first.archived, true, describeArchiveWait(first));
    const n = first.segment;
    const previous = n.slice(0, 16) + (parseInt(n.slice(16), 16) - 1).toString(16).toUpperCase().padStart(8, "0");
    const history = `${previous}.00000028.backup`;
    const wal = join(scratch.cluster.spec.dataDir, "pg_wal");
    writeFileSync(join(wal, history), "START WAL LOCATION: 0/28 (file " + previous + ")\n");
    writeFileSync(join(wal, "archive_status", `${history}.ready`), "");
    chownToService(join(wal, history), join(wal, "archive_status", `${history}.ready`));
    await c.query("select pg_reload_conf()");
    for (let i = 0; i < 100 && (await archiverState(c)).lastArchived !== history; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await archiverState(c)).lastArchived, history, "the history file was archived last");
    // (history, named for N-1, sorts below N: the old "last archived >= N" test waited forever)

    assert.equal(await archivedThrough(c, n), true, `${n} is archived`);
    const lsnInN = `${parseInt(n.slice(8, 16), 16).toString(16)}/${(parseInt(n.slice(16), 16) * 0x1000000 + 0x28).toString(16)}`;
    const w = await archiveThrough(c, { through: lsnInN, timeoutMs: 10_000 });
    assert.equal(w.archived, true, describeArchiveWait(w));
    assert.ok(w.waitedMs < 10_000);
  });

  it("wakes an archiver that failed and went to sleep, once the store is back", async () => {
    writeFileSync(storeDown, "");
    await c.query("insert into t values (2)");
    const waiting = archiveThrough(c, { timeoutMs: 40_000 });
    // Three failed attempts a second apart, then PostgreSQL sleeps for up to 60 s.
    const other = new Client(scratch.connection());
    await other.connect();
    try {
      const start = (await archiverState(other)).failedCount;
      for (let i = 0; i < 200 && (await archiverState(other)).failedCount < start + 3; i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok((await archiverState(other)).failedCount >= start + 3, "the archiver failed three times");
    } finally {
      await other.end();
    }
    rmSync(storeDown);
    const w = await waiting;
    assert.equal(w.archived, true, `woken well inside the 60 s sleep: ${describeArchiveWait(w)}`);
    assert.ok(w.failures >= 3, `the failures while waiting are reported (${w.failures})`);
    assert.ok(existsSync(join(archive, w.segment)));
  });

  const queueSegments = async (n: number) => {
    for (let i = 0; i < n; i++) await c.query("insert into t values (4); select pg_switch_wal()");
  };

  it("a backlog is shipped at the archiver's pace, bounded by its progress, not by a fixed time", async () => {
    // A slow store: every push takes 0.4 s, so 12 queued segments take about 5 s in all.
    scratch.cluster.writeSettings({ archive_command: `sleep 0.4 && cp %p ${archive}/%f` }, "fp-dr-archive.conf");
    await c.query("select pg_reload_conf()");
    try {
      const before = (await archiverState(c)).archivedCount;
      await queueSegments(12);
      const said: string[] = [];
      const r = await shipBacklog(c, { stallMs: 2000, pollMs: 100, say: (t) => said.push(t) });
      // The archiver may ship the first segments while the others are still being queued.
      assert.ok(r.shipped > 0 && (await archiverState(c)).archivedCount - before >= 12, `shipped ${r.shipped} while waiting, ${(await archiverState(c)).archivedCount - before} in all`);
      assert.ok(r.waitedMs > 2000, `it waited past the stall bound while the archiver progressed (${r.waitedMs} ms)`);
      assert.match(said[0], /^\d+ WAL files queued for the archive; \d+ shipped so far$/);
      assert.equal((await c.query("select count(*)::int n from pg_ls_archive_statusdir() where name like '%.ready'")).rows[0].n, 0);
    } finally {
      scratch.cluster.writeSettings({ archive_command: `test ! -e ${storeDown} && cp %p ${archive}/%f` }, "fp-dr-archive.conf");
      await c.query("select pg_reload_conf()");
    }
  });

  it("a backlog behind a store that is down: ARCHIVE_FAILED once nothing moved for the stall bound, naming the queue", async () => {
    writeFileSync(storeDown, "");
    try {
      await queueSegments(3);
      const started = Date.now();
      await assert.rejects(shipBacklog(c, { stallMs: 3000, pollMs: 100 }), (e: unknown) => e instanceof DrError && e.code === "ARCHIVE_FAILED" && /^the archiver shipped nothing for 3 s with \d+ WAL files queued \(last failure /.test(e.message));
      assert.ok(Date.now() - started < 10_000, "it gave up at the stall bound");
    } finally {
      rmSync(storeDown, { force: true });
    }
    // Back up: the queue drains (the nudge wakes the sleeping archiver).
    const r = await shipBacklog(c, { stallMs: 15_000, pollMs: 100 });
    assert.ok(r.shipped >= 3, `shipped ${r.shipped}`);
    assert.equal((await c.query("select count(*)::int n from pg_ls_archive_statusdir() where name like '%.ready'")).rows[0].n, 0);
  });

  it("a store that stays down: not archived, the failure named, only a few extra segments", async () => {
    writeFileSync(storeDown, "");
    try {
      await c.query("insert into t values (3)");
      const before = (await c.query<{ w: string }>("select pg_walfile_name(pg_current_wal_lsn()) w")).rows[0].w;
      const w = await archiveThrough(c, { timeoutMs: 9_000 });
      assert.equal(w.archived, false);
      assert.ok(w.failures > 0);
      assert.match(describeArchiveWait(w), new RegExp(`${w.segment} not archived after \\d+ s .*last failure ${w.state.lastFailed}`));
      const now = (await c.query<{ w: string }>("select pg_walfile_name(pg_current_wal_lsn()) w")).rows[0].w;
      const segments = parseInt(now.slice(-8), 16) - parseInt(before.slice(-8), 16);
      // the wait's own switch, plus at most one nudge per 5 s
      assert.ok(segments <= 4, `${segments} new segments in 9 s`);
    } finally {
      rmSync(storeDown, { force: true });
    }
  });

  it("a wait given up (its signal aborted) ends within a poll, not at its timeout", async () => {
    writeFileSync(storeDown, "");
    try {
      await c.query("select txid_current()");
      const stop = new AbortController();
      setTimeout(() => stop.abort(), 300);
      const w = await archiveThrough(c, { timeoutMs: 30_000, signal: stop.signal });
      assert.equal(w.archived, false);
      assert.ok(w.waitedMs < 2_000, `ended ${w.waitedMs} ms after it began`);
    } finally {
      rmSync(storeDown, { force: true });
    }
    // The store is back: the queue drains (the next test starts from an empty one).
    const after = await archiveThrough(c, { timeoutMs: 90_000 });
    assert.equal(after.archived, true, describeArchiveWait(after));
  });
});
