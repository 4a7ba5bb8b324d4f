// A run's side of a stop signal (core/interrupt.ts). The signal is acted on at once: the live
// display goes, the journal says "interrupted" before anything else happens (a second signal may
// end the process during the clean-up). The step under way is then cut short: the children the
// run started (pgBackRest, pg_ctl, psql…) are ended, and the step is given a bounded time to
// notice and settle (a restore releases its target lock on the way out) before the clean-up
// steps run. A step that does not settle is left behind: the process exits once the run is over.
import { onInterrupt } from "../core/interrupt";
import { runningChildren } from "../system/exec";
import { endChildTrees } from "../system/leftovers";

/** How long a step cut short may take to settle before the clean-up goes ahead without it. */
const SETTLE_MS = 20_000;

export class RunInterruption {
  signal?: NodeJS.Signals;
  /** Resolves on the first stop signal (the runner races the step under way against it). */
  readonly arrived: Promise<"interrupted">;
  private readonly off: () => void;

  constructor(onSignal: (signal: NodeJS.Signals) => void) {
    let wake: () => void = () => undefined;
    this.arrived = new Promise((resolve) => (wake = () => resolve("interrupted")));
    this.off = onInterrupt((signal) => {
      this.signal = signal;
      onSignal(signal);
      wake();
    });
  }

  /**
   * Ends what the step started and waits (bounded) for the step itself to settle. Returns what
   * was ended, one line each, for the run's notes.
   */
  async cutShort(step: Promise<unknown>): Promise<string[]> {
    const ended = await endChildTrees(runningChildren());
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([step.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, SETTLE_MS)))]);
    clearTimeout(timer);
    return ended;
  }

  dispose(): void {
    this.off();
  }
}
