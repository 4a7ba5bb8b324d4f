// Scenario: backups and restores on a real lab (PostgreSQL 15, pgBackRest 2.45, the S3 store
// over TLS). Proves, in order:
//   - backup → restore to the secondary from the offsite store → same data as the source
//   - PITR to a time between two commits returns exactly the earlier state
//   - --dry-run changes nothing (files and clusters untouched)
//   - bad inputs stop before anything is touched: unknown set, target before the window or in
//     the future, a WAL gap, the object store down
import assert from "node:assert/strict";
import { existsSync, readdirSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { backup, backupList, backupVerify } from "../automation/commands/backup";
import { restore } from "../automation/commands/restore";
import { verifySite } from "../automation/commands/verify";
import { DrError } from "../automation/core/errors";
import { startObjectStore, stopObjectStore } from "../automation/engines/local/object-store";
import { archiveNow, startTestLab, type TestLab } from "./harness/lab";

let t: TestLab;

before(async () => {
  t = await startTestLab();
});
after(async () => {
  await t?.destroy();
});

/**
 * Every file a restore could touch, with size and mtime: the destination site, the
 * repositories, the offsite store's objects and lab.json. (The primary is live: its WAL moves.)
 */
function snapshot(root: string, parts = ["sites/secondary", "repos", "objectstore/data", "lab.json"]): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (/\.log$|pgbackrest\/log|\/run\/|\.pid$|spool/.test(p)) continue;
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else out.set(p, `${st.size}:${st.mtimeMs}`);
    }
  };
  for (const d of parts) {
    const p = join(root, d);
    if (existsSync(p) && statSync(p).isFile()) out.set(p, `${statSync(p).size}:${statSync(p).mtimeMs}`);
    else walk(p);
  }
  return out;
}

function assertUnchanged(before: Map<string, string>, after: Map<string, string>) {
  const changed = [...new Set([...before.keys(), ...after.keys()])].filter((k) => before.get(k) !== after.get(k));
  assert.deepEqual(changed, [], "files changed");
}

