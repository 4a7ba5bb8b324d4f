// Proves each repository is graded on its own (real `pgbackrest info` output of 2.45): a fresh
// repo1 does not hide a stale or empty repo2, and each repository's age is its own metric.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseInfo } from "../pgbackrest/info";
import { repositoryBackupAges } from "./repository-age";

const info = parseInfo(readFileSync(join(__dirname, "../../test/fixtures/pgbackrest-info-2.45.json"), "utf8"))[0];
const stop = (repo: number) => info.backup.find((b) => b.database["repo-key"] === repo)!.timestamp.stop;

test("each repository's newest backup is its own metric and finding", () => {
  const now = new Date((stop(2) + 600) * 1000);
  const r = repositoryBackupAges(info, 3600, now);
  assert.deepEqual(r.metrics, { Repo1BackupAgeSeconds: stop(2) + 600 - stop(1), Repo2BackupAgeSeconds: 600 });
  assert.deepEqual(r.findings.map((f) => [f.check, f.severity]), [["backup-repo1", "info"], ["backup-repo2", "info"]]);
});

test("a repository without backups is a backup failure even when the other one is fresh", () => {
  const starved = { ...info, backup: info.backup.filter((b) => b.database["repo-key"] === 1) };
  const r = repositoryBackupAges(starved, 3600, new Date((stop(1) + 60) * 1000));
  assert.equal(r.metrics.Repo2BackupAgeSeconds, undefined, "no age to publish: the alarm treats silence as breaching");
  assert.deepEqual(r.findings.map((f) => [f.check, f.severity]), [["backup-repo1", "info"], ["backup-repo2", "critical"]]);
  assert.match(r.findings[1].message, /^backup failure: no successful backup in repo2$/);
});

test("a stale repository is critical, with its age and the limit", () => {
  const r = repositoryBackupAges(info, 3600, new Date((stop(2) + 2 * 3600) * 1000));
  assert.ok(r.findings.every((f) => f.severity === "critical"));
  assert.match(r.findings[1].message, /repo2 finished 2h ago \(limit 1h\)/);
});
