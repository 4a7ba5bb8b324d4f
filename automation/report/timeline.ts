// The timeline chart: one bar per step on a time axis that starts at the run's declaration,
// coloured by status, with a vertical line at the RTO budget (the objective) and one at the
// achieved RTO. Inline SVG with presentation attributes only: no scripts, fonts or links.
import type { RunRecord, StepRecord, StepStatus } from "../core/run-record";
import { asOfSeconds, formatSeconds, measurementPass, offsetOf, outageRelation, stepSeconds } from "./format";
import { esc } from "./html-escape";

export const statusColours: Record<StepStatus, string> = {
  done: "#2e7d32",
  failed: "#c62828",
  running: "#1565c0",
  skipped: "#8d99a6",
  pending: "#cfd8dc",
};
export const forcedColour = "#e65100";
export const budgetColour = "#37474f";

export interface Tick {
  at: number;
  label: string;
}

const tickSteps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

/** Round ticks for a domain of `domain` seconds, labelled in s, min or h (at most ~8). */
export function axisTicks(domain: number): Tick[] {
  const step = tickSteps.find((s) => domain / s <= 8) ?? Math.ceil(domain / 8 / 86400) * 86400;
  const unit = step < 60 ? { div: 1, name: "s" } : step < 3600 ? { div: 60, name: "min" } : { div: 3600, name: "h" };
  const ticks: Tick[] = [];
  for (let at = 0; at <= domain + 1e-9; at += step) {
    ticks.push({ at, label: at === 0 ? "0" : `${Math.round((at / unit.div) * 10) / 10} ${unit.name}` });
  }
  return ticks;
}

interface Bar {
  step: StepRecord;
  start: number;
  end: number;
  /** No start time: drawn as a thin marker where the previous step ended. */
  placeholder: boolean;
}

/** Where each step sits on the axis (seconds from declaration). */
export function stepBars(record: RunRecord): Bar[] {
  const asOf = asOfSeconds(record);
  let cursor = 0;
  return record.steps.map((step) => {
    const start = offsetOf(record, step.startedAt);
    if (start === undefined) return { step, start: cursor, end: cursor, placeholder: true };
    const took = stepSeconds(step);
    const end = offsetOf(record, step.finishedAt) ?? (took !== undefined ? start + took : step.status === "running" ? asOf : start);
    cursor = Math.max(cursor, end);
    return { step, start, end, placeholder: false };
  });
}

/**
 * The chart's time domain. The budget is drawn in scale unless it is far beyond the run (an 8 h
 * objective against a 2 min drill), where it would crush every bar: then it is an arrow at the
 * right edge, labelled, and the bars keep the width.
 */
export function timelineDomain(record: RunRecord, bars: Bar[]): { domain: number; budgetInScale: boolean } {
  const achieved = record.measurements.rto.achieved ?? 0;
  const span = Math.max(asOfSeconds(record), achieved, ...bars.map((b) => b.end), 1);
  const objective = record.measurements.rto.objective;
  const budgetInScale = objective <= span * 3;
  return { domain: budgetInScale ? Math.max(span, objective) * 1.04 : span * 1.08, budgetInScale };
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, max - 1) + "…";
}

/** Width of a 13px label, generously (system-ui averages about 7 px a character). */
export function textWidth(text: string): number {
  return text.length * 7.5;
}

/**
 * Where a bar's label goes: right of the bar, else left of it while that stays clear of the step
 * names (left of x0), else inside the bar's right end. A failed step spanning the whole axis
 * once had its label drawn over its own name.
 */
export function labelPlace(bx: number, bw: number, width: number, x0: number, W: number): { x: number; anchor: "start" | "end"; inside: boolean } {
  if (bx + bw + 8 + width < W) return { x: bx + bw + 8, anchor: "start", inside: false };
  if (bx - 8 - width >= x0) return { x: bx - 8, anchor: "end", inside: false };
  return { x: bx + bw - 6, anchor: "end", inside: true };
}

