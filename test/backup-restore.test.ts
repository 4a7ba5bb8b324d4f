// Scenario: backups and restores on a real lab (PostgreSQL 15, pgBackRest 2.45, the S3 store
// over TLS). Proves, in order:
//   - backup → restore to the secondary from the offsite store → same data as the source
//   - PITR to a time between two commits returns exactly the earlier state
//   - PITR to a time after the newest archived commit (nothing archived after it but non-commit
//     records) restores to the end of the archive, which is the same state, and the plan says why
//   - --dry-run changes nothing (files and clusters untouched)
//   - bad inputs stop before anything is touched: unknown set, target before the window or in
//     the future, a WAL gap, the object store down
//   - a store that freezes mid-restore fails it within a bound, naming the store, and leaves the
//     site marked half-restored with the run id; a stale postmaster.pid is cleared, a live one
//     refused; `lab up` on an existing lab does not need pgBackRest's archive lock
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { backup, backupList, backupVerify, renderVerify } from "../automation/commands/backup";
import { FELL_BACK_EXIT } from "../automation/commands/recover";
import { renderRestore, restore } from "../automation/commands/restore";
import { verifySite } from "../automation/commands/verify";
import { DrError } from "../automation/core/errors";
import { LocalEngine } from "../automation/engines/local/engine";
import { bytesUnder } from "../automation/restore/disk-space";
import { lsnBytes } from "../automation/backups/archive";
import { objectStoreInfo, startObjectStore, stopObjectStore } from "../automation/engines/local/object-store";
import { labStatus, renderLabStatus } from "../automation/commands/lab";
import { Output } from "../automation/core/output";
import { bringUpLab } from "../automation/engines/local/lab-up";
import { inspectPidFile } from "../automation/postgres/pid-file";
import { markPath } from "../automation/restore/half-restored";
import { restoreLockPath } from "../automation/restore/target-lock";
import { makeServiceDir } from "../automation/system/service-user";
import { DR_CLI, drAsync } from "./harness/cli";
import { tamperWithBackupSet } from "./harness/damage";
import { archiveNow, capture, startTestLab, type TestLab } from "./harness/lab";

let t: TestLab;
/** A duration as the one formatter writes it (850ms, 5s, 5.2s, 1m 5s). */
const D = "(?:\\d+m )?[\\d.]+m?s";

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

