// Long-lived lab services of ours (the object store, the DNS server) run as detached Node
// processes that outlive the `dr` command which started them. Each has a name and a directory:
// `<dir>/<name>.pid` holds its pid, `<dir>/<name>.log` its output. Starting waits on a real
// readiness signal with a bound; stopping is SIGTERM, a bounded wait, then SIGKILL.
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, extname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { DrError } from "../../core/errors";
import { redact } from "../../core/redact";
import { pollUntil } from "../../core/poll";

export interface DaemonSpec {
  /** Short name: the pid and log files are `<dir>/<name>.pid` and `<dir>/<name>.log`. */
  name: string;
  /** Directory that holds the pid and log files (created if missing). */
  dir: string;
  /** The entry point: a .ts file runs with `node --import tsx`, a compiled .js one with plain node. */
  script: string;
  /** Arguments after the script (never secrets: they show in `ps`). */
  args?: string[];
  /** Node options before the script, e.g. `--openssl-legacy-provider`. */
  nodeArgs?: string[];
  /** Passes once the service answers; receives the child's pid. Throwing counts as not ready. */
  readyCheck: (pid: number) => Promise<boolean> | boolean;
  /** How long to wait for readiness (default 20 s). */
  timeoutMs?: number;
  /** Extra environment for the child. */
  env?: Record<string, string>;
  /** Error code raised when the service does not come up (default INTERNAL). */
  errorCode?: DrError["code"];
}

export interface DaemonStatus {
  running: boolean;
  /** The live pid, or the stale one recorded in the pid file when `running` is false. */
  pid?: number;
  /** True when a pid file names a process that is gone (or is not ours any more). */
  stale?: boolean;
}

/**
 * The daemon script `name` beside `moduleFile` (the caller's __filename), in the caller's own form:
 * the .ts source when running from the sources, the compiled .js when running from dist/.
 */
export const scriptBeside = (moduleFile: string, name: string): string => join(dirname(moduleFile), `${name}${extname(moduleFile)}`);

export const pidFileOf = (dir: string, name: string): string => join(dir, `${name}.pid`);
export const logFileOf = (dir: string, name: string): string => join(dir, `${name}.log`);

/**
 * Starts `script` detached and waits until `readyCheck` passes. Idempotent: when the daemon is
 * already running it only waits for readiness. If the child exits first, the error carries the
 * tail of its log.
 */
export async function startDaemon(spec: DaemonSpec): Promise<{ pid: number }> {
  const timeoutMs = spec.timeoutMs ?? 20_000;
  const code = spec.errorCode ?? "INTERNAL";
  const script = resolve(spec.script);
  mkdirSync(spec.dir, { recursive: true });
  const status = daemonStatus(spec.dir, spec.name);
  let pid: number;
  let exited: string | undefined;
  if (status.running && status.pid) {
    pid = status.pid;
  } else {
    const log = openSync(logFileOf(spec.dir, spec.name), "a");
    try {
      writeFileSync(log, `--- ${new Date().toISOString()} starting ${spec.name}\n`);
      const loader = script.endsWith(".ts") ? ["--import", tsxLoader()] : [];
      const child = spawn(process.execPath, [...(spec.nodeArgs ?? []), ...loader, script, ...(spec.args ?? [])], {
        detached: true,
        stdio: ["ignore", log, log],
        cwd: spec.dir,
        env: daemonEnv(spec.env),
      });
      if (child.pid === undefined) {
        throw new DrError(code, `could not start ${spec.name}`, { hint: `read ${logFileOf(spec.dir, spec.name)}` });
      }
      pid = child.pid;
      child.on("exit", (c, s) => (exited = s ? `was killed by ${s}` : `exited with ${c}`));
      child.on("error", (e) => (exited = `could not run: ${e.message}`));
      child.unref();
    } finally {
      closeSync(log);
    }
    // The pid file also names the script, so a reused pid is not mistaken for our daemon.
    writeFileSync(pidFileOf(spec.dir, spec.name), `${pid}\n${script}\n`);
  }

  // Poll the real signal until it passes, the child dies, or the bound runs out.
  let lastError = "";
  return pollUntil(
    async () => {
      if (exited === undefined && !isAlive(pid)) exited = "is gone";
      if (exited !== undefined) {
        rmSync(pidFileOf(spec.dir, spec.name), { force: true });
        throw new DrError(code, `${spec.name} ${exited} before it was ready${tailFor(spec.dir, spec.name)}`, {
          hint: `read ${logFileOf(spec.dir, spec.name)}`,
          details: { daemon: spec.name, pid },
        });
      }
      // A ready check that throws is "not yet"; its message goes in the timeout's.
      try {
        if (await spec.readyCheck(pid)) return { pid };
      } catch (e) {
        lastError = (e as Error).message;
      }
      return undefined;
    },
    {
      what: `${spec.name} to be ready`,
      timeoutMs,
      intervalMs: 100,
      onTimeout: async () => {
        await stopDaemon(spec.dir, spec.name);
        return new DrError(code, `${spec.name} was not ready after ${Math.round(timeoutMs / 1000)}s${lastError ? ` (${lastError})` : ""}${tailFor(spec.dir, spec.name)}`, {
          hint: `read ${logFileOf(spec.dir, spec.name)}`,
          details: { daemon: spec.name, pid },
        });
      },
    },
  );
}

