// The `dr` command as an operator runs it: a real subprocess against a test lab's directory.
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { standbyByLabDir } from "./lab";

export const DR_CLI = join(__dirname, "..", "..", "automation", "cli", "dr.cjs");

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function envFor(labDir: string, env: Record<string, string>): NodeJS.ProcessEnv {
  // FP_DR_FAULT is for the test that sets it, never inherited by accident.
  const standby = standbyByLabDir.get(labDir);
  return { ...process.env, FP_DR_LAB_DIR: labDir, FP_DR_FAULT: "", ...(standby === undefined ? {} : { FP_DR_STANDBY: String(standby) }), ...env };
}

/** `cwd`: another working directory (with another HOME in `env`: another operator's machine). */
export function drSync(labDir: string, args: string[], env: Record<string, string> = {}, timeoutMs = 300_000, cwd?: string): CliResult {
  const r = spawnSync(process.execPath, [DR_CLI, ...args], { env: envFor(labDir, env), encoding: "utf8", timeout: timeoutMs, cwd });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

export function drAsync(labDir: string, args: string[], env: Record<string, string> = {}, cwd?: string): Promise<CliResult> {
  return drChild(labDir, args, env, cwd).result;
}

/** `dr` as a running child, for a test that signals it while it runs; `result` when it has ended. */
export function drChild(labDir: string, args: string[], env: Record<string, string> = {}, cwd?: string) {
  const child = spawn(process.execPath, [DR_CLI, ...args], { env: envFor(labDir, env), cwd });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const result = new Promise<CliResult>((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, result };
}

/**
 * `dr` under a pseudo-terminal (util-linux `script`), as an operator at a terminal meets it:
 * stdin and stderr are a tty, so the live display and the questions are on. `output` grows
 * with everything the terminal received; `type` sends keys.
 */
export function drOnTerminal(labDir: string, args: string[], env: Record<string, string> = {}) {
  const command = [process.execPath, DR_CLI, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const child = spawn("script", ["-qfec", command, "/dev/null"], { env: { ...envFor(labDir, env), COLUMNS: "160", LINES: "50" } });
  const term = { output: "", child, type: (keys: string) => void child.stdin.write(keys), exited: new Promise<number | null>((r) => child.on("close", (code) => r(code))) };
  child.stdout.on("data", (d) => (term.output += d));
  child.stderr.on("data", (d) => (term.output += d));
  return term;
}

/** Polls `cond` every 100 ms until it holds, or fails after `ms` saying what it waited for. */
export async function until(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
