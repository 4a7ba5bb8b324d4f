// postmaster.pid: live postmaster or stale file? A postmaster killed with -9 (or a host that lost
// power) leaves the file behind. pgBackRest refuses to restore while it exists ("unable to
// restore while PostgreSQL is running"), and PostgreSQL itself refuses to start when the pid in
// it now belongs to another live process of the service user; pg_ctl stop would even signal
// that process. A pid names our postmaster only if that process runs the postgres binary with
// its working directory in this data directory (the postmaster chdirs there, and every backend
// it forks inherits it). Everything else is stale, and safe to remove once no process at all
// works in the directory.
import { existsSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DrError } from "../core/errors";
import { pollUntil } from "../core/poll";

export type PidFileState =
  | { kind: "none" }
  | { kind: "live"; pid: number }
  | { kind: "stale"; pid?: number; why: string };

const PID_FILE = "postmaster.pid";

function procText(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, "utf8");
  } catch {
    return undefined;
  }
}

/** The directory a process works in; undefined when it is gone, "hidden" when /proc will not say. */
function cwdOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === "EACCES" || code === "EPERM" ? "hidden" : undefined;
  }
}

function canonical(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return dir;
  }
}

/** Is `pid` a PostgreSQL server process working in `dataDir` (not a zombie)? */
function isPostgresIn(pid: number, dataDir: string): boolean {
  const stat = procText(pid, "stat");
  if (stat === undefined || /^\d+ \(.*\) Z/.test(stat)) return false;
  const argv0 = (procText(pid, "cmdline") ?? "").split("\0")[0];
  if (!/(^|\/)(postgres|postmaster)$/.test(argv0) && !/^postgres: /.test(argv0)) return false;
  // Another user's process (not running as root): it cannot be proven stale, so it counts as live.
  const cwd = cwdOf(pid);
  return cwd === "hidden" || cwd === canonical(dataDir);
}

/** What postmaster.pid in `dataDir` stands for. */
export function inspectPidFile(dataDir: string): PidFileState {
  const file = join(dataDir, PID_FILE);
  if (!existsSync(file)) return { kind: "none" };
  const pid = Number(readFileSync(file, "utf8").split("\n")[0]);
  if (!Number.isInteger(pid) || pid <= 0) return { kind: "stale", why: "it names no pid" };
  if (isPostgresIn(pid, dataDir)) return { kind: "live", pid };
  if (procText(pid, "stat") === undefined) return { kind: "stale", pid, why: `no process ${pid} exists` };
  return { kind: "stale", pid, why: `process ${pid} is not a postmaster of this data directory` };
}

/** Processes whose working directory is `dataDir`: backends that outlived a killed postmaster. */
export function processesIn(dataDir: string): number[] {
  const dir = canonical(dataDir);
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => pid !== process.pid && cwdOf(pid) === dir);
}

/**
 * Removes a stale postmaster.pid and says why it was stale; nothing when there is none. Refuses
 * (CLUSTER_RUNNING, file kept) while the postmaster lives or any process still works in the
 * directory: those may write to it.
 */
export async function clearStalePidFile(dataDir: string, graceMs = 10_000): Promise<string | undefined> {
  const state = inspectPidFile(dataDir);
  if (state.kind === "none") return undefined;
  if (state.kind === "live") {
    throw new DrError("CLUSTER_RUNNING", `postgresql is running in ${dataDir} (postmaster pid ${state.pid})`, { hint: "stop the cluster (or fence the site) first" });
  }
  // Backends of a postmaster killed a moment ago notice its death and exit on their own.
  let workers: number[] = [];
  const gone = await pollUntil(async () => ((workers = processesIn(dataDir)).length === 0 || undefined), { what: "the stale postmaster's backends to exit", timeoutMs: graceMs, intervalMs: 200, giveUp: "return" });
  if (!gone) {
    throw new DrError("CLUSTER_RUNNING", `postmaster.pid in ${dataDir} is stale (${state.why}) but processes ${workers.join(", ")} still work in the directory`, {
      hint: `those outlived a killed postmaster by ${Math.round(graceMs / 1000)}s; end them (they may still write) and try again`,
    });
  }
  rmSync(join(dataDir, PID_FILE), { force: true });
  return `removed a stale postmaster.pid: ${state.why}`;
}
