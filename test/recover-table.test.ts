// Scenario: accidental deletion (runbook §6) recovered with `dr recover-table` on the local
// engine (real clusters, pgBackRest repo1, point-in-time restore into a throwaway copy).
// A household is deleted through the application's audited path (app.delete_household, which
// removes its clients, accounts, holdings, ledger, plans and goals first); afterwards the
// application keeps writing (a new household, a change to another). Proves:
//   - bad input (unknown table, --before in the future, no audit event, conflicting flags)
//     stops before anything is touched, with a stable code and a hint;
//   - the preview (no --apply) finds the deletion in the audit log, lists exactly the deleted
//     row as missing, the later writes as added/changed, the dependants through foreign keys,
//     and production is unchanged (fingerprints equal); with --keep-copy the copy stays;
//   - a failure in the middle still removes the copy, production unchanged;
//   - --apply --include-dependents reuses that preview's copy (still exact: nothing restored
//     again), writes every deleted row back exactly, keeps the rows
//     written after the deletion, leaves no orphans, every invariant holds, the write-back is
//     audited as fp-dr, RTO and RPO are measured against the deletion objectives;
//   - a kept copy that is no longer exact (replay resumed on it) is not reused: the run says
//     why, removes it and restores a new one.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "pg";
import { recoverTable, renderRecoverTable } from "../automation/commands/recover-table";
import { runExitCode } from "../automation/commands/recover";
import { verdictOf } from "../automation/report/verdict";
import { journalFor } from "../automation/core/state-dirs";
import { isDrError } from "../automation/core/errors";
import type { RunRecord } from "../automation/core/run-record";
import { tableFingerprints } from "../automation/verify/fingerprint";
import { sampleInvariants } from "../automation/verify/invariants";
import type { DeletionFacts } from "../automation/plans/deletion-steps";
import { foreignKeyOrphans, invariantChecks } from "../automation/verify/checks";
import { archiveNow, startTestLab, type TestLab } from "./harness/lab";

let t: TestLab;
let victim: number;
let keptHousehold: number;
let changedHousehold: number;
let changedHouseholdNotes: string | null;
let writtenBefore: number;
/** The recovery point the audit log gave (for the --before run). */
let deletionPoint: string;
/** The run whose copy was kept (--keep-copy) for the next --apply. */
let keptBy: string;
/** The victim's rows per table, as text, before the deletion. */
const deletedRows: Record<string, string[]> = {};

/** Which rows of each table belong to a household. */
const belongsTo: Record<string, string> = {
  households: "household_id = $1",
  clients: "household_id = $1",
  accounts: "household_id = $1",
  holdings: "account_id in (select account_id from app.accounts where household_id = $1)",
  ledger: "account_id in (select account_id from app.accounts where household_id = $1)",
  plans: "household_id = $1",
  goals: "plan_id in (select plan_id from app.plans where household_id = $1)",
};

async function rowsOf(c: Client, household: number): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  await c.query("set timezone = 'UTC'");
  for (const [table, where] of Object.entries(belongsTo)) {
    out[table] = (await c.query<{ r: string }>(`select t::text as r from app.${table} t where ${where} order by 1`, [household])).rows.map((x) => x.r);
  }
  return out;
}


async function fingerprint(): Promise<string> {
  const c = await t.lab.connect("primary");
  try {
    return JSON.stringify(await tableFingerprints(c, "app"));
  } finally {
    await c.end();
  }
}

/** A household with its primary client, as the application adds one. */
async function addHousehold(c: Client, name: string, email: string): Promise<number> {
  const id = Number(
    (
      await c.query<{ id: string }>(
        `insert into app.households (name, region, advisor, risk_profile, annual_income, created_at, notes)
         values ($1, 'west', 'adv-007', 'balanced', 123456.78, now(), 'added by the test') returning household_id as id`,
        [name],
      )
    ).rows[0].id,
  );
  await c.query(
    `insert into app.clients (household_id, role, first_name, last_name, email, phone, date_of_birth, tax_id_hash, created_at)
     values ($1, 'primary', 'Ada', 'Test', $2, '+1-555-0100000', date '1980-02-03', sha256(convert_to($2::text, 'UTF8')), now())`,
    [id, email],
  );
  return id;
}

const siteNames = () => Object.keys(t.lab.state.sites).sort();
const dfacts = (r: RunRecord) => r.facts as DeletionFacts;
const stepOf = (r: RunRecord, id: string) => r.steps.find((s) => s.id === id)!;