/** How many times pgBackRest logged the start of `command` in the lab (its log-level-file info): evidence of what ran, not of how long. */
function commandsBegun(command: "restore" | "verify"): number {
  const log = join(t.dir, "pgbackrest", "log", `${t.lab.state.stanza}-${command}.log`);
  return existsSync(log) ? readFileSync(log, "utf8").split(`${command} command begin`).length - 1 : 0;
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
    // The plan's disk figure covers what the restore really used, pg_wal included.
    const used = bytesUnder(t.lab.layout.dataDir("secondary"));
    assert.ok(used <= r.plan.estimate.diskBytes, `used ${used} bytes, plan said ${r.plan.estimate.diskBytes}`);
    console.log(`restore used ${used} bytes on disk (set ${r.plan.estimate.bytes}); the plan asked for ${r.plan.estimate.diskBytes}`);
    const v = await verifySite(t.deps(), { site: "secondary", against: "primary" });
    const content = v.checks.find((c) => c.kind === "content");
    assert.ok(content?.ok, content?.detail);
    assert.ok(v.ok, v.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join("\n"));
  });

  test("point in time: a time between two commits returns exactly the earlier state; into a scratch cluster the set is read once (no pgBackRest verify)", async () => {
    const c = await t.lab.connect("primary");
    await c.query("create table if not exists public.pitr_probe (id int primary key, note text)");
    await c.query("insert into public.pitr_probe values (1, 'before')");
    await new Promise((r) => setTimeout(r, 1100));
    const target = (await c.query("select clock_timestamp() as t")).rows[0].t as Date;
    await new Promise((r) => setTimeout(r, 1100));
    await c.query("insert into public.pitr_probe values (2, 'after')");
    await c.end();
    await archiveNow(t.lab);

    // Into a scratch cluster the set is read once: pgBackRest checks each file as it restores it,
    // and no pgBackRest verify runs (it would read the whole set a second time first).
    const verifies = commandsBegun("verify");
    const restores = commandsBegun("restore");
    const r = await restore(t.deps(), { scratch: true, repo: 1, targetTime: target.toISOString() });
    assert.equal(commandsBegun("verify"), verifies, "no pgBackRest verify ran");
    assert.equal(commandsBegun("restore") - restores, 1, "the restore itself is logged where the verify would be");
    assert.equal(r.setCheck.order, "read-once");
    assert.match(r.plan.checks.find((c) => c.name === "backup set checksums")!.detail, /checked by pgBackRest file by file as it restores \(read once\); verified whole only if the restore fails/);
    assert.match(renderRestore(r), /set checked .*read once/);
    const site = r.plan.destination.name;
    const s = await t.lab.connect(site);
    const rows = (await s.query("select id, note from public.pitr_probe order by id")).rows;
    await s.end();
    assert.deepEqual(rows, [{ id: 1, note: "before" }]);
    await t.lab.removeSite(site);
  });

  test("a target time after the newest commit, with only non-commit WAL archived after it (no write load): the plan restores to the end of the archive and says why; the opened copy holds that commit", async () => {
    const c = await t.lab.connect("primary");
    // No commit but ours while the window is open: autovacuum's analyze commits too.
    await c.query("alter system set autovacuum = off");
    await c.query("select pg_reload_conf()");
    try {
      await c.query("create table if not exists public.idle_probe (id int primary key, note text)");
      const before = (await c.query("select clock_timestamp() as t")).rows[0].t as Date;
      await c.query("insert into public.idle_probe values (1, 'newest commit')");
      await new Promise((r) => setTimeout(r, 1100));
      const target = (await c.query("select clock_timestamp() as t")).rows[0].t as Date;
      await new Promise((r) => setTimeout(r, 1100));
      // Archived after the target, with no commit: a restore point and the WAL switch.
      await c.query("select pg_create_restore_point('fp-dr-idle-probe')");
      await archiveNow(t.lab);
      const sites = t.lab.siteNames().sort();

      // The plan decides it before anything is touched: a dry run says the same.
      const planned = Date.now();
      const dry = await restore(t.deps(), { scratch: true, repo: 1, targetTime: target.toISOString(), open: true, dryRun: true });
      console.log(`plan with the archived-commit scan (and the set's verify of the dry run): ${Date.now() - planned} ms`);
      assert.deepEqual(t.lab.siteNames().sort(), sites, "the dry run registered no site");
      const point = dry.plan.recoveryPoint!;
      assert.equal(point.kind, "end-of-archive", point.why);
      const last = Date.parse(point.lastArchivedCommitAt!);
      assert.ok(last >= before.getTime() && last < target.getTime(), `newest archived commit ${point.lastArchivedCommitAt}: ours, before the target ${target.toISOString()}`);
      assert.equal(dry.plan.targetSpec.kind, "lsn", "stops right after that commit: never replays what is archived later");
      const printed = renderRestore(dry);
      assert.match(printed, new RegExp(`✓ target: the end of the archived WAL: its newest commit \\(${point.lastArchivedCommitAt}, LSN [0-9A-F]+/[0-9A-F]+\\), the same state as time ${target.toISOString()}`));
      assert.match(printed, /✓ recovery point: the archived WAL holds no commit after the recovery point .*nothing was committed between the two, so the end of the archived WAL \(\w+\) is the same state/);

      // Before: a time target, recovery ran off the end of the archive, RESTORE_FAILED after the copy.
      const r = await restore(t.deps(), { scratch: true, repo: 1, targetTime: target.toISOString(), open: true });
      assert.equal(r.plan.recoveryPoint?.kind, "end-of-archive");
      assert.equal(r.result?.inRecovery, false, "open for writes");
      // (to the millisecond: pg_waldump's microseconds and node-postgres's round apart)
      assert.ok(r.result?.lastCommitAt && Math.abs(Date.parse(r.result.lastCommitAt) - last) <= 1, `the result reports the real end, the newest archived commit ${point.lastArchivedCommitAt}: ${r.result?.lastCommitAt}`);
      const site = r.plan.destination.name;
      const s = await t.lab.connect(site);
      const rows = (await s.query("select id, note from public.idle_probe order by id")).rows;
      await s.end();
      assert.deepEqual(rows, [{ id: 1, note: "newest commit" }]);
      await t.lab.removeSite(site);
    } finally {
      await c.query("alter system reset autovacuum");
      await c.query("select pg_reload_conf()");
      await c.end();
    }
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
      // A dry run verifies the whole set: the one proof of it that changes nothing.
      assert.equal(r.setCheck.order, "verify-first");
      assert.match(r.plan.checks.find((c) => c.name === "backup set checksums")!.detail, /all valid; verified whole before the restore/);
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
      const e = await rejectsWith(restore(t.deps(), { to: "secondary", overwrite: true, repo: 1 }), "WAL_GAP", new RegExp(victim.slice(0, 24)));
      assert.match(e.hint!, /--repo 2/, "dr restore can choose the other repository");
      // A failover plans through the engine and has no --repo: its hint does not offer one.
      const f = await rejectsWith(new LocalEngine(() => t.lab).planRestore({ site: "secondary", repo: 1, target: { kind: "latest" }, overwrite: true }), "WAL_GAP");
      assert.doesNotMatch(f.hint!, /--repo/);
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

describe("plans refuse what would only fail after copying: nothing written, no site registered", () => {
  /** The lab as a restore could leave it: site directories, lab.json, the secondary's files, the repositories. */
  const labFiles = () => ({ sites: readdirSync(join(t.dir, "sites")).sort(), state: readFileSync(join(t.dir, "lab.json"), "utf8"), files: snapshot(t.dir, ["sites/secondary", "repos", "objectstore/data"]) });
  const unchanged = (before: ReturnType<typeof labFiles>) => {
    const after = labFiles();
    assert.deepEqual(after.sites, before.sites, "no site directory was created");
    assert.equal(after.state, before.state, "lab.json says the same");
    assertUnchanged(before.files, after.files);
    assert.deepEqual(t.lab.siteNames().sort(), ["primary", "secondary"], "no site registered in lab.json");
  };

  before(async () => {
    await t.lab.site("secondary").cluster.stop();
    await archiveNow(t.lab);
  });

  test("a target LSN beyond the archived WAL, an unknown or quoted restore point name, an unknown database", async () => {
    const before = labFiles();
    await rejectsWith(restore(t.deps(), { scratch: true, repo: 1, targetLsn: "FF/0" }), "TARGET_IN_FUTURE", /beyond the newest archived WAL/);
    await rejectsWith(restore(t.deps(), { scratch: true, repo: 1, targetName: "no-such-point" }), "TARGET_UNKNOWN", /no restore point named "no-such-point"/);
    const injected = await rejectsWith(restore(t.deps(), { scratch: true, repo: 2, targetName: "x'; archive_command = 'touch /tmp/fp-dr-pwned" }), "TARGET_INVALID", /quote/);
    assert.match(injected.hint!, /--target-lsn/);
    await rejectsWith(restore(t.deps(), { scratch: true, repo: 1, database: "no_such_db" }), "TARGET_UNKNOWN", /holds no database named "no_such_db"/);
    await rejectsWith(restore(t.deps(), { scratch: true, repo: 1, database: "postgres" }), "TARGET_INVALID", /system databases/);
    unchanged(before);
    assert.equal(existsSync("/tmp/fp-dr-pwned"), false);
  });

  test("a restore point that exists is found in the archive and picks the set before it", async () => {
    const c = await t.lab.connect("primary");
    const lsn = (await c.query("select pg_create_restore_point('fp-dr-plan-probe')::text l")).rows[0].l as string;
    await c.end();
    await archiveNow(t.lab);
    const r = await restore(t.deps(), { scratch: true, repo: 1, targetName: "fp-dr-plan-probe", dryRun: true });
    const at = lsnBytes;
    // pg_create_restore_point() returns the end of its record; the plan finds where it starts.
    const found = /at LSN (\S+) \(segment/.exec(r.plan.checks.find((x) => x.name === "target")!.detail)?.[1];
    assert.ok(found && at(found) < at(lsn) && at(lsn) - at(found) < 256n, `found at ${found}, created ending at ${lsn}`);
    assert.ok(at(r.plan.set.lsnStop!) <= at(lsn), `the set ends (${r.plan.set.lsnStop}) before the restore point (${lsn})`);
    // A set taken after the point could never reach it: refused when asked for by name.
    const later = await backup(t.deps(), { type: "incr", repo: 1, reason: "after the restore point" });
    await rejectsWith(restore(t.deps(), { scratch: true, repo: 1, targetName: "fp-dr-plan-probe", set: later.backups[0].set.label, dryRun: true }), "TARGET_BEFORE_WINDOW", /is before the end of backup/);
  });

  test("site names constructor and __proto__ are not sites", async () => {
    const before = labFiles();
    await rejectsWith(restore(t.deps(), { to: "constructor", overwrite: true }), "SITE_UNKNOWN");
    await rejectsWith(restore(t.deps(), { to: "__proto__", overwrite: true }), "SITE_UNKNOWN");
    assert.throws(() => t.lab.addSite("constructor", "scratch"), (e: unknown) => e instanceof DrError && e.code === "SITE_UNKNOWN" && /reserved/.test(e.message));
    assert.throws(() => t.lab.addSite("__proto__", "scratch"), (e: unknown) => e instanceof DrError && e.code === "SITE_UNKNOWN");
    await rejectsWith(t.lab.removeSite("nowhere"), "SITE_UNKNOWN");
    unchanged(before);
  });

  test("no room for the set and its WAL on the destination's filesystem", async () => {
    const dataDir = t.lab.layout.dataDir("secondary");
    const before = labFiles();
    // A 20 MB filesystem over the (stopped) secondary's data directory: it looks empty and small.
    const mount = spawnSync("mount", ["-t", "tmpfs", "-o", "size=20m,mode=0700", "tmpfs", dataDir], { encoding: "utf8" });
    assert.equal(mount.status, 0, mount.stderr);
    try {
      const e = await rejectsWith(restore(t.deps(), { to: "secondary", repo: 1 }), "SPACE_INSUFFICIENT", /has room for 20 MiB .* the restore needs/);
      assert.ok((e.details?.neededBytes as number) > 20 * 1024 * 1024);
      assert.deepEqual(readdirSync(dataDir), [], "nothing was written to it");
    } finally {
      spawnSync("umount", [dataDir]);
    }
    unchanged(before);
  });

  test("a scratch site whose restore fails is removed again", async () => {
    const before = labFiles();
    process.env.FP_DR_FAULT = "fail-in:restore-scratch";
    try {
      await rejectsWith(restore(t.deps(), { scratch: true, repo: 1 }), "INTERNAL", /injected failure/);
    } finally {
      process.env.FP_DR_FAULT = "";
    }
    unchanged(before);
  });

  test("restoring over a site's data asks first: without a terminal it needs --yes", async () => {
    const before = labFiles();
    await rejectsWith(restore(t.deps(), { to: "secondary", repo: 1, overwrite: true }), "NOT_CONFIRMED", /restore over secondary/);
    unchanged(before);
  });
});

describe("a corrupt newest offsite set is visible", () => {
  let label: string;
  let victim: string;

  before(async () => {
    const taken = await backup(t.deps(), { type: "incr", repo: 2, reason: "to be damaged" });
    label = taken.backups[0].set.label;
    victim = tamperWithBackupSet(t.lab, label);
  });
  // The damaged set stays (backups are never deleted); a new full set makes the newest one sound
  // again for the scenarios after this block.
  after(() => backup(t.deps(), { type: "full", repo: 2, reason: "a sound newest set after the damage" }));

  test("`dr backup verify` names the damaged file", async () => {
    const v = await backupVerify(t.deps(), { repo: 2 });
    assert.equal(v.ok, false);
    const set = v.repos[0].sets.find((s) => s.label === label)!;
    const file = victim.split(`/${label}/`)[1].replace(/\._S3rver_object$/, "");
    assert.deepEqual(set.invalidFiles, [`${file} (invalid checksum)`]);
    assert.match(renderVerify(v), new RegExp(file.replace(/[./]/g, "\\$&")));
  });

  /** The file tampered with, as pgBackRest verify names it (relative to the set). */
  const victimFile = () => victim.split(`/${label}/`)[1].replace(/\._S3rver_object$/, "");
  const reLiteral = (x: string) => x.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  /** The lab as a failed restore could leave it: site directories, lab.json, the (stopped) secondary's files. */
  const siteFiles = () => ({ sites: readdirSync(join(t.dir, "sites")).sort(), state: readFileSync(join(t.dir, "lab.json"), "utf8"), files: snapshot(t.dir, ["sites/secondary"]) });

  test("`dr restore --scratch` of the corrupt set reads it once: the copy stops, the verify names the bad file, no scratch site is left", async () => {
    await t.lab.site("secondary").cluster.stop();
    const before = { ...siteFiles(), restores: commandsBegun("restore"), verifies: commandsBegun("verify") };
    const e = await rejectsWith(
      restore(t.deps(), { scratch: true, repo: 2 }),
      "BACKUP_INVALID",
      new RegExp(`backup set ${label} in repo2 failed pgBackRest verify: .*bad checksums: ${reLiteral(victimFile())}.* \\(found after its restore stopped: `),
    );
    assert.equal(e.exitCode, 6, "exit code of BACKUP_INVALID, as when the set was verified first");
    assert.match(e.hint!, /--set \d{8}-\d{6}F/);
    assert.deepEqual(e.details?.invalidFiles, [`${victimFile()} (invalid checksum)`]);
    // Read once: the copy began (pgBackRest checks each file as it restores it), and the one
    // verify came after it stopped. Verifying first, there would be no restore at all.
    assert.equal(commandsBegun("restore") - before.restores, 1, "one pgBackRest restore");
    assert.equal(commandsBegun("verify") - before.verifies, 1, "one pgBackRest verify, after the restore stopped");
    assert.deepEqual((await labStatus(t.deps())).sites.map((x) => x.name).sort(), ["primary", "secondary"], "no scratch site in `dr lab status`");
    const after = siteFiles();
    assert.deepEqual(after.sites, before.sites, "no scratch site directory left behind");
    assert.equal(after.state, before.state, "lab.json says the same");
    assertUnchanged(before.files, after.files);
  });

  test("`dr restore --verify-first --scratch` of the corrupt set stops before copying", async () => {
    const restores = commandsBegun("restore");
    const sitesBefore = readdirSync(join(t.dir, "sites")).sort();
    const e = await rejectsWith(restore(t.deps(), { scratch: true, repo: 2, verifyFirst: true }), "BACKUP_INVALID", new RegExp(`backup set ${label} in repo2 failed pgBackRest verify: .*bad checksums: pg_data/`));
    assert.doesNotMatch(e.message, /after its restore stopped/);
    assert.equal(commandsBegun("restore"), restores, "no pgBackRest restore");
    assert.deepEqual(readdirSync(join(t.dir, "sites")).sort(), sitesBefore, "no scratch site left behind");
  });

  test("`dr restore` of the corrupt set into an empty data directory: the copy stops, BACKUP_INVALID, the directory is empty again", async () => {
    const secondary = t.lab.site("secondary").cluster;
    await secondary.stop();
    const dataDir = t.lab.layout.dataDir("secondary");
    const aside = join(t.dir, "secondary-data-aside");
    renameSync(dataDir, aside);
    try {
      makeServiceDir(dataDir, t.lab.user, 0o700);
      assert.equal(secondary.state(), "empty");
      const restores = commandsBegun("restore");
      await rejectsWith(restore(t.deps(), { to: "secondary", repo: 2 }), "BACKUP_INVALID", new RegExp(`backup set ${label} in repo2 failed pgBackRest verify: .*${reLiteral(victimFile())}.*found after its restore stopped`));
      assert.equal(commandsBegun("restore") - restores, 1, "the set was read once: restored directly");
      assert.deepEqual(readdirSync(dataDir), [], "no half-restored files left");
      assert.equal(existsSync(markPath(dataDir)), false, "no half-restored mark left");
      assert.equal(existsSync(restoreLockPath(dataDir)), false, "no restore lock left");
      assert.equal((await labStatus(t.deps())).sites.find((x) => x.name === "secondary")?.state, "empty");
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      renameSync(aside, dataDir);
    }
  });

  test("`dr restore --overwrite` of the corrupt set over a data directory stops before copying: the data is untouched", async () => {
    await t.lab.site("secondary").cluster.stop();
    const before = snapshot(t.dir, ["sites/secondary"]);
    assert.ok([...before.keys()].some((k) => k.endsWith("/PG_VERSION")), "the secondary holds data");
    const restores = commandsBegun("restore");
    const e = await rejectsWith(restore(t.deps(), { to: "secondary", repo: 2, overwrite: true, yes: true }), "BACKUP_INVALID", new RegExp(`backup set ${label} in repo2 failed pgBackRest verify: .*bad checksums: ${reLiteral(victimFile())}`));
    assert.doesNotMatch(e.message, /after its restore stopped/, "verified before the copy");
    assert.equal(commandsBegun("restore"), restores, "no pgBackRest restore");
    assertUnchanged(before, snapshot(t.dir, ["sites/secondary"]));
  });

  test("a drill that had to fall back exits with its own status and says so on its first line", async () => {
    // Each byte is read once on the way: no whole-set verify before the restore; the one verify
    // is of the damaged set, after pgBackRest's own checksums stopped its restore.
    const verifiesBefore = commandsBegun("verify");
    const r = await drAsync(t.dir, ["drill"]);
    assert.equal(commandsBegun("verify") - verifiesBefore, 1, "one pgBackRest verify: of the set whose restore failed, none of the set restored");
    assert.match(r.stdout, new RegExp(`backup set ${label} failed pgBackRest verify \\(.*\\) after its restore stopped \\(pgbackrest restore failed: `));
    assert.equal(r.code, FELL_BACK_EXIT, r.stdout + r.stderr);
    // Every second of the restore step named: the stopped restore and the verify are parts of it.
    assert.match(r.stdout + r.stderr, new RegExp(`replay ${D}, restore of ${label} that stopped ${D}, pgBackRest verify of ${label} ${D}, the restore point's WAL reaching the archive, after the files ${D}, plan, stop, start and open ${D}, newest commit the copy holds`));
    const first = r.stdout.split("\n")[0];
    assert.match(first, new RegExp(`^drill drill-\\S+ FELL BACK: backup set ${label} failed pgBackRest verify \\(.*pg_data/.*\\); restored \\S+ instead`));
    assert.match(r.stdout, /drill run .*: SUCCEEDED/);
  });
});

describe("bounded waits and leftovers of earlier work", () => {
  /** Files under the directory (stops counting at `enough`). */
  const countFiles = (dir: string, enough: number): number => {
    let n = 0;
    const walk = (d: string) => {
      for (const e of existsSync(d) ? readdirSync(d, { withFileTypes: true }) : []) {
        if (n >= enough) return;
        if (e.isDirectory()) walk(join(d, e.name));
        else n++;
      }
    };
    walk(dir);
    return n;
  };

  test("the offsite store frozen mid-restore: the restore fails within the stall bound naming the store, and lab status says half-restored with the run id", async (tc) => {
    const secondary = t.lab.site("secondary").cluster;
    await secondary.stop();
    rmSync(secondary.spec.dataDir, { recursive: true, force: true });
    // Short bounds for the test: pgBackRest's io-timeout 2 s, our own stall bound 5 s.
    const config = { ...t.config, pgbackrest: { ...t.config.pgbackrest, ioTimeout: 2, stallTimeout: 5 } };
    const captured: string[] = [];
    const deps = { config, out: new Output({ json: false, stdout: capture(captured), stderr: capture(captured) }) };
    const store = objectStoreInfo(t.lab.layout.objectStoreDir)!;
    assert.ok(store.pid, "the store runs");
    let frozenAt = 0;
    // Freeze the store once pgBackRest has begun laying down files: SIGSTOP keeps its sockets
    // open and silent, as a store host that hangs does (the hardest case: no error, no answer).
    // At the first file: this small set is a couple of bundle objects of hundreds of files each,
    // read in a few requests, so by the 30th file (or the first progress line, at a tenth) the
    // bytes could all be on their way and the copy finished regardless; the start then waited
    // on WAL from the frozen store instead.
    const watch = setInterval(() => {
      if (!frozenAt && countFiles(join(secondary.spec.dataDir, "base"), 1) >= 1) {
        process.kill(store.pid!, "SIGSTOP");
        frozenAt = Date.now();
      }
    }, 10);
    try {
      const e = await rejectsWith(restore(deps, { to: "secondary", repo: 2 }), "STORE_UNREACHABLE", /s3\.lab\.fp\.internal/);
      const failedAfterMs = Date.now() - frozenAt;
      assert.ok(frozenAt > 0, "the store was frozen mid-restore");
      assert.ok(failedAfterMs < 45_000, `failed ${failedAfterMs} ms after the store froze`);
      if (/to start/.test(e.message)) {
        // The few bundle requests were answered before the freeze took: the files are whole, and the
        // copy was stopped while it waited for WAL from the frozen store (not the 600 s of pg_ctl).
        assert.match(e.message, /^the restored copy was fetching WAL from repo2 to start/);
        tc.diagnostic(`store frozen after the files → the start ended after ${failedAfterMs} ms: ${e.message}`);
        return;
      }
      const runId = /half-restored \(run (restore-[^,]+),/.exec(e.message)?.[1];
      assert.ok(runId, e.message);
      const site = (await labStatus(t.deps())).sites.find((s) => s.name === "secondary")!;
      assert.equal(site.state, "half-restored");
      assert.equal(site.restore?.mark.runId, runId);
      // Wide enough for the row on one line (tables are sized to $COLUMNS when not on a terminal).
      const columns = process.env.COLUMNS;
      process.env.COLUMNS = "200";
      try {
        assert.match(renderLabStatus(await labStatus(t.deps())), new RegExp(`secondary .*half-restored \\(run ${runId}\\)`));
      } finally {
        if (columns === undefined) delete process.env.COLUMNS;
        else process.env.COLUMNS = columns;
      }
      // Frozen before a tenth was copied, so no progress line yet: the error says how far it got.
      assert.match(e.message, /copied in \d+ files/, "the copy's progress is in the error");
      tc.diagnostic(`store frozen → restore failed after ${failedAfterMs} ms: ${e.message}`);
    } finally {
      clearInterval(watch);
      process.kill(store.pid!, "SIGCONT");
    }
  });

  test("the offsite store frozen once the files are down: the copy waiting for WAL to start is stopped within the bound, naming the store", async (tc) => {
    const secondary = t.lab.site("secondary").cluster;
    await secondary.stop();
    rmSync(secondary.spec.dataDir, { recursive: true, force: true });
    const config = { ...t.config, pgbackrest: { ...t.config.pgbackrest, ioTimeout: 2, stallTimeout: 5 } };
    const deps = { config, out: new Output({ json: false, stdout: capture([]), stderr: capture([]) }) };
    const store = objectStoreInfo(t.lab.layout.objectStoreDir)!;
    let frozenAt = 0;
    // pg_control is the last file pgBackRest writes: once it is there, the copy is whole and what
    // is left is the start, which fetches WAL from the store.
    const watch = setInterval(() => {
      if (!frozenAt && existsSync(join(secondary.spec.dataDir, "global", "pg_control")) && !existsSync(`${secondary.spec.dataDir}.restore.json`)) {
        process.kill(store.pid!, "SIGSTOP");
        frozenAt = Date.now();
      }
    }, 5);
    try {
      const e = await rejectsWith(restore(deps, { to: "secondary", repo: 2 }), "STORE_UNREACHABLE", /s3\.lab\.fp\.internal/);
      const failedAfterMs = Date.now() - frozenAt;
      assert.ok(frozenAt > 0, "the store was frozen after the files");
      assert.match(e.message, /^the restored copy was fetching WAL from repo2 to start/);
      // Two probes of a silent store, each bounded by its timeout (10 s on the lab), 3 s apart: not pg_ctl's 600 s.
      assert.ok(failedAfterMs < 45_000, `failed ${failedAfterMs} ms after the store froze (pg_ctl alone waits 600 s)`);
      assert.notEqual(secondary.state(), "running", "the copy is not left waiting");
      tc.diagnostic(`store frozen after the files → the start ended after ${failedAfterMs} ms`);
    } finally {
      clearInterval(watch);
      process.kill(store.pid!, "SIGCONT");
    }
    // Left stopped, as the frozen-store test above leaves it: the tests after it start from there
    // (a running copy here would hold the secondary's address after they remove its directory).
  });

  test("Ctrl-C during `dr restore`: pgBackRest is ended, the interruption is printed, and the site is reported half-restored with the run id", async (tc) => {
    const secondary = t.lab.site("secondary").cluster;
    rmSync(secondary.spec.dataDir, { recursive: true, force: true });
    const child = spawn(process.execPath, [DR_CLI, "restore", "--to", "secondary", "--repo", "2"], { env: { ...process.env, FP_DR_LAB_DIR: t.dir, FP_DR_STANDBY: "false", FP_DR_FAULT: "" } });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
    // Interrupted at the first file, mid-copy (as the frozen store above).
    const watch = setInterval(() => {
      if (countFiles(join(secondary.spec.dataDir, "base"), 1) >= 1) {
        clearInterval(watch);
        child.kill("SIGINT");
      }
    }, 10);
    const code = await exited;
    clearInterval(watch);
    assert.equal(code, 130, stderr);
    const runId = /error\[INTERRUPTED\]: interrupted by SIGINT while restoring \S+ into secondary; secondary is left half-restored \(run (restore-[^,]+),/.exec(stderr)?.[1];
    assert.ok(runId, stderr);
    const site = (await labStatus(t.deps())).sites.find((s) => s.name === "secondary")!;
    assert.equal(site.state, "half-restored");
    assert.equal(site.restore?.mark.runId, runId);
    assert.equal(site.restore?.mark.failed?.reason, "interrupted by SIGINT");
    const pgbackrest = (command: string) => spawnSync("pgrep", ["-f", `pg1-path=${secondary.spec.dataDir} .*${command}$`]).stdout.toString().trim();
    assert.equal(pgbackrest("restore"), "", "the pgBackRest restore was ended");
    // Its worker processes (restore:local) end by themselves; ending them at once is the run's
    // process-group clean-up. Wait for them so that no later test shares the directory.
    const interruptedAt = Date.now();
    while (pgbackrest("restore:local") && Date.now() - interruptedAt < 120_000) await new Promise((r) => setTimeout(r, 200));
    tc.diagnostic(`pgBackRest workers outlived the interrupted restore by ${Date.now() - interruptedAt} ms`);
  });

  test("a stale postmaster.pid naming a live process that is no postmaster is recognised and cleared; the restore proceeds and that process is not signalled", async () => {
    const secondary = t.lab.site("secondary").cluster;
    const pidFile = join(secondary.spec.dataDir, "postmaster.pid");
    const stranger = spawn("sleep", ["300"], { stdio: "ignore" });
    try {
      writeFileSync(pidFile, `${stranger.pid}\n${secondary.spec.dataDir}\n1700000000\n${secondary.spec.port}\n/tmp\n*\n  1234567     12345\nready\n`);
      assert.deepEqual(inspectPidFile(secondary.spec.dataDir), { kind: "stale", pid: stranger.pid, why: `process ${stranger.pid} is not a postmaster of this data directory` });
      assert.equal(secondary.state(), "stopped");
      const r = await restore(t.deps(), { to: "secondary", repo: 1, overwrite: true, yes: true });
      assert.equal(r.result?.inRecovery, true);
      assert.match(t.captured.join(""), /removed a stale postmaster\.pid: process \d+ is not a postmaster/);
      assert.equal(stranger.exitCode, null, "the unrelated process was left alone");
      assert.equal((await labStatus(t.deps())).sites.find((s) => s.name === "secondary")?.state, "running", "no longer half-restored");
    } finally {
      stranger.kill();
    }
  });

  test("a live postmaster is still refused; a pid file naming no process is stale", async () => {
    const secondary = t.lab.site("secondary").cluster;
    const pid = secondary.postmasterPid();
    assert.ok(pid, "the restored secondary runs");
    await rejectsWith(secondary.clearStalePidFile(), "CLUSTER_RUNNING", new RegExp(`postmaster pid ${pid}`));
    assert.ok(existsSync(join(secondary.spec.dataDir, "postmaster.pid")));
    await rejectsWith(restore(t.deps(), { to: "secondary", repo: 1 }), "CLUSTER_RUNNING");
    // Killed hard, the postmaster leaves its pid file naming a process that is gone.
    process.kill(pid, "SIGKILL");
    const deadline = Date.now() + 10_000;
    while (existsSync(`/proc/${pid}`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(inspectPidFile(secondary.spec.dataDir), { kind: "stale", pid, why: `no process ${pid} exists` });
    assert.match((await secondary.clearStalePidFile()) ?? "", /no process/);
    assert.equal(existsSync(join(secondary.spec.dataDir, "postmaster.pid")), false);
  });

  test("Lab.up on an existing lab while archive-push holds pgBackRest's archive lock: the stanza step does not need it", async (tc) => {
    const lockFile = join(t.lab.layout.pgbackrestDir, "lock", `${t.lab.state.stanza}-archive.lock`);
    const user = t.lab.user;
    // The lock exactly as the async archive-push holds it while it ships a batch (flock on the
    // same file, by the service user), released a few seconds later as a batch ends.
    const holder = spawn("flock", ["-n", lockFile, "sleep", "10"], { stdio: "ignore", uid: user.switched ? user.uid : undefined, gid: user.switched ? user.gid : undefined });
    try {
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(spawnSync("flock", ["-n", lockFile, "true"]).status, 1, "the archive lock is held");
      const steps: { label: string; detail?: string }[] = [];
      const started = Date.now();
      await bringUpLab(t.config, { skipBackup: true, step: (label) => (detail) => steps.push({ label, detail }) });
      const stanza = steps.find((s) => /pgBackRest stanza/.test(s.label));
      assert.match(stanza?.detail ?? "", /stanza already in both repositories/);
      tc.diagnostic(`lab up with the archive lock held: ${Date.now() - started} ms`);
    } finally {
      holder.kill();
    }
  });
});
