// How commands talk to people and to scripts. Human mode: timed steps with a live progress
// display on stderr (only when it is a terminal), then a summary on stdout. JSON mode
// (--json): nothing but one JSON document on stdout. Everything printed is redacted.
import { SingleBar, Presets } from "cli-progress";
import Table from "cli-table3";
import { createColors } from "picocolors";
import prettyMs from "pretty-ms";
import prettyBytes from "pretty-bytes";
import { DrError } from "./errors";
import { redact, redactValue } from "./redact";

export interface StepRecord {
  label: string;
  startedAt: string;
  durationMs: number;
  ok: boolean;
  /** Done, with something that needs a look (shown as "!", not ✓). */
  warning?: boolean;
  detail?: string;
}

export interface OutputOptions {
  json: boolean;
  verbose?: boolean;
  /** Only the result, warnings and errors (--quiet). */
  quiet?: boolean;
  /** false: no colour (--no-color); NO_COLOR in the environment does the same. */
  color?: boolean;
  /** Streams (tests capture them). */
  stdout?: NodeJS.WritableStream & { isTTY?: boolean };
  stderr?: NodeJS.WritableStream & { isTTY?: boolean };
}

export class Output {
  readonly json: boolean;
  readonly verbose: boolean;
  readonly steps: StepRecord[] = [];
  private readonly out: NodeJS.WritableStream & { isTTY?: boolean };
  private readonly err: NodeJS.WritableStream & { isTTY?: boolean };
  private bar?: SingleBar;
  private barLabel = "";
  /** How the live display was started, to start it again after a pause. */
  private barArgs?: { format: string; total: number; key: string };
  /** Colour only on a terminal (picocolors alone would also colour when CI is set). */
  private readonly pc: ReturnType<typeof createColors>;
  private readonly quiet: boolean;

  constructor(opts: OutputOptions) {
    this.json = opts.json;
    this.verbose = opts.verbose ?? false;
    this.out = opts.stdout ?? process.stdout;
    this.err = opts.stderr ?? process.stderr;
    this.quiet = opts.quiet ?? false;
    this.pc = createColors(opts.color !== false && this.err.isTTY === true && !("NO_COLOR" in process.env));
  }

  private get live(): boolean {
    return !this.json && !this.quiet && this.err.isTTY === true;
  }

  /** A line of information for people (stderr, so stdout stays the result). */
  info(text: string): void {
    if (!this.json && !this.quiet) this.err.write(redact(text) + "\n");
  }

  debug(text: string): void {
    if (this.verbose && !this.json) this.err.write(this.pc.dim(redact(text)) + "\n");
  }

  warn(text: string): void {
    if (!this.json) this.err.write(this.pc.yellow("warning: ") + redact(text) + "\n");
  }

  /**
   * Starts a timed step; call the returned function when it ends. Every step is recorded with
   * its duration, so a command can report exactly what it did and how long each part took.
   */
  step(label: string): (detail?: string, ok?: boolean | "warning") => void {
    const started = Date.now();
    const startedAt = new Date(started).toISOString();
    if (!this.json && !this.quiet && !this.live) this.err.write(this.pc.cyan("… ") + redact(label) + "\n");
    // On a terminal, a live line with the elapsed time until the step ends (or a real
    // progress bar replaces it, see progress()).
    if (this.live) this.startBar(`${this.pc.cyan("…")} ${redact(label)} {duration_formatted}`, 1, 0, label);
    return (detail?: string, outcome: boolean | "warning" = true) => {
      this.stopProgress();
      const durationMs = Date.now() - started;
      const ok = outcome !== false;
      this.steps.push({ label, startedAt, durationMs, ok, ...(outcome === "warning" ? { warning: true } : {}), detail: detail === undefined ? undefined : redact(detail) });
      if (!this.json && (!this.quiet || !ok)) {
        const mark = outcome === "warning" ? this.pc.yellow("!") : ok ? this.pc.green("✓") : this.pc.red("✗");
        const extra = detail ? this.pc.dim(` — ${redact(detail)}`) : "";
        this.err.write(`${mark} ${redact(label)} ${this.pc.dim(`(${formatMs(durationMs)})`)}${extra}\n`);
      }
    };
  }

