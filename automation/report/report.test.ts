// Proves: the Markdown and HTML reports carry every step, the RTO/RPO against their objectives
// with PASS/FAIL, the verification checks, notes, the error and its hint, and flag forced runs;
// the HTML is one self-contained page (no scripts, no external assets) with one timeline bar
// per step, the RTO budget line and the verdict; text is escaped; a registered secret never
// reaches any of the three outputs; reports round-trip through disk (write, list newest first,
// load validated) and unknown or damaged reports fail with their codes.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import test from "node:test";
import { reportList, reportShow, renderReportList, renderReportShow } from "../commands/report";
import { reportsDir } from "../core/state-dirs";
import { parseConfig } from "../core/load-config";
import { DrError } from "../core/errors";
import { Output } from "../core/output";
import { clearSecrets, registerSecret } from "../core/redact";
import type { RunRecord } from "../core/run-record";
import { renderHtml } from "./html";
import { renderJson } from "./json";
import { renderMarkdown } from "./markdown";
import { forcedFailedFailover, passedDrill, runningHardware } from "./sample-records";
import { listReports, loadReport, writeReports } from "./store";
import { axisTicks, textWidth } from "./timeline";
import { verdictOf } from "./verdict";
import { tempDir } from "../../test/harness/temp-dir";

const all = () => [passedDrill(), forcedFailedFailover(), runningHardware()];

function count(text: string, re: RegExp): number {
  return (text.match(new RegExp(re.source, re.flags.includes("g") ? re.flags : re.flags + "g")) ?? []).length;
}

test("verdicts: a clean drill passes, a forced failed failover fails, an unfinished run is in progress", () => {
  assert.deepEqual(verdictOf(passedDrill()), { kind: "passed", headline: "PASSED", reasons: [] });
  const failed = verdictOf(forcedFailedFailover());
  assert.equal(failed.kind, "failed");
  assert.equal(failed.headline, "FAILED");
  assert.ok(failed.reasons.includes("forced past a failed gate (--force)"));
  assert.ok(failed.reasons.includes("RTO objective missed"));
  assert.match(failed.reasons[0], /^ARCHIVE_FAILED: /);
  assert.equal(verdictOf(runningHardware()).headline, "IN PROGRESS");
  const slow = passedDrill();
  slow.measurements.rto = { ...slow.measurements.rto, achieved: 9 * 3600, pass: false };
  assert.deepEqual(verdictOf(slow), { kind: "warning", headline: "RECOVERED, OBJECTIVE MISSED", reasons: ["RTO objective missed"] });
});

