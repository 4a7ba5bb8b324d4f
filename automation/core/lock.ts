// One run at a time per environment. The lock is a file that appears complete or not at all:
// the holder is written to a private temporary file first and then hard-linked into place
// (link fails if the lock exists), so no reader ever sees a half-made lock. A holder whose
// process is gone (same host) or whose lease has not been renewed for `staleAfterMs` (another
// host) cannot hold it forever: the next run takes it over and says so. A takeover is itself
// exclusive: only the process that wins a marker named after the dead holder may replace it,
// so two processes finding the same dead holder never both end up holding the lock.
import { createHash, randomBytes } from "node:crypto";
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
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

/** Whether a process with this pid exists (EPERM: it does, as another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const h = JSON.parse(text) as LockHolder;
    return typeof h === "object" && h !== null && typeof h.pid === "number" ? h : undefined;
  } catch {
    return undefined;
  }
}

function readHolder(path: string): LockHolder | undefined {
  const raw = readRaw(path);
  return raw === undefined ? undefined : parseHolder(raw);
}

/** The lock file's exact bytes, or undefined when there is none. */
function readRaw(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

function isStale(h: LockHolder, staleAfterMs: number, now: number): boolean {
  if (h.host === hostname()) return !processAlive(h.pid);
  return now - Date.parse(h.renewedAt) > staleAfterMs;
}

/** Writes `content` to a private file beside `path` and links it there; false if `path` exists. */
function linkInto(path: string, content: string): boolean {
  const tmp = `${path}.new-${process.pid}-${randomBytes(4).toString("hex")}`;
  writeFileSync(tmp, content, { mode: 0o644, flag: "wx" });
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Replaces the lock file if it still holds exactly `seen` (a dead holder): only the process that
 * creates the takeover marker for those bytes may do it, and it checks again once it has it.
 */
function takeOver(path: string, seen: string, content: string): boolean {
  const marker = `${path}.takeover-${createHash("sha256").update(seen).digest("hex").slice(0, 16)}`;
  if (!linkInto(marker, `${process.pid}\n`)) return false;
  try {
    if (readRaw(path) !== seen) return false;
    const tmp = `${path}.new-${process.pid}-${randomBytes(4).toString("hex")}`;
    writeFileSync(tmp, content, { mode: 0o644, flag: "wx" });
    renameSync(tmp, path);
    return true;
  } finally {
    rmSync(marker, { force: true });
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

export function acquireLock(path: string, who: Omit<LockHolder, "pid" | "host" | "since" | "renewedAt">, opts: { staleAfterMs?: number } = {}): Acquired {
  const staleAfterMs = opts.staleAfterMs ?? 120_000;
  mkdirSync(dirname(path), { recursive: true });
  const now = new Date().toISOString();
  const me: LockHolder = { ...who, pid: process.pid, host: hostname(), since: now, renewedAt: now };
  const mine = JSON.stringify(me, null, 2);
  let tookOverFrom: LockHolder | undefined;
  let acquired = false;
  for (let attempt = 0; attempt < 3 && !acquired; attempt++) {
    if (linkInto(path, mine)) {
      acquired = true;
      break;
    }
    const seen = readRaw(path);
    if (seen === undefined) continue; // released meanwhile: try again
    const holder = parseHolder(seen);
    if (holder && !isStale(holder, staleAfterMs, Date.now())) {
      throw new DrError("RUN_LOCKED", `another run holds the ${dirname(path).split("/").pop()} lock: ${holder.scenario} run ${holder.runId} (pid ${holder.pid} on ${holder.host}, since ${holder.since})`, {
        hint: `wait for it, or if that process is truly gone on another host, remove ${path}; \`dr resume ${holder.runId}\` continues that run`,
        details: { holder },
      });
    }
    // Unreadable: never written by this code (a lock appears whole); taken over only once old.
    if (!holder && ageMs(path) < staleAfterMs) {
      throw new DrError("RUN_LOCKED", `the lock ${path} is unreadable and recent`, { hint: `if no run is going on, remove ${path} and try again` });
    }
    if (takeOver(path, seen, mine)) {
      tookOverFrom = holder ?? undefined;
      acquired = true;
    }
  }
  if (!acquired) throw new DrError("RUN_LOCKED", `could not take the lock ${path}`, { hint: "another run took it at the same moment; try again" });
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
}
