// One error type for the whole toolkit. Every failure an operator can see carries a stable
// code (scripts and alerts match on it), a one-line lowercase message, a hint saying what to
// do next, and whether trying again can help. Causes are wrapped with context
// ("while restoring to secondary: …") instead of being swallowed.
import { clipLongWords } from "./clip";
import { redact } from "./redact";

/** The catalogue: code → exit status and whether a retry can help. Codes never change meaning. */
export const errorCatalogue = {
  CONFIG_INVALID: { exit: 2, retryable: false },
  USAGE: { exit: 2, retryable: false },
  NOT_ROOT_OR_SERVICE_USER: { exit: 2, retryable: false },
  DEPENDENCY_MISSING: { exit: 3, retryable: false },
  LAB_NOT_UP: { exit: 3, retryable: false },
  SITE_UNKNOWN: { exit: 2, retryable: false },
  SITE_UNREACHABLE: { exit: 4, retryable: true },
  /** A command run on a site's host (SSM Run Command) ended in failure. */
  HOST_COMMAND_FAILED: { exit: 6, retryable: false },
  /** dr host apply: the server rejected a rendered file (put back as it was). */
  HOST_CONFIG_REJECTED: { exit: 6, retryable: false },
  CLUSTER_START_FAILED: { exit: 4, retryable: true },
  CLUSTER_STOP_FAILED: { exit: 4, retryable: true },
  CLUSTER_RUNNING: { exit: 5, retryable: false },
  CLUSTER_NOT_EMPTY: { exit: 5, retryable: false },
  /** A restore into that data directory is running (its lock names a live holder). */
  RESTORE_TARGET_LOCKED: { exit: 5, retryable: true },
  /** A process other than the server writes into the data directory (a leftover restore). */
  FOREIGN_WRITER: { exit: 5, retryable: false },
  /** The destination's filesystem cannot hold the restore (set plus the WAL it replays). */
  SPACE_INSUFFICIENT: { exit: 5, retryable: false },
  STORE_UNREACHABLE: { exit: 4, retryable: true },
  REPO_UNKNOWN: { exit: 2, retryable: false },
  BACKUP_UNKNOWN: { exit: 5, retryable: false },
  BACKUP_NONE: { exit: 5, retryable: false },
  BACKUP_FAILED: { exit: 6, retryable: true },
  BACKUP_INVALID: { exit: 6, retryable: false },
  TARGET_BEFORE_WINDOW: { exit: 5, retryable: false },
  TARGET_IN_FUTURE: { exit: 5, retryable: false },
  TARGET_INVALID: { exit: 2, retryable: false },
  /** A restore point name or database the backup and its WAL do not hold. */
  TARGET_UNKNOWN: { exit: 5, retryable: false },
  DELETION_NOT_FOUND: { exit: 5, retryable: false },
  WAL_GAP: { exit: 6, retryable: false },
  ARCHIVE_FAILED: { exit: 6, retryable: true },
  RESTORE_FAILED: { exit: 6, retryable: false },
  STANDBY_UNUSABLE: { exit: 6, retryable: false },
  /** dr reprotect: the site to rebuild is unfenced and still writable (rebuilding it could lose writes). */
  SITE_WRITABLE: { exit: 6, retryable: false },
  RECOVERY_TIMEOUT: { exit: 6, retryable: true },
  PGBACKREST_FAILED: { exit: 6, retryable: false },
  PGBACKREST_LOCKED: { exit: 6, retryable: true },
  QUERY_FAILED: { exit: 4, retryable: false },
  /** A brief table lock was not granted within lock_timeout (a long transaction holds a conflicting one); already retried. */
  TABLES_LOCKED: { exit: 4, retryable: false },
  CORRUPTION_CHECK_FAILED: { exit: 4, retryable: false },
  SAMPLE_DATA_EXISTS: { exit: 5, retryable: false },
  DNS_FAILED: { exit: 4, retryable: true },
  /** Another Pulumi update holds the stack (or a killed one left its lock). */
  STACK_LOCKED: { exit: 4, retryable: true },
  /** The stack a site maps to does not exist in the backend. */
  STACK_NOT_FOUND: { exit: 5, retryable: false },
  /** A Pulumi CLI / Automation API operation failed (see the message for its output). */
  PULUMI_FAILED: { exit: 6, retryable: false },
  TIMEOUT: { exit: 7, retryable: true },
  REPORT_UNKNOWN: { exit: 2, retryable: false },
  REPORT_INVALID: { exit: 5, retryable: false },
  RUN_LOCKED: { exit: 8, retryable: true },
  /** This run's lease was broken or taken over (its epoch is stale): it must not act any more. */
  LEASE_LOST: { exit: 8, retryable: false },
  RUN_UNKNOWN: { exit: 2, retryable: false },
  RUN_FINISHED: { exit: 2, retryable: false },
  GATE_FAILED: { exit: 9, retryable: false },
  NOT_CONFIRMED: { exit: 9, retryable: false },
  /** The operator stopped the command (Ctrl-C, SIGTERM) while it was changing something. */
  INTERRUPTED: { exit: 130, retryable: false },
  INTERNAL: { exit: 70, retryable: false },
} as const;

export type ErrorCode = keyof typeof errorCatalogue;

export interface DrErrorInit {
  /** What to do about it, shown on its own `hint:` line. */
  hint?: string;
  /** The lower-level error this one explains. */
  cause?: unknown;
  /** Structured details for `--json` output (never secrets). */
  details?: Record<string, unknown>;
}

export class DrError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly retryable: boolean;
  readonly exitCode: number;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, init: DrErrorInit = {}) {
    super(clipLongWords(redact(message)), { cause: init.cause });
    this.name = "DrError";
    this.code = code;
    this.hint = init.hint === undefined ? undefined : clipLongWords(redact(init.hint));
    this.retryable = errorCatalogue[code].retryable;
    this.exitCode = errorCatalogue[code].exit;
    this.details = init.details;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      hint: this.hint,
      retryable: this.retryable,
      details: this.details,
    };
  }
}

/** Re-throws `err` with "while <doing>: " in front, keeping a DrError's code and hint. */
export function withContext(doing: string, err: unknown): DrError {
  if (err instanceof DrError) {
    const wrapped = new DrError(err.code, `while ${doing}: ${err.message}`, {
      hint: err.hint,
      cause: err,
      details: err.details,
    });
    return wrapped;
  }
  const message = err instanceof Error ? err.message : String(err);
  return new DrError("INTERNAL", `while ${doing}: ${message}`, {
    cause: err,
    hint: "this is a bug or an unexpected state; rerun with --verbose and report it",
  });
}

/** Runs `fn`, wrapping anything it throws with what was being done. */
export async function during<T>(doing: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw withContext(doing, err);
  }
}

export function isDrError(err: unknown, code?: ErrorCode): err is DrError {
  return err instanceof DrError && (code === undefined || err.code === code);
}
