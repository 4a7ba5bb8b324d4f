// Runs external programs (pg_ctl, initdb, pgbackrest, pg_dump …), as the service user when we
// are root. Output is captured, never echoed raw: whatever is shown to a person or written to
// a log goes through `redact` first.
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { DrError, type ErrorCode } from "../core/errors";
import { redact } from "../core/redact";
import type { ServiceUser } from "./service-user";

export interface RunOptions {
  /** Run as this user (only takes effect when it is a switched service user). */
  as?: ServiceUser;
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Milliseconds before the process is killed. */
  timeoutMs?: number;
  /** Milliseconds without a byte of output before the process is killed (it stalled). */
  idleTimeoutMs?: number;
  /** Aborting it kills the process (an operator's Ctrl-C reaches a restore this way). */
  signal?: AbortSignal;
  /** Called with each complete line of stdout / stderr as it arrives (already redacted). */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  /** Called with the child's pid once it runs (a restore records it in its target's lock). */
  onSpawn?: (pid: number) => void;
  /** Bytes written to stdin, then closed. */
  input?: string | Buffer;
  /** Exit codes that are not failures. */
  okCodes?: number[];
  /** Error code to raise on failure (default INTERNAL). */
  errorCode?: ErrorCode;
  /** Hint shown when the command fails. */
  hint?: string;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export class CommandFailed extends DrError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly result: RunResult,
    hint?: string,
  ) {
    super(code, message, { hint, details: { exitCode: result.code } });
  }
}

/** The environment a service-user process gets: ours, minus anything that points into root's home. */
export function serviceEnv(user: ServiceUser | undefined, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (user?.switched) {
    env.HOME = user.home;
    env.USER = user.name;
    env.LOGNAME = user.name;
    delete env.XDG_RUNTIME_DIR;
  }
  env.LC_ALL = env.LC_ALL ?? "C.UTF-8";
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/**
 * The children running now, by pid: an interrupted run ends them (cli/signals.ts, plans/runner.ts),
 * since a pgBackRest or pg_ctl that outlives its `dr` goes on acting for a run that has stopped.
 */
const running = new Set<number>();

export function runningChildren(): number[] {
  return [...running];
}

/** Runs `file args…` to completion and returns its output; throws CommandFailed on a bad exit. */
export function run(file: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  const switched = opts.as?.switched === true;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, {
      cwd: opts.cwd ?? (switched ? tmpdir() : undefined),
      env: serviceEnv(opts.as, opts.env),
      uid: switched ? opts.as!.uid : undefined,
      gid: switched ? opts.as!.gid : undefined,
      stdio: ["pipe", "pipe", "pipe"],
      signal: opts.signal,
    });
    const pid = child.pid;
    if (pid !== undefined) {
      running.add(pid);
      opts.onSpawn?.(pid);
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const partial = { stdout: "", stderr: "" };
    const feed = (stream: "stdout" | "stderr", chunk: Buffer) => {
      (stream === "stdout" ? out : err).push(chunk);
      idle?.refresh();
      if (!opts.onLine) return;
      const text = partial[stream] + chunk.toString("utf8");
      const lines = text.split("\n");
      partial[stream] = lines.pop() ?? "";
      for (const l of lines) opts.onLine(redact(l), stream);
    };
    child.stdout.on("data", (c: Buffer) => feed("stdout", c));
    child.stderr.on("data", (c: Buffer) => feed("stderr", c));
    let timedOut: string | undefined;
    const expire = (why: string) => () => {
      timedOut = why;
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 5000).unref();
    };
    const timer = opts.timeoutMs ? setTimeout(expire(`timed out after ${Math.round(opts.timeoutMs / 1000)}s`), opts.timeoutMs) : undefined;
    const idle = opts.idleTimeoutMs ? setTimeout(expire(`made no progress for ${Math.round(opts.idleTimeoutMs / 1000)}s`), opts.idleTimeoutMs) : undefined;
    const clearTimers = () => [timer, idle].forEach((t) => t && clearTimeout(t));
    child.on("error", (e: NodeJS.ErrnoException) => {
      clearTimers();
      // An abort ends the process; its close event reports the outcome.
      if (e.name === "AbortError") return;
      const missing = e.code === "ENOENT";
      reject(
        new DrError(missing ? "DEPENDENCY_MISSING" : opts.errorCode ?? "INTERNAL", missing ? `${file} is not installed or not on PATH` : `could not start ${file}: ${e.message}`, {
          hint: missing ? "run `npm run setup` (installs PostgreSQL 15 and pgBackRest from Debian packages)" : opts.hint,
          cause: e,
        }),
      );
    });
    child.on("close", (code, signal) => {
      clearTimers();
      if (pid !== undefined) running.delete(pid);
      if (opts.onLine) {
        if (partial.stdout) opts.onLine(redact(partial.stdout), "stdout");
        if (partial.stderr) opts.onLine(redact(partial.stderr), "stderr");
      }
      const result: RunResult = {
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        durationMs: Date.now() - started,
      };
      const ok = [0, ...(opts.okCodes ?? [])].includes(result.code) && !timedOut;
      if (ok) return resolvePromise(result);
      const lastLine = lastMeaningfulLine(result.stderr) ?? lastMeaningfulLine(result.stdout) ?? "no output";
      const why = timedOut ?? (opts.signal?.aborted ? "was interrupted" : `exited with ${result.code}`);
      reject(new CommandFailed(timedOut ? "TIMEOUT" : opts.errorCode ?? "INTERNAL", `${basename(file)} ${why}: ${lastLine}`, result, opts.hint));
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

function basename(file: string): string {
  return file.split("/").pop() ?? file;
}

function lastMeaningfulLine(text: string): string | undefined {
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  return lines.length ? redact(lines[lines.length - 1]) : undefined;
}

/** Where PostgreSQL 15's server binaries live (Debian layout), overridable for other systems. */
export function pgBin(name: string): string {
  const dir = process.env.FP_DR_PG_BIN ?? "/usr/lib/postgresql/15/bin";
  return `${dir}/${name}`;
}
