// Typed pgBackRest command options and their argv. Only options we use are modelled; each maps
// to exactly one documented command-line option, so the argv is predictable and testable.
import { DrError } from "../core/errors";

export type BackupType = "full" | "diff" | "incr";

export interface CommonOptions {
  /** Operate on this repository only (1 = site's own, 2 = offsite). */
  repo?: 1 | 2;
}

export interface BackupOptions extends CommonOptions {
  type: BackupType;
  /** Recorded with the set (pgBackRest --annotation), e.g. who and why. */
  annotations?: Record<string, string>;
}

export type RestoreTarget =
  | { kind: "latest" }
  | { kind: "time"; time: Date }
  | { kind: "lsn"; lsn: string }
  | { kind: "name"; name: string }
  | { kind: "immediate" };

export interface RestoreOptions extends CommonOptions {
  /** Backup set label; default: the newest set that can reach the target. */
  set?: string;
  target: RestoreTarget;
  /** Where to restore (overrides pg1-path). */
  pgPath: string;
  /** What to do at the target: pause for inspection, promote, or shut down. */
  targetAction?: TargetAction;
  /** Restore only these databases (others are zeroed and unusable, as pgBackRest documents). */
  databases?: string[];
  /** Rewrite only what differs in a non-empty directory (explicitly asked for). */
  delta?: boolean;
  /**
   * For target "latest": restore as a standby (read-only, replaying the archive) rather than
   * a recovery that promotes itself at the end of WAL; it opens for writes only when asked.
   */
  asStandby?: boolean;
  /** Extra recovery settings written to postgresql.auto.conf (e.g. port for a scratch cluster). */
  recoveryOptions?: Record<string, string>;
}

export interface VerifyOptions extends CommonOptions {
  set?: string;
  /** Also print pgBackRest's log lines naming each invalid file (they are logged at info). */
  nameFiles?: boolean;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** A timestamp pgBackRest (and PostgreSQL's recovery_target_time) accepts, in UTC with micros. */
export function formatTargetTime(d: Date): string {
  const ms = d.getUTCMilliseconds();
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${String(ms).padStart(3, "0")}000+00`;
}

export function repoArgs(o: CommonOptions): string[] {
  return o.repo ? [`--repo=${o.repo}`] : [];
}

export function backupArgs(o: BackupOptions): string[] {
  const notes = Object.entries(o.annotations ?? {}).map(([k, v]) => `--annotation=${k}=${v}`);
  return [...repoArgs(o), `--type=${o.type}`, "--start-fast", ...notes, "backup"];
}

/** What the recovery does at its target (pgBackRest --target-action). */
export type TargetAction = "pause" | "promote" | "shutdown";

/**
 * The recovery target's arguments: --type (with --target for time, LSN and name), then
 * --target-action (default promote) for every target but "latest", which restores as a standby
 * or replays to the end of WAL and takes no action.
 */
export function targetArgs(target: RestoreTarget, o: { action?: TargetAction; asStandby?: boolean } = {}): string[] {
  const args: string[] = [];
  switch (target.kind) {
    case "latest":
      args.push(o.asStandby ? "--type=standby" : "--type=default");
      break;
    case "immediate":
      args.push("--type=immediate");
      break;
    case "time":
      args.push("--type=time", `--target=${formatTargetTime(target.time)}`);
      break;
    case "lsn":
      args.push("--type=lsn", `--target=${target.lsn}`);
      break;
    case "name":
      checkRestorePointName(target.name);
      args.push("--type=name", `--target=${target.name}`);
      break;
  }
  if (target.kind !== "latest") args.push(`--target-action=${o.action ?? "promote"}`);
  return args;
}

/**
 * pgBackRest writes the name into postgresql.auto.conf between single quotes without escaping
 * them: a quote or backslash would end the value early and let the rest be read as settings.
 * PostgreSQL cuts restore point names at 63 bytes.
 */
export function checkRestorePointName(name: string): void {
  const why = name.length === 0 ? "it is empty"
    : /['\\]/.test(name) ? "it holds a quote or backslash, which pgBackRest writes unescaped into postgresql.auto.conf"
    : /[\u0000-\u001f\u007f]/.test(name) ? "it holds a control character"
    : name.trim() !== name ? "it starts or ends with white space"
    : Buffer.byteLength(name) > 63 ? "it is longer than the 63 bytes PostgreSQL keeps of a restore point name"
    : undefined;
  if (why) {
    throw new DrError("TARGET_INVALID", `refusing restore point name ${JSON.stringify(name)}: ${why}`, {
      hint: "restore to the restore point's LSN instead (--target-lsn; pg_create_restore_point() returned it)",
    });
  }
}

export function restoreArgs(o: RestoreOptions): string[] {
  const args = [...repoArgs(o), `--pg1-path=${o.pgPath}`];
  if (o.set) args.push(`--set=${o.set}`);
  args.push(...targetArgs(o.target, { action: o.targetAction, asStandby: o.asStandby }));
  for (const db of o.databases ?? []) args.push(`--db-include=${db}`);
  if (o.delta) args.push("--delta");
  for (const [k, v] of Object.entries(o.recoveryOptions ?? {})) args.push(`--recovery-option=${k}=${v}`);
  args.push("restore");
  return args;
}

export function verifyArgs(o: VerifyOptions): string[] {
  return [...repoArgs(o), ...(o.set ? [`--set=${o.set}`] : []), ...(o.nameFiles ? ["--log-level-console=info"] : []), "--output=text", "--verbose", "verify"];
}
