// What `dr` exits with: one status per class. A script or a monitor branches on the status, and
// reads the error's code (stderr, or `error.code` in --json) for the detail. The verdicts of a
// command that worked (health, status, a check, a run's objectives) never share a status with
// an error: 0/1/2 stay the monitoring convention (ok, warning, critical), so a usage error is 64
// (sysexits' EX_USAGE), not 2. The README's table and `dr --help` are printed from here.

export interface ExitClass {
  exit: number;
  /** A verdict of a command that ran (not an error: no error code goes with it). */
  verdict?: true;
  meaning: string;
}

export const exitClasses = {
  ok: { exit: 0, verdict: true, meaning: "done; healthy; no problem found" },
  warning: { exit: 1, verdict: true, meaning: "health, status or a check found something to look at" },
  critical: { exit: 2, verdict: true, meaning: "health, status or a check found something critical" },
  dependency: { exit: 3, meaning: "a program, package, privilege or the lab this needs is missing" },
  unreachable: { exit: 4, meaning: "a site, the object store or DNS did not answer (retry may help)" },
  refused: { exit: 5, meaning: "refused: the state does not allow it (nothing changed)" },
  failed: { exit: 6, meaning: "the operation failed (backup, restore, pgBackRest, a query, Pulumi)" },
  timeout: { exit: 7, meaning: "a bounded wait ran out" },
  locked: { exit: 8, meaning: "another run, update or lock holds what this needs" },
  gate: { exit: 9, meaning: "verification failed: a restored copy does not match its source (the gate, dr verify)" },
  fellBack: { exit: 10, verdict: true, meaning: "the drill succeeded on an older set: the newest would not have restored" },
  objectiveMissed: { exit: 11, verdict: true, meaning: "the run succeeded but missed its RTO or RPO objective" },
  cancelled: { exit: 12, meaning: "not confirmed: declined, or no terminal and no --yes" },
  usage: { exit: 64, meaning: "wrong command line, configuration, or a name that does not exist" },
  internal: { exit: 70, meaning: "a bug or an unexpected state (rerun with --verbose)" },
  interrupted: { exit: 130, meaning: "stopped by Ctrl-C or SIGTERM" },
} as const satisfies Record<string, ExitClass>;

export type ExitClassName = keyof typeof exitClasses;

/** The status of a class. */
export function exitOf(name: ExitClassName): number {
  return exitClasses[name].exit;
}

/** A health-style verdict's status (ok 0, warning 1, critical 2). */
export function verdictExit(verdict: "ok" | "info" | "warning" | "critical"): number {
  return exitOf(verdict === "info" ? "ok" : verdict);
}

/** Rows of the table: status, class, meaning, the error codes in that class (`codesOf`). */
export function exitTableRows(codesOf: (name: ExitClassName) => string[]): { exit: number; name: string; meaning: string; codes: string[] }[] {
  return (Object.entries(exitClasses) as [ExitClassName, ExitClass][])
    .map(([name, c]) => ({ exit: c.exit, name: name.replace(/[A-Z]/g, (l) => `-${l.toLowerCase()}`), meaning: c.meaning, codes: codesOf(name) }))
    .sort((a, b) => a.exit - b.exit);
}