  /** Runs `fn` as a step; marks it failed and rethrows if it throws. */
  async timed<T>(label: string, fn: () => Promise<T>, detail?: (r: T) => string | undefined): Promise<T> {
    const done = this.step(label);
    try {
      const r = await fn();
      done(detail?.(r));
      return r;
    } catch (e) {
      done(e instanceof Error ? e.message.split("\n")[0] : String(e), false);
      throw e;
    }
  }

  /** A progress bar for a long step (terminal only; silent otherwise). */
  progress(done: number, total: number, label: string): void {
    if (!this.live || total <= 0) return;
    if (!this.bar || this.barLabel !== `progress:${label}`) {
      this.startBar(`  ${label} [{bar}] {percentage}% | {value}/{total} | eta {eta_formatted}`, total, done, `progress:${label}`);
    } else this.bar.update(done);
  }

  /**
   * Runs `fn` (a question to a person) with the live display stopped and the cursor shown: a bar
   * redrawn five times a second would overwrite the question. The display comes back after.
   */
  async paused<T>(fn: () => Promise<T>): Promise<T> {
    const was = this.bar && this.barArgs ? { ...this.barArgs, value: this.bar.getProgress() * this.barArgs.total } : undefined;
    this.stopProgress();
    try {
      return await fn();
    } finally {
      if (was && this.live) this.startBar(was.format, was.total, was.value, was.key);
    }
  }

  private startBar(format: string, total: number, value: number, key: string): void {
    this.stopProgress();
    this.barLabel = key;
    this.barArgs = { format, total, key };
    this.bar = new SingleBar({ format, stream: this.err, hideCursor: true, clearOnComplete: true, fps: 5 }, Presets.shades_classic);
    this.bar.start(total, value);
  }

  stopProgress(): void {
    if (this.bar) {
      this.bar.stop();
      this.bar = undefined;
    }
  }

  /** The command's result: a JSON document, or a rendering for people. */
  result(value: unknown, human?: () => string): void {
    this.stopProgress();
    if (this.json) this.out.write(JSON.stringify(redactValue(value), null, 2) + "\n");
    else if (human) this.out.write(redact(human()) + "\n");
  }

  /**
   * Says that a signal stopped the command: one line and its hint, on stderr also with --json
   * (stdout keeps its one document), after the live display has given the terminal back.
   */
  interrupted(what: string, hint?: string): void {
    this.stopProgress();
    this.err.write(`${this.pc.red("interrupted")}: ${redact(what)}\n`);
    if (hint) this.err.write(`${this.pc.bold("hint:")} ${redact(hint)}\n`);
  }

  /**
   * Prints a failure: one line, a hint, the code. With --json, the one failure document
   * (failureDocument); `context` names the run and carries the command's own document, if any.
   */
  failure(err: DrError, context: FailureContext = {}): void {
    this.stopProgress();
    if (this.json) {
      this.out.write(JSON.stringify(redactValue(failureDocument(err, { steps: this.steps.length ? this.steps : undefined, ...context })), null, 2) + "\n");
      return;
    }
    this.err.write(`${this.pc.red("error")}${this.pc.dim(`[${err.code}]`)}: ${err.message}\n`);
    if (err.hint) this.err.write(`${this.pc.bold("hint:")} ${err.hint}\n`);
  }
}

export interface FailureContext {
  /** The run that failed (dr resume / dr report show take it). */
  runId?: string;
  /** The command's own document, when it produced one (a failed run's record, a verification). */
  result?: unknown;
  /** The timed steps done before the failure. */
  steps?: StepRecord[];
}

/**
 * The --json envelope. Success: the command's document, as it is. Failure (any exit that is
 * not a verdict): `{ error: { code, message, hint, exit, retryable, details? }, runId?, result?,
 * steps? }`. A script tells them apart by the exit status, or by `error.exit`, which only a
 * failure carries (a failed run's own report, from `dr report show`, has an `error` without it).
 */
