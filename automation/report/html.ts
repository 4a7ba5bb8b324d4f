// The report as one self-contained HTML page: inline CSS and SVG, no scripts, no fonts, no
// links to anything, so it opens from a mail attachment or an air-gapped laptop. Readable at
// 3 a.m.: the verdict is the first and biggest thing on the page.
import type { Measurement, RunRecord } from "../core/run-record";
import {
  forcedSteps,
  formatOffset,
  formatSeconds,
  formatTime,
  inlineJson,
  offsetOf,
  outageRelation,
  passWord,
  provenanceRows,
  measurementPass,
  scenarioTitle,
  stepSeconds,
} from "./format";
import { esc } from "./html-escape";
import { redactedRecord } from "./redacted";
import { budgetColour, forcedColour, renderTimeline, statusColours } from "./timeline";
import { verdictOf, type VerdictKind } from "./verdict";

const bannerColours: Record<VerdictKind, string> = {
  passed: "#1b5e20",
  warning: "#e65100",
  failed: "#b71c1c",
  running: "#0d47a1",
};

const css = `
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;font-size:16px;line-height:1.45;color:#1c2730;background:#fff}
main{max-width:1180px;margin:0 auto;padding:8px 24px 40px}
.banner{color:#fff;padding:26px 32px 22px}
.banner .verdict{font-size:54px;font-weight:800;letter-spacing:.02em;line-height:1.05}
.banner .what{font-size:22px;margin-top:8px;opacity:.95}
.banner .what code{font-size:20px}
.banner ul{margin:12px 0 0;padding-left:22px;font-size:19px}
.loud{margin:18px 0;padding:16px 20px;border:4px solid ${forcedColour};background:repeating-linear-gradient(135deg,#fff3e0 0 14px,#ffe0b2 14px 28px);font-size:20px;font-weight:700;color:#7f2b00}
.loud small{display:block;font-size:16px;font-weight:500;margin-top:4px}
.dry{margin:18px 0;padding:12px 18px;border:3px dashed #455a64;font-size:18px;font-weight:700}
.error{margin:18px 0;padding:16px 20px;border-left:10px solid ${statusColours.failed};background:#ffebee}
.error .code{font-weight:800;color:${statusColours.failed};font-size:20px}
.error .msg{font-size:19px;margin-top:4px;white-space:pre-wrap;word-break:break-word}
.error .hint{margin-top:10px;font-size:18px}
.cards{display:flex;flex-wrap:wrap;gap:16px;margin:22px 0}
.card{flex:1 1 250px;border:2px solid #cfd8dc;border-radius:8px;padding:14px 18px}
.card h3{margin:0;font-size:15px;text-transform:uppercase;letter-spacing:.06em;color:#546e7a}
.card .big{font-size:36px;font-weight:800;margin:4px 0 2px}
.card .sub{color:#455a64}
.card.pass{border-color:${statusColours.done}} .card.fail{border-color:${statusColours.failed};background:#fff5f5}
.badge{display:inline-block;padding:1px 10px;border-radius:4px;font-weight:800;font-size:14px;color:#fff;vertical-align:middle}
.b-pass,.b-done{background:${statusColours.done}} .b-fail,.b-failed{background:${statusColours.failed}}
.b-running{background:${statusColours.running}} .b-skipped{background:${statusColours.skipped}} .b-pending,.b-none{background:#78909c}
.b-forced{background:${forcedColour}}
.meter{height:10px;border-radius:5px;background:#eceff1;margin-top:8px;overflow:hidden}
.meter div{height:100%}
.basis{font-size:13px;color:#607d8b;margin-top:6px}
h2{font-size:24px;margin:34px 0 10px;border-bottom:2px solid #eceff1;padding-bottom:4px}
table{border-collapse:collapse;width:100%;font-size:15px}
th,td{text-align:left;padding:7px 10px;border-bottom:1px solid #e0e6ea;vertical-align:top}
th{background:#f5f7f9;font-weight:700}
td.num{white-space:nowrap;font-variant-numeric:tabular-nums}
td.detail{word-break:break-word}
tr.failed td{background:#ffebee} tr.forced td{background:#fff3e0}
dl.times{display:grid;grid-template-columns:max-content 1fr;gap:4px 18px;font-size:17px;margin:0}
dl.times dt{color:#546e7a} dl.times dd{margin:0;font-variant-numeric:tabular-nums}
.legend{display:flex;flex-wrap:wrap;gap:6px 20px;font-size:14px;color:#37474f;margin-top:6px}
.legend span{display:inline-flex;align-items:center;gap:6px}
.sw{display:inline-block;width:22px;height:12px;border-radius:2px}
.ln{display:inline-block;width:22px;height:0;border-top:3px solid}
ul.notes li{margin:4px 0;font-size:17px}
details table{width:auto;min-width:50%}
details summary{cursor:pointer;font-size:16px;margin:6px 0}
pre{margin:0;white-space:pre-wrap;word-break:break-word;font-size:13px}
footer{color:#78909c;font-size:13px;margin-top:40px}
`;