/** The moments a run was picked up again (`dr resume`), from its notes. */
export function resumedAt(record: RunRecord): number[] {
  return record.notes.flatMap((n) => {
    const m = /^resumed at (\S+)/.exec(n);
    const t = m ? offsetOf(record, m[1]) : undefined;
    return t === undefined ? [] : [t];
  });
}

/** The chart as an inline `<svg>` element (the record must already be redacted). */
export function renderTimeline(record: RunRecord): string {
  const bars = stepBars(record);
  const { domain, budgetInScale } = timelineDomain(record, bars);
  const W = 1000;
  const labelRight = 292;
  const x0 = 304;
  const x1 = W - 26;
  const top = 60;
  const rowH = 32;
  const barH = 20;
  const axisY = top + bars.length * rowH + 4;
  const H = axisY + 52;
  const x = (t: number) => x0 + (Math.min(Math.max(t, 0), domain) / domain) * (x1 - x0);
  const font = `font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"`;
  // A white halo keeps labels readable where they cross a grid line, a bar or a marker.
  const halo = `stroke="#ffffff" stroke-width="4" stroke-linejoin="round" paint-order="stroke"`;
  const parts: string[] = [];

  parts.push(
    `<svg class="timeline" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="timeline of the run's steps against the RTO budget" ${font}>`,
    `<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#eceff1"/><line x1="0" y1="0" x2="0" y2="6" stroke="#90a4ae" stroke-width="3"/></pattern></defs>`,
  );

  // Rows and grid.
  bars.forEach((_, i) => {
    if (i % 2 === 0) parts.push(`<rect class="row" x="0" y="${top + i * rowH}" width="${W}" height="${rowH}" fill="#f5f7f9"/>`);
  });
  for (const t of axisTicks(domain)) {
    const tx = x(t.at).toFixed(1);
    parts.push(
      `<line x1="${tx}" y1="${top - 6}" x2="${tx}" y2="${axisY}" stroke="#dde3e8" stroke-width="1"/>`,
      `<line x1="${tx}" y1="${axisY}" x2="${tx}" y2="${axisY + 6}" stroke="#455a64" stroke-width="1.5"/>`,
      `<text x="${tx}" y="${axisY + 22}" font-size="14" fill="#37474f" text-anchor="middle">${esc(t.label)}</text>`,
    );
  }
  parts.push(
    `<line x1="${x0}" y1="${axisY}" x2="${x1}" y2="${axisY}" stroke="#455a64" stroke-width="1.5"/>`,
    `<text x="${(x0 + x1) / 2}" y="${axisY + 44}" font-size="13" fill="#546e7a" text-anchor="middle">time since the run was declared (outage began ${esc(outageRelation(record))})${record.finishedAt ? "" : esc(`; as of the last recorded event, +${formatSeconds(asOfSeconds(record))}`)}</text>`,
  );

  // One bar per step.
  bars.forEach((b, i) => {
    const y = top + i * rowH + (rowH - barH) / 2;
    const s = b.step;
    const took = stepSeconds(s);
    const label = `${i + 1}. ${s.name}`;
    parts.push(`<text x="${labelRight}" y="${y + barH / 2 + 5}" font-size="14" fill="#263238" text-anchor="end">${esc(truncate(label, 38))}<title>${esc(label)}</title></text>`);
    const bx = x(b.start);
    const bw = b.placeholder ? 4 : Math.max(x(b.end) - bx, 3);
    const fill = s.status === "pending" || s.status === "skipped" ? "url(#hatch)" : statusColours[s.status];
    const stroke = s.forced ? ` stroke="${forcedColour}" stroke-width="4"` : s.status === "pending" || s.status === "skipped" ? ` stroke="${statusColours[s.status]}" stroke-width="1"` : "";
    const tip = [s.name, s.status, took === undefined ? undefined : formatSeconds(took), s.forced ? "FORCED" : undefined, s.detail].filter(Boolean).join(" — ");
    parts.push(
      `<rect class="bar bar-${s.status}${s.forced ? " bar-forced" : ""}" data-step="${esc(s.id)}" x="${bx.toFixed(1)}" y="${y}" width="${bw.toFixed(1)}" height="${barH}" rx="3" fill="${fill}"${stroke}><title>${esc(tip)}</title></rect>`,
    );
    const words = [
      b.placeholder ? (s.status === "pending" ? "not started" : s.status) : took !== undefined ? formatSeconds(took) : s.status === "running" ? "running…" : "",
      s.status === "failed" ? "FAILED" : s.status === "skipped" && !b.placeholder ? "skipped" : "",
      s.forced ? "FORCED" : "",
    ].filter(Boolean);
    if (words.length) {
      const colour = s.forced ? forcedColour : s.status === "failed" ? statusColours.failed : "#37474f";
      const text = words.join("  ");
      const place = labelPlace(bx, bw, textWidth(text), x0, W);
      // Inside a long bar (no room either side): white on the bar, never over the step's name.
      const paint = place.inside ? `fill="#ffffff"` : `fill="${colour}" ${halo}`;
      parts.push(
        `<text class="bar-label" x="${place.x.toFixed(1)}" y="${y + barH / 2 + 5}" font-size="13" font-weight="${s.status === "failed" || s.forced ? 700 : 400}" ${paint} text-anchor="${place.anchor}">${esc(text)}</text>`,
      );
    }
  });

  // A resumed run: the time nothing ran (the process was gone) is marked, not a bare gap.
  for (const t of resumedAt(record)) {
    const idle = Math.max(0, ...bars.filter((b) => !b.placeholder && b.end <= t).map((b) => b.end));
    const gx = x(idle);
    const rx = x(t);
    parts.push(
      `<rect class="resume-gap" x="${gx.toFixed(1)}" y="${top}" width="${Math.max(rx - gx, 2).toFixed(1)}" height="${axisY - top}" fill="#fff3e0" opacity="0.8"/>`,
      `<line class="resumed-line" x1="${rx.toFixed(1)}" y1="${top}" x2="${rx.toFixed(1)}" y2="${axisY}" stroke="${forcedColour}" stroke-width="2" stroke-dasharray="2 3"/>`,
      `<text x="${(rx + 4).toFixed(1)}" y="${top + 14}" font-size="12" fill="${forcedColour}" ${halo}>resumed (${esc(formatSeconds(t - idle))} stopped)</text>`,
    );
  }

  // The budget and what was achieved.
  const rto = record.measurements.rto;
  const markerLabel = (lx: number, y: number, text: string, colour: string) => {
    const anchorEnd = lx > x1 - 220;
    return `<text x="${(anchorEnd ? lx - 6 : lx + 6).toFixed(1)}" y="${y}" font-size="14" font-weight="700" fill="${colour}" text-anchor="${anchorEnd ? "end" : "start"}" ${halo}>${esc(text)}</text>`;
  };
  const bxLine = budgetInScale ? x(rto.objective) : x1;
  parts.push(
    `<line class="budget-line${budgetInScale ? "" : " off-scale"}" x1="${bxLine.toFixed(1)}" y1="${top - 44}" x2="${bxLine.toFixed(1)}" y2="${axisY}" stroke="${budgetColour}" stroke-width="2.5" stroke-dasharray="8 5"/>`,
    markerLabel(bxLine, top - 32, budgetInScale ? `RTO budget ${formatSeconds(rto.objective)}` : `RTO budget ${formatSeconds(rto.objective)} (off scale) →`, budgetColour),
  );
  if (rto.achieved !== undefined) {
    const pass = measurementPass(rto);
    const colour = pass === false ? statusColours.failed : statusColours.done;
    const ax = x(rto.achieved);
    parts.push(
      `<line class="achieved-line" x1="${ax.toFixed(1)}" y1="${top - 22}" x2="${ax.toFixed(1)}" y2="${axisY}" stroke="${colour}" stroke-width="3"/>`,
      markerLabel(ax, top - 10, `RTO achieved ${formatSeconds(rto.achieved)}${pass === false ? " — FAIL" : pass ? " — PASS" : ""}`, colour),
    );
  }
  parts.push(`</svg>`);
  return parts.join("\n");
}
