// Typed pgBackRest command options and their argv. Only options we use are modelled; each maps
// to exactly one documented command-line option, so the argv is predictable and testable.

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
  targetAction?: "pause" | "promote" | "shutdown";
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

export function restoreArgs(o: RestoreOptions): string[] {
  const args = [...repoArgs(o), `--pg1-path=${o.pgPath}`];
  if (o.set) args.push(`--set=${o.set}`);
  switch (o.target.kind) {
    case "latest":
      args.push(o.asStandby ? "--type=standby" : "--type=default");
      break;
    case "immediate":
      args.push("--type=immediate");
      break;
    case "time":
      args.push("--type=time", `--target=${formatTargetTime(o.target.time)}`);
      break;
    case "lsn":
      args.push("--type=lsn", `--target=${o.target.lsn}`);
      break;
    case "name":
      args.push("--type=name", `--target=${o.target.name}`);
      break;
  }
  if (o.target.kind !== "latest") args.push(`--target-action=${o.targetAction ?? "promote"}`);
  for (const db of o.databases ?? []) args.push(`--db-include=${db}`);
  if (o.delta) args.push("--delta");
  for (const [k, v] of Object.entries(o.recoveryOptions ?? {})) args.push(`--recovery-option=${k}=${v}`);
  args.push("restore");
  return args;
}

export function verifyArgs(o: VerifyOptions): string[] {
  return [...repoArgs(o), ...(o.set ? [`--set=${o.set}`] : []), "--output=text", "--verbose", "verify"];
}