export function failureDocument(err: DrError, context: FailureContext = {}): Record<string, unknown> {
  const { runId, result, steps } = context;
  return { error: err.toJSON(), ...(runId ? { runId } : {}), ...(result === undefined ? {} : { result }), ...(steps ? { steps } : {}) };
}

/** Columns to fit: the terminal's width, else $COLUMNS, else 100 (logs and pipes). */
export function outputWidth(stream: { isTTY?: boolean; columns?: number } = process.stdout): number {
  if (stream.isTTY && stream.columns) return stream.columns;
  const env = Number(process.env.COLUMNS);
  return Number.isInteger(env) && env >= 40 ? env : 100;
}

/** No line between rows: a table of ten findings is ten lines, not twenty. */
const NO_ROW_LINES = { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" };

/** Narrowest a column is squeezed to (its cells wrap inside it). */
const MIN_COLUMN = 8;

/**
 * Column widths (with cli-table3's padding) that fit `width`: each column's natural width, then
 * the widest narrowed a step at a time, first no narrower than its longest word (text wraps
 * between words; run ids and paths stay whole), then, if still too wide, down to the minimum.
 */
export function fitColumns(natural: number[], width: number, longestWord: number[] = natural.map(() => 0)): number[] {
  const widths = natural.map((w) => w + 2);
  let excess = widths.reduce((a, b) => a + b, 0) + widths.length + 1 - width;
  for (const floor of [(i: number) => Math.max(MIN_COLUMN, longestWord[i] + 2), () => MIN_COLUMN]) {
    while (excess > 0) {
      const room = widths.map((w, i) => w - floor(i));
      const i = room.indexOf(Math.max(...room));
      if (room[i] <= 0) break;
      widths[i] -= 1;
      excess -= 1;
    }
  }
  return widths;
}

/** A word wider than its column (a path, a WAL file name) is broken onto lines, not cut with "…". */
function breakLongWords(text: string, max: number): string {
  return text.replace(new RegExp(`\\S{${max + 1},}`, "g"), (w) => (w.match(new RegExp(`.{1,${max}}`, "g")) ?? [w]).join("\n"));
}

/** A plain table (no colour codes, so logs and pipes read the same as a terminal), sized to `width`. */
export function table(head: string[], rows: (string | number | undefined)[][], width = outputWidth()): string {
  const cells = rows.map((r) => r.map((c) => (c === undefined ? "" : String(c))));
  const all = head.some(Boolean) ? [head, ...cells] : cells;
  const columns = Math.max(0, ...all.map((r) => r.length));
  const natural = Array.from({ length: columns }, (_, i) => Math.max(1, ...all.map((r) => Math.max(0, ...(r[i] ?? "").split("\n").map((l) => [...l].length)))));
  const words = Array.from({ length: columns }, (_, i) => Math.max(0, ...all.flatMap((r) => (r[i] ?? "").split(/\s+/).map((w) => [...w].length))));
  const colWidths = fitColumns(natural, width, words);
  const t = new Table({ head: head.some(Boolean) ? head : [], style: { head: [], border: [] }, chars: NO_ROW_LINES, colWidths, wordWrap: true });
  for (const r of cells) t.push(r.map((c, i) => breakLongWords(c, colWidths[i] - 2)));
  return t.toString();
}

/** Every duration in output and reports: "950ms", "17.1s", "2m", "8h" (never "1m60s"). */
export function formatMs(ms: number): string {
  return prettyMs(Math.max(0, ms), ms < 1000 ? {} : ms < 60_000 ? { secondsDecimalDigits: 1 } : { secondsDecimalDigits: 0, unitCount: 2 });
}

/** Every size in output and reports, in binary units (KiB, MiB, GiB) like pgBackRest's and PostgreSQL's. */
export function formatBytes(n: number | undefined): string {
  if (n === undefined) return "";
  return prettyBytes(n, { binary: true, maximumFractionDigits: 1 });
}
