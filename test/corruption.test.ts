// Scenario: database corruption (runbook §2) on the local engine — real clusters with data
// checksums, pgBackRest, DNS. Bytes are flipped in data files of the primary while it is
// stopped (so no clean copy of the page survives in shared buffers), then it is started. Proves:
//   - index-only damage: `check corruption` names the index offline (pg_checksums, named from
//     the copy's own catalog) and online (amcheck) as index-only; `recover corruption` without
//     --reindex changes nothing and says what would; with --reindex exactly that index is
//     rebuilt, the re-check is clean, and nothing is restored, fenced or swapped;
//   - table damage: `check corruption` names the table offline and online (exit 2); a dry run
//     changes nothing; the recovery drains and fences the damaged primary, restores the newest
//     consistent point on the secondary, verifies it (gate + every page re-read), swaps DNS to
//     it and writes through the service name; the restored copy holds every row the damaged
//     table had.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { checkCorruption, corruptionExitCode, corruptionRunExitCode, recoverCorruption, renderCorruptionReport, renderCorruptionRun } from "../automation/commands/corruption";
import { FENCE_MARKER } from "../automation/engines/local/markers";
import type { CorruptionFacts } from "../automation/plans/corruption-steps";
import { invertInPage } from "./harness/damage";
import { startTestLab, type TestLab } from "./harness/lab";

let t: TestLab;

before(async () => {
  t = await startTestLab();
});
after(async () => {
  await t?.destroy();
});

async function primarySql<T = Record<string, unknown>>(text: string): Promise<T[]> {
  const c = await t.lab.connect("primary");
  try {
    return (await c.query(text)).rows as T[];
  } finally {
    await c.end();
  }
}

/** Stops the primary cleanly, inverts 16 bytes inside `block` of the relation's file, starts it again. */
async function damage(relation: string, block: number, restart = true): Promise<string> {
  const [{ file, pages }] = await primarySql<{ file: string; pages: number }>(`select pg_relation_filepath('${relation}') file, pg_relation_size('${relation}') / 8192 pages`);
  assert.ok(pages > block, `${relation} has ${pages} pages`);
  const cluster = t.lab.site("primary").cluster;
  await cluster.stop("fast");
  invertInPage(join(cluster.spec.dataDir, file), block);
  if (restart) await cluster.start();
  return file;
}

describe("index-only corruption", () => {
  test("named offline and online as index-only; without --reindex nothing changes; --reindex rebuilds it, clean, no restore", async () => {
    await damage("app.ledger_account_posted_idx", 1, false);
    const offline = await checkCorruption(t.deps(), { site: "primary" });
    assert.equal(offline.mode, "offline", "a stopped site is read with pg_checksums");
    assert.equal(offline.classification, "index-only", renderCorruptionReport(offline));
    assert.deepEqual(
      offline.findings.map((f) => [f.relation, f.kind, f.table, f.problem, f.blocks]),
      [["app.ledger_account_posted_idx", "index", "app.ledger", "page-checksum", [1]]],
    );
    assert.equal(corruptionExitCode(offline), 1);

    await t.lab.site("primary").cluster.start();
    const online = await checkCorruption(t.deps());
    assert.equal(online.mode, "online");
    assert.equal(online.site, "primary", "the default is the site the service name answers with");
    assert.equal(online.classification, "index-only", renderCorruptionReport(online));
    assert.deepEqual(online.findings.map((f) => [f.database, f.relation, f.kind, f.severity]), [[t.lab.state.database, "app.ledger_account_posted_idx", "index", "high"]]);

    const offered = await recoverCorruption(t.deps(), { yes: true });
    assert.equal(offered.status, "succeeded", JSON.stringify(offered.error));
    assert.equal((offered.facts as CorruptionFacts).path, "reindex-offered");
    assert.equal(corruptionRunExitCode(offered), 1);
    assert.ok(offered.notes.some((n) => /--reindex/.test(n) && n.includes("app.ledger_account_posted_idx")));
    assert.deepEqual(offered.steps.filter((s) => s.status !== "skipped").map((s) => s.id), ["detect", "report"]);
    await assert.rejects(primarySql("select bt_index_check('app.ledger_account_posted_idx')"), /invalid page/, "without --reindex the index is left as it was");

    const fixed = await recoverCorruption(t.deps(), { reindex: true, yes: true });
    assert.equal(fixed.status, "succeeded", JSON.stringify(fixed.error));
    const f = fixed.facts as CorruptionFacts;
    assert.equal(f.path, "reindex");
    assert.deepEqual(f.rebuilt?.map((r) => [r.index, r.method]), [["app.ledger_account_posted_idx", "concurrently"]]);
    assert.deepEqual(f.recheck, { site: "primary", classification: "clean", findings: 0, complete: true });
    assert.deepEqual(
      fixed.steps.filter((s) => s.status === "done").map((s) => s.id),
      ["detect", "reindex", "recheck", "first-write", "report"],
    );
    assert.ok(["restore", "fence", "swap-dns", "drain"].every((id) => fixed.steps.find((s) => s.id === id)?.status === "skipped"));
    assert.equal(f.restore, undefined, "nothing was restored");
    assert.equal(t.lab.site("secondary").cluster.state(), "empty", "the secondary was not touched");
    assert.equal(await t.lab.activeSite(), "primary");
    assert.equal(fixed.measurements.rpo.achieved, 0, "nothing committed was lost");
    assert.equal(fixed.measurements.rto.pass, true);
    assert.equal(corruptionRunExitCode(fixed), 0);
    await primarySql("select bt_index_check('app.ledger_account_posted_idx', true)");

    // One verdict, one exit code: the server still counts the failures detection read in the
    // damaged index, but they predate the REINDEX: info, not a warning, and exit 0.
    const after = await checkCorruption(t.deps(), { site: "primary" });
    assert.equal(after.classification, "clean", renderCorruptionReport(after));
    assert.ok(after.checksumFailures.some((c) => c.count > 0), "the server's counter still holds the repaired damage");
    assert.deepEqual(after.warnings, []);
    assert.match((after.info ?? []).join("\n"), new RegExp(`before the REINDEX of app\\.ledger_account_posted_idx \\(run ${fixed.runId}\\).*already repaired`));
    assert.match(renderCorruptionReport(after), /info: .*already repaired[\s\S]*verdict: CLEAN/);
    assert.equal(corruptionExitCode(after), 0);
  });
});