function badge(word: string, cls: string): string {
  return `<span class="badge b-${esc(cls)}">${esc(word)}</span>`;
}

function measurementCard(name: string, m: Measurement): string {
  const pass = measurementPass(m);
  const word = passWord(pass);
  const used = m.achieved !== undefined && m.objective > 0 ? (m.achieved / m.objective) * 100 : undefined;
  const meterColour = pass === false ? statusColours.failed : statusColours.done;
  return [
    `<div class="card ${pass === undefined ? "" : pass ? "pass" : "fail"}">`,
    `<h3>${esc(name)} ${badge(word, pass === undefined ? "none" : pass ? "pass" : "fail")}</h3>`,
    `<div class="big">${m.achieved === undefined ? "not measured" : esc(formatSeconds(m.achieved))}</div>`,
    `<div class="sub">objective ${esc(formatSeconds(m.objective))}${used === undefined ? "" : ` · ${esc(used < 1 ? used.toFixed(2) : used.toFixed(0))}% of it used`}</div>`,
    used === undefined ? "" : `<div class="meter"><div style="width:${Math.min(used, 100).toFixed(1)}%;background:${meterColour}"></div></div>`,
    `<div class="basis">${esc(m.basis)}</div>`,
    `</div>`,
  ].join("");
}

export function renderHtml(input: RunRecord): string {
  const r = redactedRecord(input);
  const v = verdictOf(r);
  const title = `${scenarioTitle(r.scenario)} ${r.runId}: ${v.headline}`;
  const forced = forcedSteps(r);
  const elapsed = offsetOf(r, r.finishedAt);
  const body: string[] = [];

  body.push(
    `<header class="banner" style="background:${bannerColours[v.kind]}">`,
    `<div class="verdict">${esc(v.headline)}</div>`,
    `<div class="what">${esc(scenarioTitle(r.scenario))} · run <code>${esc(r.runId)}</code> · ${esc(r.environment)} (${esc(r.engine)})</div>`,
    v.reasons.length ? `<ul>${v.reasons.map((x) => `<li>${esc(x)}</li>`).join("")}</ul>` : "",
    `</header>`,
    `<main>`,
  );

  // Forced runs are never quiet.
  if (r.forced || forced.length) {
    const where = forced.length ? ` at ${forced.map((s) => esc(s.name)).join(", ")}` : "";
    body.push(`<div class="loud">⚠ FORCED RUN: a failed gate was overridden with --force${where}<small>the recovered data was not proven correct before the run went on</small></div>`);
  }
  if (r.dryRun) body.push(`<div class="dry">DRY RUN: nothing was changed</div>`);

  if (r.error) {
    body.push(
      `<div class="error"><div class="code">${esc(r.error.code)}</div><div class="msg">${esc(r.error.message)}</div>`,
      r.error.hint ? `<div class="hint"><b>hint:</b> ${esc(r.error.hint)}</div>` : "",
      `</div>`,
    );
  }

  // Objectives and the gate at a glance.
  const ver = r.verification;
  const failedChecks = ver ? ver.checks.filter((c) => !c.ok).length : 0;
  body.push(
    `<section class="cards">`,
    measurementCard("RTO", r.measurements.rto),
    measurementCard("RPO", r.measurements.rpo),
    `<div class="card ${ver ? (ver.ok ? "pass" : "fail") : ""}"><h3>verification ${ver ? badge(ver.ok ? "PASS" : "FAIL", ver.ok ? "pass" : "fail") : badge("NOT RUN", "none")}</h3>`,
    `<div class="big">${ver ? `${ver.checks.length - failedChecks}/${ver.checks.length}` : "—"}</div><div class="sub">${ver ? (ver.ok ? "checks passed" : `${failedChecks} check${failedChecks === 1 ? "" : "s"} failed`) : "no verification recorded"}</div></div>`,
    `</section>`,
  );

  body.push(
    `<dl class="times">`,
    `<dt>scenario</dt><dd>${esc(r.scenario)} (measured against the ${esc(r.objectiveScenario)} objectives)</dd>`,
    `<dt>status</dt><dd>${badge(r.status, r.status === "succeeded" ? "pass" : r.status === "running" ? "running" : "fail")}</dd>`,
    `<dt>declared</dt><dd>${esc(formatTime(r.declaredAt))}</dd>`,
    `<dt>outage began</dt><dd>${esc(formatTime(r.outageAt))} (${esc(outageRelation(r))})</dd>`,
    `<dt>finished</dt><dd>${r.finishedAt ? `${esc(formatTime(r.finishedAt))} (after ${esc(formatSeconds(elapsed ?? 0))})` : "not finished"}</dd>`,
    ...provenanceRows(r).map(([k, x]) => `<dt>${esc(k)}</dt><dd>${esc(x)}</dd>`),
    `</dl>`,
  );

  body.push(
    `<h2>Timeline</h2>`,
    renderTimeline(r),
    `<div class="legend">`,
    ...(["done", "failed", "running", "skipped"] as const).map((s) => `<span><i class="sw" style="background:${statusColours[s]}"></i>${s}</span>`),
    `<span><i class="sw" style="background:#fff;border:3px solid ${forcedColour}"></i>forced</span>`,
    `<span><i class="ln" style="border-top-style:dashed;border-color:${budgetColour}"></i>RTO budget (objective)</span>`,
    `<span><i class="ln" style="border-color:${measurementPass(r.measurements.rto) === false ? statusColours.failed : statusColours.done}"></i>RTO achieved</span>`,
    `</div>`,
  );

  body.push(
    `<h2>Steps</h2>`,
    `<table><thead><tr><th>#</th><th>step</th><th>start</th><th>duration</th><th>status</th><th>attempts</th><th>detail</th></tr></thead><tbody>`,
    ...r.steps.map((s, i) => {
      const took = stepSeconds(s);
      const cls = s.forced ? "forced" : s.status === "failed" ? "failed" : "";
      return `<tr class="${cls}"><td class="num">${i + 1}</td><td>${esc(s.name)}</td><td class="num">${esc(formatOffset(offsetOf(r, s.startedAt)))}</td><td class="num">${took === undefined ? "—" : esc(formatSeconds(took))}</td><td>${badge(s.status, s.status)}${s.forced ? " " + badge("FORCED", "forced") : ""}</td><td class="num">${s.attempts}</td><td class="detail">${esc(s.detail ?? "")}</td></tr>`;
    }),
    `</tbody></table>`,
  );

  body.push(`<h2>Verification</h2>`);
  if (!ver) body.push(`<p>not run</p>`);
  else {
    body.push(
      `<p>${ver.ok ? badge("PASSED", "pass") + ` all ${ver.checks.length} checks` : badge("FAILED", "fail") + ` ${failedChecks} of ${ver.checks.length} checks failed`}</p>`,
      `<table><thead><tr><th>check</th><th>result</th><th>duration</th><th>detail</th></tr></thead><tbody>`,
      ...ver.checks.map((c) => `<tr class="${c.ok ? "" : "failed"}"><td>${esc(c.name)}</td><td>${badge(c.ok ? "PASS" : "FAIL", c.ok ? "pass" : "fail")}</td><td class="num">${esc(formatSeconds(c.durationMs / 1000))}</td><td class="detail">${esc(c.detail)}</td></tr>`),
      `</tbody></table>`,
    );
  }

  body.push(`<h2>Notes</h2>`, r.notes.length ? `<ul class="notes">${r.notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>` : `<p>none</p>`);

  const facts = Object.entries(r.facts);
  const options = Object.entries(r.options);
  if (facts.length || options.length) {
    const rows = (xs: [string, unknown][]) => xs.map(([k, x]) => `<tr><td>${esc(k)}</td><td><pre>${esc(inlineJson(x))}</pre></td></tr>`).join("");
    body.push(
      `<h2>Details</h2>`,
      options.length ? `<details open><summary>options</summary><table><tbody>${rows(options)}</tbody></table></details>` : "",
      facts.length ? `<details><summary>facts handed between steps</summary><table><tbody>${rows(facts)}</tbody></table></details>` : "",
    );
  }

  body.push(`<footer>fp-dr run report · ${esc(r.runId)} · ${esc(r.scenario)} on ${esc(r.environment)} · times in UTC</footer>`, `</main>`);

  return [
    `<!doctype html>`,
    `<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<title>${esc(title)}</title><style>${css}</style></head>`,
    `<body>`,
    ...body.filter(Boolean),
    `</body></html>`,
    "",
  ].join("\n");
}
