// One bounded wait for the whole toolkit (Style 6: waits poll a real signal with a bound).
// Each caller keeps its own probe, messages, bounds and error codes; the loop, the clock and
// the deadline live here once. The probe answers `undefined` for "not yet" and anything else
// for "done"; what it answered is what the wait returns.
import { DrError } from "./errors";

export interface PollOptions {
  /** What is awaited, for the default TIMEOUT message ("<what> not within 10 s"). */
  what: string;
  /** The bound: after this much time (measured by `now`) without an answer, the wait gives up. */
  timeoutMs: number;
  /** Pause between probes; a function of the attempt number (0 first) gives a backoff. */
  intervalMs: number | ((attempt: number) => number);
  /** Pause once before the first probe (when the signal cannot be there at once). Default false. */
  delayFirst?: boolean;
  /**
   * A probe that throws: "propagate" (default) ends the wait with that error; "retry" counts as
   * "not yet" and the last such error is handed to `onTimeout`.
   */
  probeErrors?: "propagate" | "retry";
  /**
   * The error for a wait that ran out (may clean up first). Default: DrError TIMEOUT naming `what`.
   * With `giveUp: "return"` it is not called: the wait answers `undefined` instead.
   */
  onTimeout?: (last: PollTimedOut) => Error | Promise<Error>;
  /** "throw" (default) or "return": whether running out is an error or an answer the caller reads. */
  giveUp?: "throw" | "return";
  /** Injectable for tests: milliseconds now (default Date.now) and the pause (default setTimeout). */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface PollTimedOut {
  /** Time from the start of the wait to the last probe. */
  waitedMs: number;
  attempts: number;
  /** The last error a probe threw (with probeErrors "retry"). */
  error?: unknown;
}

/** What a probe is told: how long the wait has run, so it can bound its own call by what is left. */
export interface PollAttempt {
  attempt: number;
  elapsedMs: number;
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Probes until it answers, the bound runs out, or (by default) the probe throws. The probe runs at
 * least once, and the bound is checked right after each probe, so the answer a timeout reports is
 * the last one seen (no pause is wasted past the bound).
 */
export async function pollUntil<T>(probe: (at: PollAttempt) => Promise<T | undefined>, opts: PollOptions & { giveUp: "return" }): Promise<T | undefined>;
export async function pollUntil<T>(probe: (at: PollAttempt) => Promise<T | undefined>, opts: PollOptions): Promise<T>;
export async function pollUntil<T>(probe: (at: PollAttempt) => Promise<T | undefined>, opts: PollOptions): Promise<T | undefined> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? pause;
  const interval = typeof opts.intervalMs === "function" ? opts.intervalMs : () => opts.intervalMs as number;
  const started = now();
  if (opts.delayFirst) await sleep(interval(0));
  let error: unknown;
  for (let attempt = 0; ; attempt++) {
    let answer: T | undefined;
    try {
      answer = await probe({ attempt, elapsedMs: now() - started });
    } catch (e) {
      if (opts.probeErrors !== "retry") throw e;
      error = e;
    }
    if (answer !== undefined) return answer;
    const waitedMs = now() - started;
    if (waitedMs >= opts.timeoutMs) {
      if (opts.giveUp === "return") return undefined;
      throw opts.onTimeout
        ? await opts.onTimeout({ waitedMs, attempts: attempt + 1, error })
        : new DrError("TIMEOUT", `${opts.what} not within ${Math.round(opts.timeoutMs / 1000)} s`, {
            hint: "the wait is bounded; look at what it waited for before trying again",
            ...(error !== undefined ? { cause: error } : {}),
          });
    }
    await sleep(interval(attempt));
  }
}