before(async () => {
  t = await startTestLab();
  const c = await t.lab.connect("primary");
  try {
    // A household with something in every dependent table.
    victim = (
      await c.query<{ id: string }>(`select h.household_id as id from app.households h
        where exists (select 1 from app.plans p join app.goals g using (plan_id) where p.household_id = h.household_id)
          and exists (select 1 from app.accounts a join app.ledger l using (account_id) where a.household_id = h.household_id)
          and exists (select 1 from app.accounts a join app.holdings x using (account_id) where a.household_id = h.household_id)
        order by 1 limit 1`)
    ).rows.map((r) => Number(r.id))[0];
    assert.ok(victim, "the sample has a household with every kind of dependant");
    Object.assign(deletedRows, await rowsOf(c, victim));
    const other = await c.query<{ id: string; notes: string | null }>("select household_id as id, notes from app.households where household_id <> $1 order by 1 limit 1", [victim]);
    changedHousehold = Number(other.rows[0].id);
    changedHouseholdNotes = other.rows[0].notes;
    // Written after the backup and before the deletion: the copy must have it (a restore of the
    // backup alone, as the runbook did, would not).
    writtenBefore = await addHousehold(c, "Written-before household", "bea.before@example.com");

    // The accident, the application's way (audited, dependants first).
    const n = Number((await c.query<{ n: string }>("select app.delete_household($1, 'alice@fp') as n", [victim])).rows[0].n);
    assert.equal(n, Object.values(deletedRows).reduce((s, r) => s + r.length, 0));

    // The application carries on: a new household (with its client), a change to another one.
    await c.query("begin");
    await c.query("select set_config('app.actor', 'bob@fp', true)");
    keptHousehold = await addHousehold(c, "Written-after household", "ada.after@example.com");
    await c.query("update app.households set notes = 'changed after the deletion' where household_id = $1", [changedHousehold]);
    await c.query("commit");
  } finally {
    await c.end();
  }
  await archiveNow(t.lab);
});

after(async () => {
  await t?.destroy();
});

describe("recover-table: bad input stops before anything is touched", () => {
  test("unknown table, --before in the future, no audit event, conflicting flags: code + hint, no run, no copy, production unchanged", async () => {
    const fp = await fingerprint();
    const runs = journalFor(t.config).list().length;
    const cases: [Parameters<typeof recoverTable>[1], string, RegExp][] = [
      [{ table: "app.housholds" }, "USAGE", /no table app\.housholds/],
      [{ table: "app.households", before: new Date(Date.now() + 3600_000).toISOString() }, "TARGET_IN_FUTURE", /in the future/],
      [{ table: "app.households", since: new Date(Date.now() + 1000).toISOString() }, "DELETION_NOT_FOUND", /no DELETE of app\.households/],
      [{ table: "app.households", keys: "999999999" }, "DELETION_NOT_FOUND", /for keys 999999999/],
      [{ table: "app.households", before: new Date().toISOString(), audit: true }, "USAGE", /either --before/],
      [{ table: "app.households", before: "yesterday" }, "TARGET_INVALID", /not a time/],
      [{ table: "app.audit_log; drop table x" }, "USAGE", /not a table name/],
    ];
    for (const [opts, code, message] of cases) {
      await assert.rejects(
        () => recoverTable(t.deps(), opts),
        (e: unknown) => {
          assert.ok(isDrError(e), String(e));
          assert.equal(e.code, code, `${JSON.stringify(opts)}: ${e.message}`);
          assert.match(e.message, message);
          assert.ok(e.hint && e.hint.length > 10, `a hint for ${code}`);
          return true;
        },
      );
    }
    const unknown = (await recoverTable(t.deps(), { table: "app.housholds" }).catch((e: unknown) => e)) as { hint?: string };
    assert.match(unknown.hint ?? "", /app\.households/, "the hint names the table meant");
    assert.deepEqual(siteNames(), ["primary", "secondary"]);
    assert.equal(journalFor(t.config).list().length, runs, "no run was started");
    assert.equal(await fingerprint(), fp, "production unchanged");
  });
});

