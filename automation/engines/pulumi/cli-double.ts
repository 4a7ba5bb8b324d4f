// A recording test double of the Pulumi CLI for the contract test. LocalWorkspace accepts any
// `pulumiCommand` with `command`, `version` and `run(args, cwd, env, onOutput, onError,
// signal)`; this one does what the real PulumiCommand.run does to the arguments (append
// --non-interactive), records the final argument list, and answers like the CLI would from a
// small in-memory backend: stacks, their config (`pulumi config --json` shape: value,
// objectValue, secret), outputs computed by a test-supplied program, an update history.
// Failures are thrown exactly as the SDK's exec does for a non-zero exit (a CommandError
// classified by stderr, wrapped once more), so the SDK's own error classes come out.
import * as semver from "semver";
import * as cmd from "@pulumi/pulumi/automation/cmd";
import * as errors from "@pulumi/pulumi/automation/errors";
import type { PulumiCli } from "./local-workspace";
import type { StoredConfig, StoredConfigValue } from "./stack-ops";

interface CommandResultLike {
  stdout: string;
  stderr: string;
  code: number;
}
const CommandResult = (cmd as unknown as { CommandResult: new (stdout: string, stderr: string, code: number, err?: Error) => CommandResultLike }).CommandResult;
const createCommandError = (errors as unknown as { createCommandError: (r: CommandResultLike) => Error }).createCommandError;

export interface Invocation {
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

/** Computes a stack's outputs from its config, as the program would (plain values). */
export type FakeProgram = (stack: string, config: StoredConfig) => Record<string, unknown>;

interface FakeStack {
  config: StoredConfig;
  outputs: Record<string, unknown>;
  /** Resources in the stack's state (0 = nothing deployed). */
  resources: number;
  updates: number;
}

interface Failure {
  match: (args: string[]) => boolean;
  stderr: string;
  code: number;
}

export class RecordingPulumiCli implements PulumiCli {
  readonly command = "pulumi";
  readonly version = semver.parse("3.247.0");
  readonly calls: Invocation[] = [];
  readonly stacks = new Map<string, FakeStack>();
  private readonly failures: Failure[] = [];

  constructor(private readonly program: FakeProgram) {}

  /** A stack that exists in the backend, with config and (deployed: true) its outputs. */
  addStack(name: string, config: StoredConfig, deployed = true): void {
    this.stacks.set(name, { config: structuredClone(config), outputs: deployed ? this.program(name, config) : {}, resources: deployed ? 40 : 0, updates: deployed ? 1 : 0 });
  }

  /** The next invocation matching `match` fails with this stderr (exit code `code`). */
  failNext(match: (args: string[]) => boolean, stderr: string, code = 255): void {
    this.failures.push({ match, stderr, code });
  }

  /** Argument lists recorded so far, and forget them. */
  take(): string[][] {
    return this.calls.splice(0).map((c) => c.args);
  }

  async run(
    args: string[],
    cwd: string,
    env: { [key: string]: string },
    onOutput?: (data: string) => void,
  ): Promise<{ stdout: string; stderr: string; code: number }> {
    // What PulumiCommand.run does before exec: never prompt.
    if (!args.includes("--non-interactive")) args.push("--non-interactive");
    this.calls.push({ args: [...args], cwd, env: { ...env } });
    const failure = this.failures.findIndex((f) => f.match(args));
    if (failure >= 0) {
      const [f] = this.failures.splice(failure, 1);
      throw this.error("", f.stderr, f.code);
    }
    const stdout = this.answer(args);
    if (onOutput && stdout) onOutput(stdout);
    return new CommandResult(stdout, "", 0);
  }

  /** As exec() in the SDK's cmd.js: the non-zero exit's CommandError, wrapped by its catch. */
  private error(stdout: string, stderr: string, code: number): Error {
    const inner = createCommandError(new CommandResult(stdout, stderr, code));
    return createCommandError(new CommandResult("", inner.message, -2, inner));
  }

  private fail(stderr: string): never {
    throw this.error("", stderr, 255);
  }

  private stackArg(args: string[]): string {
    const i = args.indexOf("--stack");
    if (i < 0) this.fail(`error: no stack selected (${args.join(" ")})`);
    return args[i + 1];
  }

  private existing(name: string): FakeStack {
    const s = this.stacks.get(name);
    if (!s) this.fail(`error: no stack named '${name}' found`);
    return s;
  }

