// The signals that stop a command: SIGINT (Ctrl-C), SIGTERM (kill, systemd) and SIGHUP (the
// terminal went away). Node's default for them is to die on the spot, leaving the live display's
// cursor hidden, the journal saying "running", the lease held and the run's children and drill
// site behind. The entry point installs one handler for the three (cli/signals.ts); whatever is
// under way subscribes here: a run records itself interrupted and cleans up (plans/runner.ts), a
// restore ends its pgBackRest (restore/files.ts). With nobody subscribed, the entry's fallback
// restores the terminal and exits. Only the first signal interrupts; the entry decides what a
// second one does while the clean-up runs.

export const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

export type Listener = (signal: NodeJS.Signals) => void;

const listeners = new Set<Listener>();
let received: NodeJS.Signals | undefined;

/** Calls `fn` on the first stop signal; returns the function that unsubscribes it. */
export function onInterrupt(fn: Listener): () => void {
  listeners.add(fn);
  return () => void listeners.delete(fn);
}

/** The signal that interrupted this process, if one did. */
export function interruptedBy(): NodeJS.Signals | undefined {
  return received;
}

/**
 * Delivers a signal to the subscribers: true when someone took it (the first signal, with a
 * subscriber), false when the caller must act itself (nobody listens, or it is a repeat).
 */
export function deliverInterrupt(signal: NodeJS.Signals): boolean {
  if (received) return false;
  received = signal;
  if (listeners.size === 0) return false;
  for (const fn of [...listeners]) fn(signal);
  return true;
}