describe("table corruption", () => {
  let before: { n: string; total: string };

  test("named offline (pg_checksums) and online (amcheck) as table damage; exit 2", async () => {
    [before] = await primarySql<{ n: string; total: string }>("select count(*) n, sum(amount)::text total from app.ledger");
    const file = await damage("app.ledger", 2, false);
    const offline = await checkCorruption(t.deps(), { site: "primary" });
    assert.equal(offline.classification, "table", renderCorruptionReport(offline));
    assert.deepEqual(offline.findings.map((f) => [f.relation, f.kind, f.problem, f.blocks, f.file]), [["app.ledger", "table", "page-checksum", [2], file]]);
    assert.equal(corruptionExitCode(offline), 2);

    await t.lab.site("primary").cluster.start();
    const online = await checkCorruption(t.deps(), { site: "primary" });
    assert.equal(online.classification, "table", renderCorruptionReport(online));
    assert.deepEqual(online.findings.map((f) => [f.relation, f.problem, f.blocks, f.by]), [["app.ledger", "page-checksum", [2], "verify_heapam"]]);
    assert.match(online.advice, /dr recover corruption/);
    assert.match(renderCorruptionReport(online), /app\.ledger\s*│\s*table\s*│\s*page-checksum\s*│\s*2\s*│\s*critical/);
    assert.equal(corruptionExitCode(online), 2);
  });

  test("recovery (after a dry run that changes nothing): drain and fence the primary, restore on the secondary, verify, DNS moved, every row back", async () => {
    const dry = await recoverCorruption(t.deps(), { dryRun: true });
    assert.equal(dry.status, "succeeded", JSON.stringify(dry.error));
    assert.equal((dry.facts as CorruptionFacts).path, "restore");
    assert.match(dry.steps.find((s) => s.id === "restore")!.detail!, /into secondary/);
    assert.equal(await t.lab.activeSite(), "primary", "the dry run changed nothing");
    assert.equal(t.lab.site("primary").cluster.state(), "running");

    // Alert thresholds under which the new primary's health is critical (its disk is over 1 %
    // used): the post-checks step must say so with a warning mark, never a ✓.
    const deps = t.deps();
    const run = await recoverCorruption({ ...deps, config: { ...deps.config, alerts: { ...deps.config.alerts, diskUsagePercent: 1 } } }, { yes: true });
    assert.equal(run.status, "succeeded", JSON.stringify(run.error));
    const post = run.steps.find((s) => s.id === "post-checks")!;
    assert.match(post.detail!, /health critical \(disk .* full/);
    assert.equal(post.warning, true);
    const shown = t.captured.join("").split("\n").filter((l) => l.includes("post-checks:"));
    assert.ok(shown.length > 0 && shown.every((l) => !l.includes("✓")) && shown.some((l) => l.startsWith("! ")), shown.join("\n"));
    assert.match(post.detail!, /archived through/, "the new timeline's first segment was archived before health was judged");
    const f = run.facts as CorruptionFacts;
    assert.equal(f.path, "restore");
    assert.equal(f.targetSite, "secondary");
    assert.deepEqual(
      run.steps.map((s) => `${s.id}:${s.status}`),
      ["detect:done", "reindex:skipped", "recheck:skipped", "bring-up:done", "assess:done", "drain:done", "fence:done", "restore:done", "verify:done", "recheck-restored:done", "open:done", "swap-dns:done", "first-write:done", "post-checks:done", "report:done"],
    );
    assert.equal(f.drain?.archived, true, f.drain?.detail);
    assert.ok(run.verification?.ok, JSON.stringify(run.verification));
    assert.ok(run.verification?.checks.some((c) => /every page/.test(c.name) && c.ok), "the restored copy was read page by page");
    assert.equal(await t.lab.activeSite(), "secondary", "DNS answers the restored site");
    assert.ok(existsSync(join(t.lab.layout.dataDir("primary"), FENCE_MARKER)), "the damaged primary is fenced and kept");
    assert.equal(t.lab.site("primary").cluster.state(), "stopped");
    assert.equal(run.measurements.rto.pass, true);
    assert.equal(run.measurements.rpo.pass, true);
    assert.equal(corruptionRunExitCode(run), 0);
    assert.match(renderCorruptionRun(run), /path: restore[\s\S]*SUCCEEDED/);

    const c = await t.lab.connect("secondary");
    try {
      const [after] = (await c.query("select count(*) n, sum(amount)::text total from app.ledger")).rows;
      assert.deepEqual(after, before, "every row of the damaged table is back");
    } finally {
      await c.end();
    }
    const clean = await checkCorruption(t.deps());
    assert.equal(clean.site, "secondary");
    assert.equal(clean.classification, "clean");
  });
});
