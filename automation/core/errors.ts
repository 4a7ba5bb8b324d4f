// One error type for the whole toolkit. Every failure an operator can see carries a stable
// code (scripts and alerts match on it), a one-line lowercase message, a hint saying what to
// do next, and whether trying again can help. Causes are wrapped with context
// ("while restoring to secondary: …") instead of being swallowed.
import { clipLongWords } from "./clip";
import { redact } from "./redact";
import { exitOf, type ExitClassName } from "./exit-status";

/**
 * The catalogue: code → its exit class (core/exit-status.ts: one status per class) and whether a
 * retry can help. Codes never change meaning.
 */
export const errorCatalogue = {
  CONFIG_INVALID: { class: "usage", retryable: false },
  USAGE: { class: "usage", retryable: false },
  NOT_ROOT_OR_SERVICE_USER: { class: "dependency", retryable: false },
  DEPENDENCY_MISSING: { class: "dependency", retryable: false },
  LAB_NOT_UP: { class: "dependency", retryable: false },
  SITE_UNKNOWN: { class: "usage", retryable: false },
  SITE_UNREACHABLE: { class: "unreachable", retryable: true },
  /** A site that must not be removed: the topology's, the one the service name serves, or one a live run holds. */
  SITE_IN_USE: { class: "refused", retryable: false },
  /** A command run on a site's host (SSM Run Command) ended in failure. */
  HOST_COMMAND_FAILED: { class: "failed", retryable: false },
  /** dr host apply: the server rejected a rendered file (put back as it was). */
  HOST_CONFIG_REJECTED: { class: "failed", retryable: false },
  CLUSTER_START_FAILED: { class: "failed", retryable: true },
  CLUSTER_STOP_FAILED: { class: "failed", retryable: true },
  CLUSTER_RUNNING: { class: "refused", retryable: false },
  CLUSTER_NOT_EMPTY: { class: "refused", retryable: false },
  /** A restore into that data directory is running (its lock names a live holder). */
  RESTORE_TARGET_LOCKED: { class: "locked", retryable: true },
  /** A process other than the server writes into the data directory (a leftover restore). */
  FOREIGN_WRITER: { class: "refused", retryable: false },
  /** The destination's filesystem cannot hold the restore (set plus the WAL it replays). */
  SPACE_INSUFFICIENT: { class: "refused", retryable: false },
  STORE_UNREACHABLE: { class: "unreachable", retryable: true },
  REPO_UNKNOWN: { class: "usage", retryable: false },
  BACKUP_UNKNOWN: { class: "refused", retryable: false },
  BACKUP_NONE: { class: "refused", retryable: false },
  BACKUP_FAILED: { class: "failed", retryable: true },
  BACKUP_INVALID: { class: "failed", retryable: false },
  TARGET_BEFORE_WINDOW: { class: "refused", retryable: false },
  TARGET_IN_FUTURE: { class: "refused", retryable: false },
  TARGET_INVALID: { class: "usage", retryable: false },
  /** A restore point name or database the backup and its WAL do not hold. */
  TARGET_UNKNOWN: { class: "refused", retryable: false },
  DELETION_NOT_FOUND: { class: "refused", retryable: false },
  WAL_GAP: { class: "failed", retryable: false },
  ARCHIVE_FAILED: { class: "failed", retryable: true },
  RESTORE_FAILED: { class: "failed", retryable: false },
  STANDBY_UNUSABLE: { class: "failed", retryable: false },
  /** dr reprotect: the site to rebuild is unfenced and still writable (rebuilding it could lose writes). */
  SITE_WRITABLE: { class: "refused", retryable: false },
  RECOVERY_TIMEOUT: { class: "timeout", retryable: true },
  PGBACKREST_FAILED: { class: "failed", retryable: false },
  PGBACKREST_LOCKED: { class: "locked", retryable: true },
  QUERY_FAILED: { class: "failed", retryable: false },
  /** A brief table lock was not granted within lock_timeout (a long transaction holds a conflicting one); already retried. */
  TABLES_LOCKED: { class: "locked", retryable: false },
  CORRUPTION_CHECK_FAILED: { class: "failed", retryable: false },
  SAMPLE_DATA_EXISTS: { class: "refused", retryable: false },
  DNS_FAILED: { class: "unreachable", retryable: true },
  /** Another Pulumi update holds the stack (or a killed one left its lock). */
  STACK_LOCKED: { class: "locked", retryable: true },
  /** The stack a site maps to does not exist in the backend. */
  STACK_NOT_FOUND: { class: "refused", retryable: false },
  /** A Pulumi CLI / Automation API operation failed (see the message for its output). */
  PULUMI_FAILED: { class: "failed", retryable: false },
  TIMEOUT: { class: "timeout", retryable: true },
  REPORT_UNKNOWN: { class: "usage", retryable: false },
  REPORT_INVALID: { class: "failed", retryable: false },
  RUN_LOCKED: { class: "locked", retryable: true },
  /** This run's lease was broken or taken over (its epoch is stale): it must not act any more. */
  LEASE_LOST: { class: "locked", retryable: false },
  /** A switchover is in flight (the control document holds it): only its own run may update the stacks. */
  SWITCHOVER_IN_FLIGHT: { class: "locked", retryable: false },
  RUN_UNKNOWN: { class: "usage", retryable: false },
  RUN_FINISHED: { class: "refused", retryable: false },
  GATE_FAILED: { class: "gate", retryable: false },
  NOT_CONFIRMED: { class: "cancelled", retryable: false },
  /** The operator stopped the command (Ctrl-C, SIGTERM) while it was changing something. */
  INTERRUPTED: { class: "interrupted", retryable: false },
  INTERNAL: { class: "internal", retryable: false },
} as const satisfies Record<string, { class: ExitClassName; retryable: boolean }>;

export type ErrorCode = keyof typeof errorCatalogue;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(errorCatalogue, code);
}

/** The exit status of an error code: its class's. */
export function exitFor(code: ErrorCode): number {
  return exitOf(errorCatalogue[code].class);
}

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
    this.exitCode = exitFor(code);
    this.details = init.details;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      hint: this.hint,
      exit: this.exitCode,
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