async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<DrError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof DrError, `expected a DrError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    assert.ok(e.hint && e.hint.length > 0, "every error carries a hint");
    return e;
  }
  assert.fail(`expected ${code}`);
}

describe("backup and restore", () => {
  test("an incremental backup to both repositories is listed with its WAL range and the restorable window", async () => {
    const c = await t.lab.connect("primary");
    await c.query("update app.goals set target_amount = target_amount + 1 where goal_id % 7 = 0");
    await c.end();
    const r = await backup(t.deps(), { type: "incr", reason: "scenario test" });
    assert.equal(r.backups.length, 2);
    for (const b of r.backups) {
      assert.equal(b.set.type, "incr");
      assert.equal(b.set.annotations.why, "scenario test");
      assert.match(b.set.annotations.by, /@/);
    }
    const list = await backupList(t.deps());
    for (const repo of list.repos) {
      assert.ok(repo.reachable, `repo${repo.repo} reachable`);
      assert.deepEqual(repo.sets.map((s) => s.type), ["full", "incr"]);
      assert.ok(repo.window && repo.window.oldest < repo.window.newest);
      assert.ok(repo.wal.segments > 0, `repo${repo.repo} lists archived WAL`);
      assert.equal(repo.rpo.ok, true, "newest WAL within the RPO objective");
      assert.equal(repo.retention.compliant, true, repo.retention.problems.join("; "));
      assert.ok(repo.sets.every((s) => s.walComplete));
    }
    const verdict = await backupVerify(t.deps());
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
  });

  test("restore to the secondary from the offsite store: same rows and checksums as the source", async () => {
    await archiveNow(t.lab);
    const r = await restore(t.deps(), { to: "secondary", repo: 2 });
    assert.equal(r.dryRun, false);
    assert.equal(r.plan.repo, 2);
    assert.equal(r.result?.inRecovery, true, "read-only until asked to open");
    const v = await verifySite(t.deps(), { site: "secondary", against: "primary" });
    const content = v.checks.find((c) => c.kind === "content");
    assert.ok(content?.ok, content?.detail);
    assert.ok(v.ok, v.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join("\n"));
  });

  test("point in time: a time between two commits returns exactly the earlier state", async () => {
    const c = await t.lab.connect("primary");
    await c.query("create table if not exists public.pitr_probe (id int primary key, note text)");
    await c.query("insert into public.pitr_probe values (1, 'before')");
    await new Promise((r) => setTimeout(r, 1100));
    const target = (await c.query("select clock_timestamp() as t")).rows[0].t as Date;
    await new Promise((r) => setTimeout(r, 1100));
    await c.query("insert into public.pitr_probe values (2, 'after')");
    await c.end();
    await archiveNow(t.lab);

    const r = await restore(t.deps(), { scratch: true, repo: 1, targetTime: target.toISOString() });
    const site = r.plan.destination.name;
    const s = await t.lab.connect(site);
    const rows = (await s.query("select id, note from public.pitr_probe order by id")).rows;
    await s.end();
    assert.deepEqual(rows, [{ id: 1, note: "before" }]);
    await t.lab.removeSite(site);
  });

  test("--dry-run prints the plan and changes nothing", async () => {
    // A running standby replays the archive and moves its own files: hold it still, so that any
    // change seen is the dry run's. It is started again for the tests that want it running.
    const secondary = t.lab.site("secondary").cluster;
    await secondary.stop();
    try {
      const beforeFiles = snapshot(t.dir);
      const states = t.lab.siteNames().map((n) => t.lab.site(n).cluster.state());
      const r = await restore(t.deps(), { to: "secondary", overwrite: true, dryRun: true });
      assert.equal(r.dryRun, true);
      assert.equal(r.result, undefined);
      assert.equal(r.plan.destination.willOverwrite, true, "the plan says what would be overwritten");
      assert.deepEqual(r.plan.destination.existing?.includes("PG_VERSION"), true);
      assert.ok(r.plan.estimate.bytes > 0 && r.plan.wal.segments > 0);
      assert.deepEqual(t.lab.siteNames().map((n) => t.lab.site(n).cluster.state()), states);
      assertUnchanged(beforeFiles, snapshot(t.dir));
    } finally {
      await secondary.start();
    }
  });
});

describe("bad inputs stop before anything is touched", () => {
  test("refuses to restore over a running site unless told, and never over the live primary", async () => {
    // Both sites run (the standby moves its own files): the proof is that neither server was
    // stopped or restarted and the repositories are untouched.
    const pids = () => ["primary", "secondary"].map((n) => t.lab.site(n).cluster.postmasterPid());
    const before = { pids: pids(), files: snapshot(t.dir, ["repos", "objectstore/data", "lab.json"]) };
    assert.ok(before.pids.every((p) => p !== undefined));
    await rejectsWith(restore(t.deps(), { to: "secondary" }), "CLUSTER_RUNNING", /refusing/);
    await rejectsWith(restore(t.deps(), { to: "primary", overwrite: true }), "CLUSTER_RUNNING", /live data/);
    assert.deepEqual(pids(), before.pids);
    assertUnchanged(before.files, snapshot(t.dir, ["repos", "objectstore/data", "lab.json"]));
  });

  test("unknown set, target before the window, target in the future, malformed target", async () => {
    // From here on the secondary is stopped (fenced): a running standby keeps replaying the
    // archive, so its files move by themselves.
    await t.lab.site("secondary").cluster.stop();
    const beforeFiles = snapshot(t.dir);
    await rejectsWith(restore(t.deps(), { to: "secondary", overwrite: true, set: "20200101-000000F" }), "BACKUP_UNKNOWN");
    await rejectsWith(restore(t.deps(), { to: "secondary", overwrite: true, targetTime: "2001-01-01T00:00:00Z" }), "TARGET_BEFORE_WINDOW");
    await rejectsWith(restore(t.deps(), { to: "secondary", overwrite: true, targetTime: new Date(Date.now() + 3600_000).toISOString() }), "TARGET_IN_FUTURE");
    await rejectsWith(restore(t.deps(), { to: "secondary", overwrite: true, targetTime: "yesterday-ish" }), "TARGET_INVALID");
    await rejectsWith(restore(t.deps(), { to: "secondary", overwrite: true, targetTime: "2026-11-26T03:14:00" }), "TARGET_INVALID"); // no zone: refused, not guessed
    await rejectsWith(restore(t.deps(), { to: "nowhere" }), "SITE_UNKNOWN");
    assertUnchanged(beforeFiles, snapshot(t.dir));
  });

  test("a WAL gap in the repository is found before restoring", async () => {
    await archiveNow(t.lab);
    await archiveNow(t.lab);
    await archiveNow(t.lab);
    const archiveDir = join(t.lab.layout.repo1Dir, "archive", t.lab.state.stanza);
    const id = readdirSync(archiveDir).find((d) => /^\d+-\d+$/.test(d))!;
    const segDir = join(archiveDir, id, readdirSync(join(archiveDir, id)).sort().pop()!);
    const segs = readdirSync(segDir).filter((f) => /^[0-9A-F]{24}-/.test(f)).sort();
    const victim = segs[segs.length - 2];
    renameSync(join(segDir, victim), join(t.dir, victim));
    try {
      const beforeFiles = snapshot(t.dir);
      await rejectsWith(restore(t.deps(), { to: "secondary", overwrite: true, repo: 1 }), "WAL_GAP", new RegExp(victim.slice(0, 24)));
      assertUnchanged(beforeFiles, snapshot(t.dir));
    } finally {
      renameSync(join(t.dir, victim), join(segDir, victim));
    }
  });

  test("the offsite object store down: a clear error, nothing touched", async () => {
    await stopObjectStore(t.lab.layout.objectStoreDir);
    try {
      const beforeFiles = snapshot(t.dir);
      await rejectsWith(restore(t.deps(), { to: "secondary", overwrite: true, repo: 2 }), "STORE_UNREACHABLE");
      assertUnchanged(beforeFiles, snapshot(t.dir));
    } finally {
      await startObjectStore({ dir: t.lab.layout.objectStoreDir, bucket: t.config.repositories.offsite.bucket, accessKey: t.lab.secrets.s3AccessKey, secretKey: t.lab.secrets.s3SecretKey });
    }
  });
});
