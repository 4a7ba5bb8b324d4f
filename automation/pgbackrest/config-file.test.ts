// Proves: the rendered pgbackrest.conf asks every repository to bundle small files
// (repoN-bundle=y) when pgbackrest.repoBundle is on, its default, and says nothing about
// bundling when it is off (pgBackRest's own default: one object per file); and that a restore
// runs with its own worker count, read by pgBackRest itself.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import test from "node:test";
import { pgbackrestTuning } from "../config/common";
import { renderPgbackrestConf, type PgbackrestConfigSpec } from "./config-file";

function spec(tuning: PgbackrestConfigSpec["tuning"]): PgbackrestConfigSpec {
  return {
    stanza: "fp",
    pgPath: "/srv/pg/data",
    pgPort: 5432,
    pgSocketPath: "/run/postgresql",
    repos: [
      { index: 1, type: "posix", path: "/srv/repo1", retentionFull: 2 },
      { index: 2, type: "s3", path: "/pgbackrest", retentionFull: 2, s3: { bucket: "b", endpoint: "s3.example", region: "eu-west-1", uriStyle: "path", verifyTls: true, keyType: "auto" } },
    ],
    logPath: "/srv/log",
    lockPath: "/srv/lock",
    spoolPath: "/srv/spool",
    tuning,
  };
}

test("every repository bundles small files by default", () => {
  const text = renderPgbackrestConf(spec(pgbackrestTuning.parse({})));
  assert.match(text, /^repo1-bundle=y$/m);
  assert.match(text, /^repo2-bundle=y$/m);
});

test("with repoBundle off no repository is told to bundle", () => {
  const text = renderPgbackrestConf(spec(pgbackrestTuning.parse({ repoBundle: false })));
  assert.doesNotMatch(text, /bundle/);
});

test("a restore runs twice processMax workers unless restoreProcessMax says otherwise; pgBackRest reads it for restores only", () => {
  for (const [tuning, backup, restore] of [[{}, 2, 4], [{ processMax: 3 }, 3, 6], [{ processMax: 40 }, 40, 64], [{ processMax: 2, restoreProcessMax: 3 }, 2, 3]] as const) {
    const dir = mkdtempSync(join(tmpdir(), "fp-dr-conf-"));
    try {
      const file = join(dir, "pgbackrest.conf");
      writeFileSync(file, renderPgbackrestConf(spec(pgbackrestTuning.parse(tuning))), { mode: 0o600 });
      // pgBackRest's own help prints the value each command would run with.
      const current = (command: string) => /^current: (\d+)$/m.exec(execFileSync("pgbackrest", [`--config=${file}`, "--stanza=fp", "help", command, "process-max"], { encoding: "utf8" }))?.[1];
      assert.equal(current("backup"), String(backup), JSON.stringify(tuning));
      assert.equal(current("restore"), String(restore), JSON.stringify(tuning));
      assert.equal(current("archive-get"), String(backup), JSON.stringify(tuning));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
