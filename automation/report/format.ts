// Words and numbers shared by the three renderings: durations, offsets from the declaration,
// timestamps, scenario titles and the measurement lines, so Markdown and HTML never disagree.
import { formatDuration } from "../config/common";
import type { Measurement, RunRecord, RunScenario, StepRecord } from "../core/run-record";

const scenarioTitles: Record<RunScenario, string> = {
  datacenter: "Datacenter failover",
  hardware: "Hardware failover",
  drill: "DR drill",
  deletion: "Table recovery",
  security: "Security incident recovery",
  corruption: "Corruption recovery",
  switchover: "Switchover",
  reprotect: "Reprotect",
};

export function scenarioTitle(s: RunScenario): string {
  return scenarioTitles[s] ?? s;
}

/** "850ms", "12.3s", "4m2s", "1h30m": short enough for a table cell. */
export function formatSeconds(seconds: number): string {
  if (seconds < 0) return `-${formatSeconds(-seconds)}`;
  if (seconds === 0) return "0s";
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  return formatDuration(seconds);
}

/** "2025-03-14 03:12:05Z" (UTC, seconds): what an operator reads; undefined stays "—". */
export function formatTime(iso: string | undefined): string {
  if (!iso) return "—";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return new Date(t).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/** Seconds from the run's declaration to `iso` (undefined when unknown). */
export function offsetOf(record: RunRecord, iso: string | undefined): number | undefined {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  const d = Date.parse(record.declaredAt);
  if (Number.isNaN(t) || Number.isNaN(d)) return undefined;
  return (t - d) / 1000;
}

/** "+1m5s" from the declaration, or "—". */
export function formatOffset(seconds: number | undefined): string {
  if (seconds === undefined) return "—";
  return seconds < 0 ? formatSeconds(seconds) : `+${formatSeconds(seconds)}`;
}

/** A step's duration in seconds: recorded, else from its timestamps. */
export function stepSeconds(step: StepRecord): number | undefined {
  if (step.durationMs !== undefined) return step.durationMs / 1000;
  if (step.startedAt && step.finishedAt) return (Date.parse(step.finishedAt) - Date.parse(step.startedAt)) / 1000;
  return undefined;
}

/** The latest moment the record knows about: its end, else the last step event. */
export function asOfSeconds(record: RunRecord): number {
  const times = [record.finishedAt, ...record.steps.flatMap((s) => [s.startedAt, s.finishedAt])]
    .map((t) => offsetOf(record, t))
    .filter((t): t is number => t !== undefined);
  return Math.max(0, ...times);
}

/** Whether a measurement met its objective: the runner's word, else achieved ≤ objective. */
export function measurementPass(m: Measurement): boolean | undefined {
  if (m.pass !== undefined) return m.pass;
  return m.achieved === undefined ? undefined : m.achieved <= m.objective;
}

export function passWord(pass: boolean | undefined): "PASS" | "FAIL" | "NOT MEASURED" {
  return pass === undefined ? "NOT MEASURED" : pass ? "PASS" : "FAIL";
}

/** "achieved 1m42s, objective 8h — PASS". */
export function measurementLine(m: Measurement): string {
  const achieved = m.achieved === undefined ? "not measured" : `achieved ${formatSeconds(m.achieved)}`;
  return `${achieved}, objective ${formatSeconds(m.objective)} — ${passWord(measurementPass(m))}`;
}

/** The outage's start relative to the declaration, in words ("at declaration", "3m before"). */
export function outageRelation(record: RunRecord): string {
  const o = offsetOf(record, record.outageAt);
  // A drill's outage is the restore point it takes once declared (its RTO and RPO count from
  // it): named, with the exact offset, never rounded to "at declaration".
  if (record.scenario === "drill" && o !== undefined && o > 0) return `the drill's restore point, ${formatSeconds(o)} after declaration`;
  if (o === undefined || Math.abs(o) < 0.5) return "at declaration";
  return o < 0 ? `${formatSeconds(-o)} before declaration` : `${formatSeconds(o)} after declaration`;
}

/** Steps that were pushed past a failed gate with --force. */
export function forcedSteps(record: RunRecord): StepRecord[] {
  return record.steps.filter((s) => s.forced);
}

/** A JSON value on one line for fact/option tables. */
export function inlineJson(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v) ?? "undefined";
}

/** Who ran it, where and with what, as label/value rows (none for a record written before they were kept). */
export function provenanceRows(r: RunRecord): [string, string][] {
  const p = r.provenance;
  if (!p) return [];
  return [
    ["run by", p.operator],
    ["fp-dr", `${p.toolVersion}${p.commit ? ` (commit ${p.commit})` : ""}`],
    ["PostgreSQL", p.postgres ?? "not found on the machine that ran it"],
    ["pgBackRest", p.pgbackrest ?? "not found on the machine that ran it"],
  ];
}

/** Values longer than this leave the details table for a block of their own. */
export const INLINE_JSON_MAX = 160;
