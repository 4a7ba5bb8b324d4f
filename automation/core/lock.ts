// One run at a time per environment. The lock is a file created exclusively (O_EXCL), holding
// who has it; a holder whose process is gone (same host) or whose lease has not been renewed
// for `staleAfterMs` (another host) cannot hold it forever: the next run takes it over and says so.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { DrError } from "./errors";

export interface LockHolder {
  runId: string;
  scenario: string;
  pid: number;
  host: string;
  since: string;
  /** Renewed while the run is alive. */
  renewedAt: string;
}

export interface Acquired {
  release(): void;
  /** A dead holder whose lock was taken over, if any. */
  tookOverFrom?: LockHolder;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function readHolder(path: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as LockHolder;
  } catch {
    return undefined;
  }
}

function isStale(h: LockHolder, staleAfterMs: number, now: number): boolean {
  if (h.host === hostname()) return !alive(h.pid);
  return now - Date.parse(h.renewedAt) > staleAfterMs;
}

export function acquireLock(path: string, who: Omit<LockHolder, "pid" | "host" | "since" | "renewedAt">, opts: { staleAfterMs?: number } = {}): Acquired {
  const staleAfterMs = opts.staleAfterMs ?? 120_000;
  mkdirSync(dirname(path), { recursive: true });
  const now = new Date().toISOString();
  const me: LockHolder = { ...who, pid: process.pid, host: hostname(), since: now, renewedAt: now };
  let tookOverFrom: LockHolder | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx", 0o644);
      writeSync(fd, JSON.stringify(me, null, 2));
      closeSync(fd);
      const timer = setInterval(() => {
        const cur = readHolder(path);
        if (cur?.pid === me.pid && cur.runId === me.runId) {
          const tmp = `${path}.renew-${process.pid}`;
          writeFileSync(tmp, JSON.stringify({ ...me, renewedAt: new Date().toISOString() }, null, 2));
          renameSync(tmp, path);
        }
      }, Math.max(1000, staleAfterMs / 4));
      timer.unref();
      return {
        tookOverFrom,
        release() {
          clearInterval(timer);
          const cur = readHolder(path);
          if (cur?.pid === me.pid && cur.runId === me.runId) rmSync(path, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const holder = readHolder(path);
      if (holder && !isStale(holder, staleAfterMs, Date.now())) {
        throw new DrError("RUN_LOCKED", `another run holds the ${dirname(path).split("/").pop()} lock: ${holder.scenario} run ${holder.runId} (pid ${holder.pid} on ${holder.host}, since ${holder.since})`, {
          hint: `wait for it, or if that process is truly gone on another host, remove ${path}; \`dr resume ${holder.runId}\` continues that run`,
          details: { holder },
        });
      }
      // Dead holder: take over (the rename-free removal is safe: a live holder is never stale).
      tookOverFrom = holder;
      if (existsSync(path)) rmSync(path, { force: true });
    }
  }
  throw new DrError("RUN_LOCKED", `could not take the lock ${path}`, { hint: "another run took it at the same moment; try again" });
}