test("markdown: title with scenario, run id and verdict; every step; RTO/RPO with PASS/FAIL; checks, notes, error", () => {
  const drill = passedDrill();
  const md = renderMarkdown(drill);
  assert.match(md, /^# DR drill drill-20250314t031200z-7a3f: PASSED$/m);
  for (const s of drill.steps) assert.match(md, new RegExp(`^\\| \\d+ \\| ${s.name.replace(/[()]/g, "\\$&")} \\| `, "m"), `step ${s.name}`);
  assert.match(md, /\*\*RTO\*\* achieved 1m3s, objective 8h — PASS/);
  assert.match(md, /\*\*RPO\*\* achieved 1.4s, objective 1h — PASS/);
  assert.match(md, /\| 5 \| restore the latest offsite backup \| \+9.6s \| 38.4s \| done \| 1 \|/, "start offset and duration");
  assert.match(md, /declared \| 2025-03-14 03:12:00Z/);
  // A drill's outage is its restore point, asked for once declared: named, with the exact
  // offset, never rounded to "at declaration".
  const pointed = { ...drill, outageAt: new Date(Date.parse(drill.declaredAt) + 160).toISOString() };
  assert.match(renderMarkdown(pointed), /outage began \| 2025-03-14 03:12:00Z \(the drill's restore point, 160ms after declaration\)/);
  assert.match(md, /\*\*PASSED\*\* \(7 checks\)/);
  for (const c of drill.verification!.checks) assert.ok(md.includes(c.name), c.name);
  assert.doesNotMatch(md, /FORCED/);

  const f = forcedFailedFailover();
  const fmd = renderMarkdown(f);
  assert.match(fmd, /^# Datacenter failover datacenter-20250315t021500z-c41d: FAILED$/m);
  assert.match(fmd, /\*\*RTO\*\* achieved 5m41s, objective 5m — FAIL/);
  assert.match(fmd, /\*\*RPO\*\* achieved 4.2s, objective 1m — PASS/);
  assert.match(fmd, /\*\*⚠ FORCED RUN\*\*: a failed gate was overridden with --force at \*\*verify \(the gate\)\*\*/);
  assert.match(fmd, /\| done \*\*FORCED\*\* \|/);
  assert.match(fmd, /\*\*ARCHIVE_FAILED\*\*: while running post-checks: archive-push/);
  assert.match(fmd, /^hint: check that repo2/m);
  assert.match(fmd, /\*\*FAILED\*\* \(1 of 3 checks failed\)/);
  assert.match(fmd, /outage began \| 2025-03-15 03:10:25Z \(1m35s before declaration\)/);
  for (const n of f.notes) assert.ok(fmd.includes(`- ${n}`), n);
  for (const s of f.steps) assert.ok(fmd.includes(`| ${s.name} |`), s.name);

  const run = renderMarkdown(runningHardware());
  assert.match(run, /: IN PROGRESS$/m);
  assert.match(run, /\*\*RTO\*\* not measured, objective 2h — NOT MEASURED/);
  assert.match(run, /finished \| not finished/);
});

test("html: self-contained page with the verdict banner, one bar per step, the budget and achieved lines", () => {
  for (const r of all()) {
    const html = renderHtml(r);
    assert.match(html, /^<!doctype html>/);
    assert.doesNotMatch(html, /<script/i, "no scripts at all");
    assert.doesNotMatch(html, /<link\b|@import|<iframe|<img\b|<object\b|<embed\b/i, "no external resources");
    assert.doesNotMatch(html, /(?:src|href|xlink:href)\s*=/i, "nothing to load or follow");
    assert.doesNotMatch(html, /https?:\/\//i, "no URL anywhere in the page");
    assert.doesNotMatch(html, /url\(\s*['"]?(?!#)/i, "css/svg url() only to in-page ids");
    assert.equal(count(html, /<svg\b/), 1);
    assert.equal(count(html, /class="bar /), r.steps.length, `one bar per step in ${r.runId}`);
    for (const s of r.steps) assert.ok(html.includes(`data-step="${s.id}"`), s.id);
    assert.equal(count(html, /class="budget-line/), 1, "one budget line");
    const v = verdictOf(r);
    assert.ok(html.includes(`<div class="verdict">${v.headline}</div>`), v.headline);
    assert.ok(html.includes(`<title>`));
  }
  const drill = renderHtml(passedDrill());
  assert.match(drill, /class="budget-line off-scale"/, "8h budget against a 1 min drill is drawn off scale");
  assert.match(drill, /RTO budget 8h \(off scale\) →/);
  assert.match(drill, /class="achieved-line"/);
  assert.match(drill, /RTO achieved 1m3s — PASS/);

  const failed = renderHtml(forcedFailedFailover());
  assert.match(failed, /class="budget-line" x1="[\d.]+"/, "5 min budget against a 6 min run is in scale");
  assert.match(failed, /RTO achieved 5m41s — FAIL/);
  assert.match(failed, /⚠ FORCED RUN: a failed gate was overridden with --force at verify \(the gate\)/);
  assert.match(failed, /class="bar bar-done bar-forced"/);
  assert.match(failed, /<div class="code">ARCHIVE_FAILED<\/div>/);
  assert.match(failed, /<b>hint:<\/b> check that repo2/);
  assert.match(failed, /transactions.account_id: 3 orphan rows/);
  assert.match(failed, /the old primary could not be reached/);

  const running = renderHtml(runningHardware());
  assert.match(running, /class="bar bar-running"/);
  assert.equal(count(running, /class="bar bar-pending"/), 3);
  assert.doesNotMatch(running, /class="achieved-line"/, "nothing achieved yet");
  assert.match(running, /not measured/);
});

test("html: all text is escaped, so a detail or note can never become markup", () => {
  const r = passedDrill();
  r.steps[0].detail = `<script>alert("x")</script> & <img src=x onerror=alert(1)>`;
  r.notes.push(`<a href="https://evil.example">click</a>`);
  r.steps[1].name = `lock "<b>"`;
  const html = renderHtml(r);
  assert.doesNotMatch(html, /<script|<img|<a href|<b>"/);
  assert.ok(html.includes("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;"));
  assert.ok(html.includes("&lt;a href=&quot;https://evil.example&quot;&gt;click&lt;/a&gt;"));
  const md = renderMarkdown(r);
  assert.doesNotMatch(md, /(^|[^\\])</m, "no raw HTML in the Markdown either: every < is backslash-escaped");
  assert.ok(md.includes("\\<script\\>"));
});

test("a registered secret in a step detail, a note, a fact or an option reaches none of the three outputs", () => {
  clearSecrets();
  const secret = `Pa55"word&<9f8e7d>/x`;
  registerSecret(secret);
  try {
    const r = forcedFailedFailover();
    r.steps[4].detail = `restore with --repo2-cipher-pass ${secret} failed once`;
    r.notes.push(`rotate ${secret} after this incident`);
    r.facts.connection = `postgres://app:${secret}@127.0.0.1:5432/fp`;
    r.options.passphrase = secret;
    r.error!.message += ` (pass ${secret})`;
    const forms = [secret, JSON.stringify(secret).slice(1, -1), secret.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;"), "9f8e7d"];
    for (const [name, text] of [["json", renderJson(r)], ["markdown", renderMarkdown(r)], ["html", renderHtml(r)]] as const) {
      for (const f of forms) assert.ok(!text.includes(f), `${name} leaks ${f}`);
      assert.match(text, /\[redacted\]/, `${name} shows where the secret was`);
    }
    assert.equal(r.notes.at(-1), `rotate ${secret} after this incident`, "the caller's record is not modified");
  } finally {
    clearSecrets();
  }
});

test("axis ticks are round and labelled in s, min or h", () => {
  assert.deepEqual(axisTicks(70).map((t) => t.label), ["0", "10 s", "20 s", "30 s", "40 s", "50 s", "60 s", "70 s"]);
  assert.deepEqual(axisTicks(400).map((t) => t.label), ["0", "1 min", "2 min", "3 min", "4 min", "5 min", "6 min"]);
  assert.deepEqual(axisTicks(9 * 3600).map((t) => t.label), ["0", "2 h", "4 h", "6 h", "8 h"]);
});

test("write, list and load round-trip; newest first; files written whole", () => {
  const dir = tempDir("fp-dr-reports-");
  const written = all().map((r) => ({ r, paths: writeReports(r, dir) }));
  for (const { r, paths } of written) {
    assert.equal(paths.json, join(dir, r.runId, "report.json"));
    for (const p of [paths.json, paths.markdown, paths.html]) assert.ok(existsSync(p), p);
    assert.deepEqual(readdirSync(join(dir, r.runId)).sort(), ["report.html", "report.json", "report.md"], "no temp files left");
    assert.equal(readFileSync(paths.markdown, "utf8"), renderMarkdown(r));
    assert.deepEqual(loadReport(dir, r.runId), JSON.parse(JSON.stringify(r)));
  }
  // Writing again (the runner does, after every step) replaces the report.
  const later = runningHardware();
  later.notes.push("second write");
  writeReports(later, dir);
  assert.deepEqual(loadReport(dir, later.runId).notes, ["second write"]);

  const list = listReports(dir);
  assert.deepEqual(list.map((s) => s.runId), ["hardware-20250316t101000z-09be", "datacenter-20250315t021500z-c41d", "drill-20250314t031200z-7a3f"]);
  assert.deepEqual(list[1], {
    runId: "datacenter-20250315t021500z-c41d",
    scenario: "datacenter",
    status: "failed",
    declaredAt: "2025-03-15T03:12:00.000Z",
    finishedAt: "2025-03-15T03:18:42.000Z",
    dryRun: false,
    forced: true,
    verdict: "FAILED",
    verdictKind: "failed",
    rto: { achieved: 341, objective: 300, pass: false },
    rpo: { achieved: 4.2, objective: 60, pass: true },
  });
  assert.deepEqual(list[2].rto, { achieved: 62.5, objective: 28800, pass: true });
  assert.deepEqual(listReports(join(dir, "nothing-here")), [], "no directory: no reports");
});

test("unknown run ids, path tricks and damaged reports fail with their codes", () => {
  const dir = tempDir("fp-dr-reports-");
  writeReports(passedDrill(), dir);
  for (const id of ["drill-nope", "../etc", "", "a/b"]) {
    assert.throws(
      () => loadReport(dir, id),
      (e: unknown) => e instanceof DrError && e.code === "REPORT_UNKNOWN" && /dr report list/.test(e.hint ?? "") && e.exitCode === 64,
      id,
    );
  }
  mkdirSync(join(dir, "drill-broken"));
  writeFileSync(join(dir, "drill-broken", "report.json"), JSON.stringify({ ...passedDrill(), runId: "drill-broken", steps: [{ id: "x", name: "x", status: "exploded", attempts: 1 }] }));
  assert.throws(() => loadReport(dir, "drill-broken"), (e: unknown) => e instanceof DrError && e.code === "REPORT_INVALID" && /steps\.0\.status/.test(e.message));
  mkdirSync(join(dir, "drill-half"));
  writeFileSync(join(dir, "drill-half", "report.json"), "{ not json");
  const damaged: string[] = [];
  const list = listReports(dir, { onDamaged: (id, e) => damaged.push(`${id}:${e.code}`) });
  assert.deepEqual(list.map((s) => s.runId), ["drill-20250314t031200z-7a3f"]);
  assert.deepEqual(damaged.sort(), ["drill-broken:REPORT_INVALID", "drill-half:REPORT_INVALID"]);
  assert.throws(() => writeReports({ ...passedDrill(), runId: "../escape" } as RunRecord, dir), (e: unknown) => e instanceof DrError && e.code === "INTERNAL");
});

function captured(): { out: Output; stdout: () => string; stderr: () => string } {
  const o = new PassThrough();
  const e = new PassThrough();
  let so = "";
  let se = "";
  o.on("data", (b) => (so += String(b)));
  e.on("data", (b) => (se += String(b)));
  return { out: new Output({ json: false, stdout: o, stderr: e }), stdout: () => so, stderr: () => se };
}

test("dr report list|show: reports dir from config, else <lab dir>/reports; human renderings", async () => {
  const labDir = tempDir("fp-dr-lab-");
  assert.equal(reportsDir(parseConfig({ lab: { dir: labDir } })), join(labDir, "reports"));
  const dir = tempDir("fp-dr-reports-");
  const config = parseConfig({ lab: { dir: labDir }, reports: { dir } });
  assert.equal(reportsDir(config), dir);
  for (const r of all()) writeReports(r, dir);
  const c = captured();
  const deps = { config, out: c.out };

  const listed = await reportList(deps, {});
  assert.equal(listed.dir, dir);
  assert.equal(listed.reports.length, 3);
  // Sized to the terminal: one line a run at 160 columns; at 100 the cells wrap and the run ids stay whole.
  const columns = process.env.COLUMNS;
  process.env.COLUMNS = "100";
  const narrow = renderReportList(listed);
  process.env.COLUMNS = "160";
  const text = renderReportList(listed);
  if (columns === undefined) delete process.env.COLUMNS;
  else process.env.COLUMNS = columns;
  assert.ok(narrow.split("\n").every((l) => [...l].length <= 100), narrow);
  assert.match(narrow, /│ datacenter-20250315t021500z-c41d │/);
  assert.match(text, /datacenter-20250315t021500z-c41d .*FAILED FORCED .*5m41s \/ 5m FAIL .*4.2s \/ 1m PASS/);
  assert.match(text, /drill-20250314t031200z-7a3f .*PASSED .*1m3s \/ 8h PASS/);
  assert.match(text, /hardware-20250316t101000z-09be .*IN PROGRESS .*— \/ 2h/);
  assert.match(text, /3 reports in /);

  const md = await reportShow(deps, "drill-20250314t031200z-7a3f", {});
  assert.equal(md.format, "md");
  assert.equal(md.path, join(dir, "drill-20250314t031200z-7a3f", "report.md"));
  assert.match(renderReportShow(md), /^# DR drill drill-20250314t031200z-7a3f: PASSED/);
  assert.match(c.stderr(), /the page with the timeline: .*report\.html/);
  const html = await reportShow(deps, "drill-20250314t031200z-7a3f", { format: "html" });
  assert.match(renderReportShow(html), /^<!doctype html>/);
  const json = await reportShow(deps, "drill-20250314t031200z-7a3f", { format: "json" });
  assert.equal(JSON.parse(renderReportShow(json)).runId, "drill-20250314t031200z-7a3f");
  await assert.rejects(() => reportShow(deps, "drill-missing", {}), (e: unknown) => e instanceof DrError && e.code === "REPORT_UNKNOWN");

  // Its own lab dir too: without one the config names the default lab, whose shared store (up
  // after `npm run drill`, the README's first command) holds that lab's real reports.
  const empty = await reportList({ config: parseConfig({ lab: { dir: labDir }, reports: { dir: join(dir, "none") } }), out: c.out }, {});
  assert.match(renderReportList(empty), /^no reports in /);
});

test("a report says who ran it and with what, keeps long facts out of table cells, marks a resume and keeps bar labels off the step names", () => {
  const r = forcedFailedFailover();
  r.provenance = { operator: "ops@db-admin-1", toolVersion: "0.1.0", commit: "a123eca0ffee", postgres: "15.18 (Debian 15.18-0+deb12u1)", pgbackrest: "2.45" };
  r.facts.restorePoint = { fingerprints: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`app.t${i}`, { rows: i, sum: "f".repeat(32) }])) };
  const failed = r.steps.find((s) => s.status === "failed")!;
  // A failed step that ran from the declaration to the end: no room left or right of its bar.
  failed.startedAt = r.declaredAt;
  r.notes.push(`resumed at ${new Date(Date.parse(r.declaredAt) + 40_000).toISOString()} (pid 4242)`);
  const md = renderMarkdown(r);
  assert.match(md, /\| run by \| ops@db-admin-1 \|/);
  assert.match(md, /\| fp-dr \| 0\.1\.0 \(commit a123eca0ffee\) \|/);
  assert.match(md, /\| PostgreSQL \| 15\.18 /);
  assert.match(md, /\| pgBackRest \| 2\.45 \|/);
  for (const line of md.split("\n")) assert.ok(line.length <= 400, `no huge line: ${line.slice(0, 80)}… (${line.length})`);
  assert.match(md, /### restorePoint\n\n```json\n\{\n  "fingerprints"/);
  const html = renderHtml(r);
  assert.match(html, /<dt>run by<\/dt><dd>ops@db-admin-1<\/dd>/);
  assert.match(html, /<dt>pgBackRest<\/dt><dd>2\.45<\/dd>/);
  assert.match(html, /class="resume-gap"/);
  assert.match(html, /resumed \([^)]+ stopped\)/);
  // Every bar label anchored at its end must end right of the step names' column (x0 = 304).
  for (const m of html.matchAll(/<text class="bar-label" x="([\d.]+)"[^>]*text-anchor="(start|end)"[^>]*>([^<]*)<\/text>/g)) {
    const [, x, anchor, text] = m;
    const left = anchor === "end" ? Number(x) - textWidth(text) : Number(x);
    assert.ok(left >= 304, `label "${text}" starts at ${left}, over the step names`);
  }
});

test("a table recovery without --apply is a preview: PREVIEW, no RTO/RPO verdict, not 'recovered, not measured'", () => {
  const r = passedDrill();
  r.scenario = "deletion";
  r.facts.request = { table: "app.households", apply: false };
  r.measurements.rto.achieved = undefined;
  r.measurements.rto.pass = undefined;
  r.measurements.rpo.achieved = undefined;
  r.measurements.rpo.pass = undefined;
  const v = verdictOf(r);
  assert.equal(v.headline, "PREVIEW");
  assert.doesNotMatch(v.reasons.join(" "), /not measured/);
  assert.match(renderMarkdown(r), /: PREVIEW/);
  r.facts.request = { table: "app.households", apply: true };
  assert.equal(verdictOf(r).headline, "RECOVERED, NOT MEASURED", "an apply is judged");
});
