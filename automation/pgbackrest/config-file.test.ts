// Proves: the rendered pgbackrest.conf asks every repository to bundle small files
// (repoN-bundle=y) when pgbackrest.repoBundle is on, its default, and says nothing about
// bundling when it is off (pgBackRest's own default: one object per file).
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