  private answer(args: string[]): string {
    const [a, b] = args;
    if (a === "version") return "v3.247.0\n";
    if (a === "stack" && b === "select") {
      this.existing(this.stackArg(args));
      return "";
    }
    if (a === "stack" && b === "init") {
      const name = args[2];
      if (this.stacks.has(name)) this.fail(`error: stack '${name}' already exists`);
      this.stacks.set(name, { config: {}, outputs: {}, resources: 0, updates: 0 });
      return `Created stack '${name}'\n`;
    }
    if (a === "stack" && b === "rm") {
      const name = args.filter((x) => !x.startsWith("--")).slice(2)[0];
      const s = this.existing(name);
      if (s.resources > 0 && !args.includes("--force")) {
        this.fail(`error: '${name}' still has resources; removal rejected. Possible actions:\n- Make sure that '${name}' is the correct stack to remove\n- Run \`pulumi destroy\` to delete the resources, then run \`pulumi stack rm\`\n- Run \`pulumi stack rm --force\` to override this error`);
      }
      this.stacks.delete(name);
      return `Stack '${name}' has been removed!\n`;
    }
    if (a === "stack" && b === "ls") {
      return JSON.stringify([...this.stacks].map(([name, st]) => ({ name, current: false, updateInProgress: false, resourceCount: st.resources }))) + "\n";
    }
    if (a === "stack" && b === "output") {
      const s = this.existing(this.stackArg(args));
      const show = args.includes("--show-secrets");
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(s.outputs)) out[k] = !show && k.endsWith("Password") ? "[secret]" : v;
      return JSON.stringify(out, null, 2) + "\n";
    }
    if (a === "stack" && b === "history") {
      const s = this.existing(this.stackArg(args));
      if (s.updates === 0) return "[]\n";
      const at = new Date(Date.UTC(2025, 8, 1, 12, 0, s.updates)).toISOString();
      return JSON.stringify([{ version: s.updates, kind: "update", startTime: at, endTime: at, message: "", environment: { "exec.kind": "auto.local" }, config: {}, result: "succeeded", resourceChanges: { same: s.resources } }]) + "\n";
    }
    if (a === "config" && b === "set-all") return this.setAll(args);
    if (a === "config" && b === "rm-all") {
      const name = this.stackArg(args);
      const s = this.existing(name);
      // config rm-all --stack <name> [--path] <key>…
      const keys = args.slice(args.indexOf("--stack") + 2).filter((x) => !x.startsWith("--"));
      for (const k of keys) delete s.config[k];
      return "";
    }
    if (a === "config" && args.includes("--json") && args.includes("--show-secrets")) {
      return JSON.stringify(this.existing(this.stackArg(args)).config, null, 2) + "\n";
    }
    if (a === "up") {
      const name = this.stackArg(args);
      const s = this.existing(name);
      s.updates++;
      const targeted = args.includes("--target");
      // A targeted update leaves the stack's outputs as they were (the root stack is not a target).
      if (!targeted) s.outputs = this.program(name, s.config);
      const before = s.resources;
      if (!targeted) s.resources = Math.max(s.resources, 40);
      const changes = targeted ? `    ~ ${args.filter((x) => x === "--target").length} updated\n    ${s.resources} unchanged\n` : `    + ${s.resources - before} created\n    ${before} unchanged\n`;
      return `Updating (${name})\n\n     Type                 Name          Status\n     pulumi:pulumi:Stack  fp-dr-${name}\n\nResources:\n${changes}\nDuration: 42s\n`;
    }
    if (a === "destroy") {
      const name = this.stackArg(args);
      const s = this.existing(name);
      s.updates++;
      const n = s.resources;
      s.resources = 0;
      s.outputs = {};
      return `Destroying (${name})\n\nResources:\n    - ${n} deleted\n\nDuration: 3m12s\nThe resources in the stack have been deleted, but the history and configuration associated with the stack are still maintained.\n`;
    }
    this.fail(`error: the CLI double does not know \`pulumi ${args.join(" ")}\``);
  }

  private setAll(args: string[]): string {
    const s = this.existing(this.stackArg(args));
    const path = args.includes("--path");
    for (let i = 0; i < args.length; i++) {
      if (args[i] !== "--plaintext" && args[i] !== "--secret") continue;
      const pair = args[++i];
      const eq = pair.indexOf("=");
      const key = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const secret = args[i - 1] === "--secret";
      if (!path) {
        s.config[key] = { value, secret };
        continue;
      }
      const [top, segments] = splitPath(key);
      if (segments.length === 0) {
        s.config[top] = { value, secret };
        continue;
      }
      if (secret) this.fail("error: the CLI double keeps secrets at the top level only");
      const current = s.config[top];
      const root: unknown = current?.objectValue ?? (typeof segments[0] === "number" ? [] : {});
      setIn(root, segments, typed(value));
      s.config[top] = { value: JSON.stringify(root), objectValue: root, secret: false } satisfies StoredConfigValue;
    }
    return "";
  }
}

/** "fp-dr:restore.repo" → ["fp-dr:restore", ["repo"]]; 'ns:a[0]["b c"]' → ["ns:a", [0, "b c"]]. */
export function splitPath(key: string): [string, (string | number)[]] {
  const colon = key.indexOf(":");
  const rest = key.slice(colon + 1);
  const m = /^[^.[]+/.exec(rest);
  const top = key.slice(0, colon + 1) + (m ? m[0] : "");
  const segments: (string | number)[] = [];
  const re = /\.([^.[]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]/g;
  const tail = rest.slice(m ? m[0].length : 0);
  let match: RegExpExecArray | null;
  while ((match = re.exec(tail)) !== null) {
    if (match[1] !== undefined) segments.push(match[1]);
    else if (match[2] !== undefined) segments.push(Number(match[2]));
    else segments.push(JSON.parse(`"${match[3]}"`) as string);
  }
  return [top, segments];
}

/** Pulumi's --path typing: "true"/"false" → booleans, integers → numbers, else strings. */
function typed(value: string): unknown {
  if (value === "true" || value === "false") return value === "true";
  if (/^[+-]?\d+$/.test(value)) return Number(value);
  return value;
}

function setIn(root: unknown, segments: (string | number)[], value: unknown): void {
  let cur = root as Record<string | number, unknown>;
  segments.forEach((seg, i) => {
    if (i === segments.length - 1) {
      cur[seg] = value;
      return;
    }
    if (typeof cur[seg] !== "object" || cur[seg] === null) cur[seg] = typeof segments[i + 1] === "number" ? [] : {};
    cur = cur[seg] as Record<string | number, unknown>;
  });
}
