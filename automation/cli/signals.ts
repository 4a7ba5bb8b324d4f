// The entry point's handler for the stop signals (core/interrupt.ts), one for the process. The
// first signal goes to what is under way (a run, a restore), which stops and says so; with nothing
// subscribed, the terminal is given back, the children this process started are ended and it exits.
// A second signal while a run cleans up is said and otherwise ignored (the journal already says
// "interrupted"; the clean-up removes a drill's site and releases the lease); a third exits at
// once, leaving the rest to `dr lab status` and the lease's dead-holder takeover.
import { deliverInterrupt, STOP_SIGNALS } from "../core/interrupt";
import { errorCatalogue } from "../core/errors";
import { exitOf } from "../core/exit-status";
import type { Output } from "../core/output";
import { runningChildren } from "../system/exec";
import { endChildTrees } from "../system/leftovers";

const EXIT = exitOf(errorCatalogue.INTERRUPTED.class);
let installed = false;

export function installSignalHandlers(out: Output, command: string): void {
  if (installed) return;
  installed = true;
  let count = 0;
  const handle = (signal: NodeJS.Signals) => {
    count += 1;
    if (deliverInterrupt(signal)) return;
    if (count === 1) {
      out.interrupted(`dr ${command} by ${signal}`, "nothing was journaled: run it again");
      void endChildTrees(runningChildren(), 2000).finally(() => process.exit(EXIT));
    } else if (count === 2) {
      out.interrupted(`${signal} during the clean-up: it goes on`, "one more signal exits at once (a run's journal already says interrupted)");
    } else {
      out.stopProgress();
      process.exit(EXIT);
    }
  };
  for (const s of STOP_SIGNALS) process.on(s, handle);
}
