// The incident/drill report as Markdown: readable in a terminal (`dr report show`), in a ticket
// and on GitHub. Verdict first, then times, objectives, steps, verification, notes, error.
import type { RunRecord } from "../core/run-record";
import {
  forcedSteps,
  formatOffset,
  formatSeconds,
  formatTime,
  INLINE_JSON_MAX,
  inlineJson,
  measurementLine,
  offsetOf,
  outageRelation,
  provenanceRows,
  scenarioTitle,
  stepSeconds,
} from "./format";
import { redactedRecord } from "./redacted";
import { verdictOf } from "./verdict";

/** Text safe inside a Markdown table cell or line: no raw HTML, no cell breaks, one line
 * (underscores stay: GitHub ignores them inside words and set labels are full of them). */
function md(text: string): string {
  return text
    .replace(/\r?\n/g, " ")
    .replace(/([\\`*|<>])/g, "\\$1");
}

function mdTable(head: string[], rows: string[][]): string {
  return [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

export function renderMarkdown(input: RunRecord): string {
  const r = redactedRecord(input);
  const v = verdictOf(r);
  const out: string[] = [];

  out.push(`# ${scenarioTitle(r.scenario)} ${md(r.runId)}: ${v.headline}`, "");
  for (const reason of v.reasons) out.push(`- ${md(reason)}`);
  if (v.reasons.length) out.push("");

  // Forced runs are never quiet.
  const forced = forcedSteps(r);
  if (r.forced || forced.length) {
    const where = forced.length ? ` at ${forced.map((s) => `**${md(s.name)}**`).join(", ")}` : "";
    out.push(`> **⚠ FORCED RUN**: a failed gate was overridden with --force${where}.`, "> The recovered data was not proven correct before the run went on.", "");
  }
  if (r.dryRun) out.push("> **DRY RUN**: nothing was changed; times are estimates of the checks only.", "");

  const elapsed = offsetOf(r, r.finishedAt);
  out.push(
    mdTable(
      ["", ""],
      [
        ["scenario", `${md(r.scenario)} (objectives: ${md(r.objectiveScenario)})`],
        ["environment", `${md(r.environment)} (engine: ${r.engine})`],
        ["status", r.status],
        ["declared", formatTime(r.declaredAt)],
        ["outage began", `${formatTime(r.outageAt)} (${outageRelation(r)})`],
        ["finished", r.finishedAt ? `${formatTime(r.finishedAt)} (after ${formatSeconds(elapsed ?? 0)})` : "not finished"],
        ...provenanceRows(r).map(([k, x]): [string, string] => [k, md(x)]),
      ],
    ),
    "",
  );

  out.push("## Objectives", "");
  for (const [name, m] of [["RTO", r.measurements.rto], ["RPO", r.measurements.rpo]] as const) {
    out.push(`- **${name}** ${measurementLine(m)}  `, `  _${md(m.basis)}_`);
  }
  out.push("");

  if (r.error) {
    out.push("## Error", "", `**${md(r.error.code)}**: ${md(r.error.message)}`, "");
    if (r.error.hint) out.push(`hint: ${md(r.error.hint)}`, "");
  }

  out.push("## Steps", "");
  out.push(
    mdTable(
      ["#", "step", "start", "duration", "status", "attempts", "detail"],
      r.steps.map((s, i) => {
        const d = stepSeconds(s);
        const status = s.status === "failed" ? "**FAILED**" : s.warning ? `${s.status} **WARNING**` : s.status;
        return [
          String(i + 1),
          md(s.name),
          formatOffset(offsetOf(r, s.startedAt)),
          d === undefined ? "—" : formatSeconds(d),
          s.forced ? `${status} **FORCED**` : status,
          String(s.attempts),
          md(s.detail ?? ""),
        ];
      }),
    ),
    "",
  );

  out.push("## Verification", "");
  if (!r.verification) out.push("not run", "");
  else {
    const failed = r.verification.checks.filter((c) => !c.ok).length;
    out.push(r.verification.ok ? `**PASSED** (${r.verification.checks.length} checks)` : `**FAILED** (${failed} of ${r.verification.checks.length} checks failed)`, "");
    out.push(
      mdTable(
        ["check", "result", "duration", "detail"],
        r.verification.checks.map((c) => [md(c.name), c.ok ? "PASS" : "**FAIL**", formatSeconds(c.durationMs / 1000), md(c.detail)]),
      ),
      "",
    );
  }

  out.push("## Notes", "");
  if (r.notes.length === 0) out.push("none", "");
  else out.push(...r.notes.map((n) => `- ${md(n)}`), "");

  const facts = Object.entries(r.facts);
  const options = Object.entries(r.options);
  if (facts.length || options.length) {
    out.push("## Details", "");
    if (options.length) out.push(mdTable(["option", "value"], options.map(([k, x]) => [md(k), md(inlineJson(x))])), "");
    // Short values in a table; long ones (fingerprints, manifests) as indented JSON blocks, never one huge cell.
    const short = facts.filter(([, x]) => inlineJson(x).length <= INLINE_JSON_MAX);
    const long = facts.filter(([, x]) => inlineJson(x).length > INLINE_JSON_MAX);
    if (short.length) out.push(mdTable(["fact", "value"], short.map(([k, x]) => [md(k), md(inlineJson(x))])), "");
    for (const [k, x] of long) out.push(`### ${md(k)}`, "", "```json", JSON.stringify(x, null, 2).replace(/```/g, "`\u200b``"), "```", "");
  }
  return out.join("\n");
}