/**
 * Stops the daemon: SIGTERM, wait up to `graceMs` (default 10 s), then SIGKILL. Idempotent:
 * nothing running (or a stale pid file) is not an error. Removes the pid file.
 */
export async function stopDaemon(dir: string, name: string, graceMs = 10_000): Promise<void> {
  const status = daemonStatus(dir, name);
  const pidFile = pidFileOf(dir, name);
  if (!status.running || !status.pid) {
    rmSync(pidFile, { force: true });
    return;
  }
  const pid = status.pid;
  // Gone within the bound, or undefined: the caller escalates.
  const goneWithin = (ms: number) => pollUntil(async () => !isAlive(pid) || undefined, { what: `${name} (pid ${pid}) to exit`, timeoutMs: ms, intervalMs: 50, giveUp: "return" });
  signal(pid, "SIGTERM");
  if (!(await goneWithin(graceMs))) {
    signal(pid, "SIGKILL");
    if (!(await goneWithin(5_000))) {
      throw new DrError("INTERNAL", `${name} (pid ${pid}) survived SIGKILL`, { hint: `inspect the process with ps -p ${pid}` });
    }
  }
  rmSync(pidFile, { force: true });
}

/**
 * Whether the daemon recorded in `<dir>/<name>.pid` is alive. A pid whose process is gone, or
 * that now belongs to another program (pid reuse), is reported as stale.
 */
export function daemonStatus(dir: string, name: string): DaemonStatus {
  const pidFile = pidFileOf(dir, name);
  if (!existsSync(pidFile)) return { running: false };
  const [pidLine, script] = readFileSync(pidFile, "utf8").split("\n");
  const pid = Number(pidLine.trim());
  if (!Number.isInteger(pid) || pid <= 0) return { running: false, stale: true };
  if (!isAlive(pid) || !looksLikeOurs(pid, script)) return { running: false, pid, stale: true };
  return { running: true, pid };
}

/** The last lines of a daemon's log (redacted), for error messages. */
export function daemonLogTail(dir: string, name: string, lines = 15): string {
  const file = logFileOf(dir, name);
  if (!existsSync(file)) return "";
  return redact(readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n"));
}

function tailFor(dir: string, name: string): string {
  const tail = daemonLogTail(dir, name);
  return tail ? `\n${tail}` : "";
}

/** Our environment minus what only makes sense for us (a test runner's context), plus extras. */
function daemonEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

/** The tsx loader as a file URL, so the child does not depend on its working directory. */
function tsxLoader(): string {
  return pathToFileURL(require.resolve("tsx")).href;
}

/** Whether `pid` is a live process (a zombie awaiting its parent counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  // A zombie (exited, not yet reaped by us) counts as gone.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return true;
  }
}

/** On Linux, checks that the pid still runs our script (guards against pid reuse). */
function looksLikeOurs(pid: number, script: string | undefined): boolean {
  if (!script) return true; // an old-style pid file: trust it
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return true; // no /proc: trust the pid file
  }
  return cmdline.split("\0").includes(script.trim());
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
  }
}

