// The mark a restore leaves beside the data directory it is writing (`<data dir>.restore.json`)
// until pgBackRest has laid down every file. Found later, it means the directory holds part of a
// backup: the run that left it was killed, interrupted or failed. pgBackRest writes pg_control
// last, so such a directory cannot be started by mistake, but it still looks like a stopped
// cluster; `dr lab status` reads this mark to call it half-restored and name the run. It lives
// outside the data directory because pgBackRest wants that directory empty (or cleans it with
// --delta).
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";

export interface RestoreMark {
  runId: string;
  set: string;
  repo: number;
  /** The dr process restoring, and when it started (so a reused pid is not taken for it). */
  pid: number;
  pidStartedAt?: string;
  host: string;
  startedAt: string;
  /** Set when the restore failed or was interrupted (the process may live on, e.g. to fall back). */
  failed?: { at: string; reason: string };
}

export type RestoreMarkState = { state: "restoring" | "half-restored"; mark: RestoreMark };

export function markPath(dataDir: string): string {
  return `${dataDir.replace(/\/+$/, "")}.restore.json`;
}

/** When the process started, from /proc (clock ticks since boot, as text); undefined without /proc. */
function processStart(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ")[19];
  } catch {
    return undefined;
  }
}

function alive(mark: RestoreMark): boolean {
  if (mark.host !== hostname()) return true; // another machine's run: cannot tell, assume it runs
  try {
    process.kill(mark.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  return mark.pidStartedAt === undefined || processStart(mark.pid) === mark.pidStartedAt;
}

export function markRestoring(dataDir: string, what: Pick<RestoreMark, "runId" | "set" | "repo">): RestoreMark {
  const mark: RestoreMark = { ...what, pid: process.pid, pidStartedAt: processStart(process.pid), host: hostname(), startedAt: new Date().toISOString() };
  writeFileSync(markPath(dataDir), JSON.stringify(mark, null, 2) + "\n", { mode: 0o644 });
  return mark;
}

export function markFailed(dataDir: string, mark: RestoreMark, reason: string): void {
  writeFileSync(markPath(dataDir), JSON.stringify({ ...mark, failed: { at: new Date().toISOString(), reason } }, null, 2) + "\n", { mode: 0o644 });
}

export function clearRestoreMark(dataDir: string): void {
  rmSync(markPath(dataDir), { force: true });
}

/** A restore under way, or one that ended without finishing; undefined when there is no mark. */
export function restoreMarkState(dataDir: string): RestoreMarkState | undefined {
  const path = markPath(dataDir);
  if (!existsSync(path)) return undefined;
  let mark: RestoreMark;
  try {
    mark = JSON.parse(readFileSync(path, "utf8")) as RestoreMark;
  } catch {
    mark = { runId: "unknown (unreadable mark)", set: "?", repo: 0, pid: 0, host: "", startedAt: "", failed: { at: "", reason: `${path} is unreadable` } };
  }
  return { state: mark.failed || !alive(mark) ? "half-restored" : "restoring", mark };
}
