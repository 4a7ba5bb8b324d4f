// `dr host apply` on a site's AWS host, in a scratch root: the files cloud-init writes, rendered
// from the host spec, compared and written with cloud-init's modes (pgbackrest.conf: the cluster
// owner's, 0640, the escrowed passphrase in place, never shown); systemd told exactly what
// changed (daemon-reload, new timers enabled and started, a changed schedule's timers
// restarted); a second run changes nothing. The server is stopped here (no cluster at the
// host's paths), so the PostgreSQL part is the lab scenario's (test/operator.test.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { sampleHostSpec } from "../../../infra/testing/sample-host-spec";
import { renderHostApply } from "../../commands/host";
import { applyHostConfig } from "../../host-config/apply";
import { serviceUser } from "../../system/service-user";
import { tempDir } from "../../../test/harness/temp-dir";
import { awsHostTarget } from "./host-files";

const passphrase = "escrowed-passphrase-9f3a6c1d2e";

function target(root: string, calls: string[][], spec = sampleHostSpec()) {
  return awsHostTarget(spec, {
    passphrase,
    user: serviceUser("postgres"),
    socketDir: join(root, "run"),
    port: 5432,
    root,
    systemctl: async (args) => void calls.push(args),
  });
}

test("first run creates every file with cloud-init's modes; a dry run before it changes nothing; a second run nothing either", async () => {
  const root = tempDir("fp-dr-host-apply-");
  const calls: string[][] = [];
  const dry = await applyHostConfig(target(root, calls), { dryRun: true });
  assert.ok(dry.files.every((f) => f.status === "created"));
  assert.equal(existsSync(join(root, "etc")), false, "a dry run writes nothing");
  assert.deepEqual(calls, [], "and tells systemd nothing");

  const r = await applyHostConfig(target(root, calls));
  const timers = r.files.filter((f) => f.path.endsWith(".timer")).map((f) => f.path.split("/").pop()!);
  assert.ok(timers.includes("fp-dr-backup-full-repo2.timer") && timers.includes("fp-dr-health.timer"), timers.join(" "));
  assert.deepEqual(calls, [["daemon-reload"], ["enable", "--now", ...timers]]);
  assert.equal(r.postgres.action, "not-running");

  const pgb = join(root, "etc/pgbackrest/pgbackrest.conf");
  const st = statSync(pgb);
  assert.equal(st.mode & 0o777, 0o640);
  assert.equal(st.uid, serviceUser("postgres").uid);
  assert.match(readFileSync(pgb, "utf8"), new RegExp(`^repo2-cipher-pass=${passphrase}$`, "m"));
  assert.equal(existsSync(join(root, "etc/fp-dr/pgbackrest.conf.staged")), false, "nothing staged: the file is written whole");
  assert.equal(statSync(join(root, "etc/fp-dr/postgresql.conf")).mode & 0o777, 0o644);
  assert.equal(statSync(join(root, "usr/local/sbin/fp-dr-event")).mode & 0o777, 0o755);
  assert.ok(!JSON.stringify(r).includes(passphrase) && !renderHostApply(r).includes(passphrase), "the passphrase is never shown");

  calls.length = 0;
  const again = await applyHostConfig(target(root, calls));
  assert.ok(again.files.every((f) => f.status === "unchanged"));
  assert.deepEqual(calls, []);
});

test("a changed schedule and setting: only those files are written, systemd reloads and restarts the changed timers", async () => {
  const root = tempDir("fp-dr-host-apply-");
  const calls: string[][] = [];
  const base = sampleHostSpec();
  await applyHostConfig(target(root, calls, base));
  calls.length = 0;
  const changed = sampleHostSpec({ schedules: { ...base.schedules, fullBackup: "*-*-* 03:00:00" }, settings: { work_mem: "64MB" } });
  const r = await applyHostConfig(target(root, calls, changed));
  const written = r.files.filter((f) => f.status !== "unchanged").map((f) => f.path.slice(root.length)).sort();
  assert.deepEqual(written, [
    "/etc/fp-dr/dr.config.yaml",
    "/etc/fp-dr/postgresql.conf",
    "/etc/systemd/system/fp-dr-backup-full-repo1.timer",
    "/etc/systemd/system/fp-dr-backup-full-repo2.timer",
  ]);
  assert.deepEqual(r.files.find((f) => f.path.endsWith("/postgresql.conf"))?.settings, ["work_mem"]);
  assert.deepEqual(calls, [["daemon-reload"], ["restart", "fp-dr-backup-full-repo1.timer", "fp-dr-backup-full-repo2.timer"]]);
  assert.match(renderHostApply(r), /systemd: daemon-reload; restart fp-dr-backup-full-repo1\.timer, fp-dr-backup-full-repo2\.timer/);
});