describe("recover-table: preview, failure, apply", () => {
  test("--dry-run: every step explained, the point found, nothing created or written", async () => {
    const fp = await fingerprint();
    const r = await recoverTable(t.deps(), { table: "app.households", apply: true, includeDependents: true, dryRun: true });
    assert.equal(r.status, "succeeded", r.error?.message);
    assert.ok(r.steps.every((s) => s.status === "skipped" && s.detail), JSON.stringify(r.steps));
    assert.match(stepOf(r, "locate").detail!, /DELETE by alice@fp/);
    assert.deepEqual(siteNames(), ["primary", "secondary"]);
    assert.equal(await fingerprint(), fp);
  });


  test("a failure in the middle (after the copy was restored) still removes the copy; production unchanged", async () => {
    const fp = await fingerprint();
    process.env.FP_DR_FAULT = "fail-in:diff";
    let r: RunRecord;
    try {
      r = await recoverTable(t.deps(), { table: "app.households", apply: true, includeDependents: true, yes: true });
    } finally {
      delete process.env.FP_DR_FAULT;
    }
    assert.equal(r.status, "failed");
    assert.match(r.error?.message ?? "", /injected failure/);
    assert.equal(stepOf(r, "restore-copy").status, "done");
    assert.equal(stepOf(r, "apply").status, "skipped");
    assert.equal(stepOf(r, "remove-copy").status, "done");
    assert.equal(stepOf(r, "report").status, "done");
    assert.equal(t.lab.state.sites[dfacts(r).targetSite!], undefined, "the copy is gone");
    assert.deepEqual(siteNames(), ["primary", "secondary"]);
    assert.equal(await fingerprint(), fp, "production unchanged");
  });

  test("a table whose parent is gone too: the preview says blocked, --apply refuses before writing anything", async () => {
    const fp = await fingerprint();
    const r = await recoverTable(t.deps(), { table: "app.clients", apply: true, yes: true });
    assert.equal(r.status, "failed");
    assert.equal(r.error?.code, "USAGE");
    assert.match(r.error?.message ?? "", /app\.clients needs 1 row\(s\) of app\.households/);
    assert.match(r.error?.hint ?? "", /--include-dependents|parent table/);
    const d = dfacts(r).diff!;
    assert.equal(d.missing, deletedRows.clients.length);
    assert.deepEqual(d.blocked.map((b) => [b.table, b.parent, b.sample]), [["app.clients", "app.households", [String(victim)]]]);
    assert.equal(stepOf(r, "remove-copy").status, "done");
    assert.deepEqual(siteNames(), ["primary", "secondary"]);
    assert.equal(await fingerprint(), fp, "production unchanged");
  });

  test("without --apply, with --keep-copy: the audit log's DELETE is found, exactly the deleted row is missing, dependants listed, production unchanged, the copy kept", async () => {
    const fp = await fingerprint();
    const started = Date.now();
    const r = await recoverTable(t.deps(), { table: "app.households", keepCopy: true });
    const f = dfacts(r);
    assert.equal(r.status, "succeeded", `${r.error?.message}\n${renderRecoverTable(r)}`);
    assert.equal(r.scenario, "deletion");
    assert.equal(r.objectiveScenario, "deletion");
    // Found in the audit log: alice's DELETE, the whole transaction, its commit time.
    const e = f.located!.event!;
    assert.equal(f.located!.mode, "audit");
    assert.equal(e.actor, "alice@fp");
    assert.equal(e.action, "DELETE");
    assert.deepEqual(e.keys, [String(victim)]);
    assert.ok(e.commitAt, "commit time known (track_commit_timestamp)");
    assert.ok(Date.parse(f.located!.point) <= Date.parse(e.commitAt!) && Date.parse(f.located!.point) > Date.parse(e.firstAt) - 1000, "the point is just before the deleting commit");
    assert.equal(e.touched.find((x) => x.table === "ledger")?.rows, deletedRows.ledger.length);
    // The copy is at the point, not at the backup: it replayed the commits made after the backup.
    assert.ok(f.restore?.lastCommitAt && Date.parse(f.restore.lastCommitAt) <= Date.parse(f.located!.point), `copy's last commit ${f.restore?.lastCommitAt}`);
    assert.match(f.versusRunbook ?? "", /after backup .* ended/);
    // The diff: exactly the deleted household missing; the later writes seen as such.
    const d = f.diff!;
    assert.equal(d.missing, 1);
    assert.deepEqual(d.sample.missing, [String(victim)]);
    assert.deepEqual(d.sample.added, [String(keptHousehold)], `only the household written after the deletion (${writtenBefore}, written before it, is in the copy)`);
    assert.deepEqual(d.sample.changed, [String(changedHousehold)]);
    assert.equal(d.copyRows, d.productionRows, "the copy has the victim, production the new household instead");
    for (const table of ["clients", "accounts", "holdings", "ledger", "plans", "goals"]) {
      const dep = d.dependents.find((x) => x.table === `app.${table}`);
      assert.equal(dep?.missing, deletedRows[table].length, `dependants of app.households in app.${table}`);
    }
    assert.deepEqual(d.blocked, []);
    assert.equal(stepOf(r, "apply").status, "done");
    assert.match(stepOf(r, "apply").detail ?? "", /preview only/);
    assert.equal(f.applied, undefined);
    // Nothing changed in production; the copy is kept (paused at the point) for the --apply.
    assert.equal(await fingerprint(), fp, "production unchanged (fingerprints of every app table)");
    assert.equal(stepOf(r, "remove-copy").status, "done");
    assert.match(stepOf(r, "remove-copy").detail ?? "", /kept \(--keep-copy\), paused at/);
    assert.ok(t.lab.state.sites[f.targetSite!], "the copy is still there");
    assert.deepEqual(f.keptCopy && [f.keptCopy.site, f.keptCopy.table, f.keptCopy.point], [f.targetSite, "app.households", f.located!.point]);
    keptBy = r.runId;
    // A preview recovered nothing: no RTO/RPO verdict, "PREVIEW" in the report and the list, exit 0.
    assert.equal(r.measurements.rto.objective, 3600);
    assert.equal(r.measurements.rto.pass, undefined);
    assert.equal(r.measurements.rpo.achieved, undefined);
    assert.equal(verdictOf(r).headline, "PREVIEW");
    assert.equal(runExitCode(r), 0);
    deletionPoint = f.located!.point;
    const text = renderRecoverTable(r);
    if (process.env.FP_DR_TEST_SHOW) console.log(text);
    assert.match(text, /missing in production/);
    assert.match(text, /preview only/);
    assert.match(text, /deletion run \S+: PREVIEW/);
    assert.doesNotMatch(text, /RTO .*PASS/);
    console.log(`preview: ${((Date.now() - started) / 1000).toFixed(1)}s; ${r.steps.map((s) => `${s.id} ${s.durationMs ?? "-"}ms`).join(", ")}`);
  });

  test("--apply --include-dependents: every deleted row is back exactly, later writes kept, no orphans, invariants hold", async () => {
    const started = Date.now();
    const r = await recoverTable(t.deps(), { table: "app.households", audit: true, apply: true, includeDependents: true, yes: true });
    const f = dfacts(r);
    assert.equal(r.status, "succeeded", `${r.error?.message}\n${renderRecoverTable(r)}`);
    // The preview's copy was still exact: reused, not restored again.
    assert.equal(f.reusedCopy?.fromRun, keptBy);
    assert.match(stepOf(r, "create-scratch").detail ?? "", new RegExp(`^reused ${f.targetSite}, kept by preview ${keptBy}`));
    assert.match(stepOf(r, "restore-copy").detail ?? "", /^nothing restored again: the copy of preview .* is still paused at/);
    const c = await t.lab.connect("primary");
    try {
      // Every deleted row is back, byte for byte as text.
      assert.deepEqual(await rowsOf(c, victim), deletedRows);
      // Rows written after the deletion are kept, the later change was not reverted.
      assert.equal((await c.query("select 1 from app.households where household_id = $1", [keptHousehold])).rowCount, 1);
      assert.equal((await c.query("select 1 from app.clients where household_id = $1", [keptHousehold])).rowCount, 1);
      assert.equal((await c.query<{ notes: string }>("select notes from app.households where household_id = $1", [changedHousehold])).rows[0].notes, "changed after the deletion");
      // Keys and the application's invariants hold.
      const orphans = await foreignKeyOrphans(c, ["app"]);
      assert.ok(orphans.ok, orphans.detail);
      for (const inv of await invariantChecks(c, sampleInvariants)) assert.ok(inv.ok, `${inv.name}: ${inv.detail}`);
      // The write-back is audited as the recovery run.
      const audited = Number((await c.query<{ n: string }>("select count(*) as n from app.audit_log where action = 'INSERT' and actor = $1", [`fp-dr recover-table ${r.runId}`])).rows[0].n);
      assert.equal(audited, Object.values(deletedRows).reduce((s, x) => s + x.length, 0));
    } finally {
      await c.end();
    }
    const a = f.applied!;
    assert.equal(a.rowsLost, 0);
    assert.equal(a.dependentRowsNotRestored, 0);
    assert.equal(a.tables[0].table, "app.households", "parents first");
    assert.equal(a.tables[0].inserted, 1);
    assert.ok(r.verification?.ok, JSON.stringify(r.verification));
    assert.ok(r.verification!.checks.some((x) => /written since the deletion are kept/.test(x.name) && x.ok));
    // RTO (declaration → rows committed) and RPO (nothing of the table lost) against the objectives.
    assert.equal(r.measurements.rto.pass, true);
    assert.ok(r.measurements.rpo.achieved !== undefined && r.measurements.rpo.achieved <= 0.001, `RPO ${r.measurements.rpo.achieved}`);
    assert.equal(r.measurements.rpo.pass, true);
    assert.equal(t.lab.state.sites[f.targetSite!], undefined, "the copy is gone");
    assert.deepEqual(siteNames(), ["primary", "secondary"]);
    console.log(`apply: ${((Date.now() - started) / 1000).toFixed(1)}s; RTO ${r.measurements.rto.achieved?.toFixed(1)}s, RPO ${r.measurements.rpo.achieved}s; ${r.steps.map((s) => `${s.id} ${s.durationMs ?? "-"}ms`).join(", ")}`);

    // Run again: nothing is missing any more (idempotent).
    const before = await fingerprint();
    const again = await recoverTable(t.deps(), { table: "app.households", apply: true, includeDependents: true, yes: true });
    assert.equal(again.status, "succeeded", again.error?.message);
    assert.equal(dfacts(again).diff!.missing, 0);
    assert.equal(dfacts(again).applied!.tables[0].inserted, 0);
    assert.equal(await fingerprint(), before, "nothing written the second time");
  });

  test("--before with --revert-changed: a row changed after the point is put back as it was", async () => {
    const r = await recoverTable(t.deps(), { table: "app.households", before: deletionPoint, apply: true, revertChanged: true, keepCopy: true, yes: true });
    const f = dfacts(r);
    assert.equal(r.status, "succeeded", `${r.error?.message}\n${renderRecoverTable(r)}`);
    assert.equal(f.located!.mode, "before");
    assert.deepEqual(f.diff!.sample.changed, [String(changedHousehold)]);
    assert.equal(f.diff!.missing, 0);
    assert.equal(f.applied!.tables[0].reverted, 1);
    const c = await t.lab.connect("primary");
    try {
      const notes = (await c.query<{ notes: string | null }>("select notes from app.households where household_id = $1", [changedHousehold])).rows[0].notes;
      assert.equal(notes, changedHouseholdNotes, "reverted to the value at the point");
      assert.equal((await c.query("select 1 from app.households where household_id = $1", [keptHousehold])).rowCount, 1, "rows added since are never touched");
    } finally {
      await c.end();
    }
    assert.ok(r.verification?.ok, JSON.stringify(r.verification));
    assert.equal(r.measurements.rpo.achieved, 0);
    assert.ok(f.keptCopy && t.lab.state.sites[f.keptCopy.site], "kept (--keep-copy)");
    keptBy = r.runId;
  });

  test("a kept copy that is no longer exact (replay resumed on it) is not reused: the run says why, removes it and restores a new one", async () => {
    const kept = dfacts(JSON.parse(readFileSync(join(t.dir, "journal", `${keptBy}.json`), "utf8")) as RunRecord).keptCopy!;
    const c = await t.lab.connect(kept.site, "postgres");
    try {
      await c.query("select pg_wal_replay_resume()");
    } finally {
      await c.end();
    }
    const r = await recoverTable(t.deps(), { table: "app.households", before: deletionPoint, apply: true, yes: true });
    const f = dfacts(r);
    assert.equal(r.status, "succeeded", `${r.error?.message}\n${renderRecoverTable(r)}`);
    assert.equal(f.reusedCopy, undefined);
    assert.equal(f.staleCopyRemoved, keptBy);
    assert.ok(r.notes.some((n) => n.startsWith(`the copy kept by preview ${keptBy} was not reused: ${kept.site} `) && /left recovery|no longer paused|replayed on/.test(n)), r.notes.join(" | "));
    assert.doesNotMatch(stepOf(r, "restore-copy").detail ?? "", /nothing restored again/);
    assert.equal(t.lab.state.sites[kept.site], undefined, "the stale copy is gone");
    assert.deepEqual(siteNames(), ["primary", "secondary"], "and so is this run's");
  });
});
