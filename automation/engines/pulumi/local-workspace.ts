// StackOps on the Automation API's LocalWorkspace, for this repository's Pulumi project (the
// directory holding Pulumi.yaml; its Pulumi.<stack>.yaml files are the stacks' config). Every
// CLI call goes through `pulumiCommand`: the real CLI by default, a recording double in the
// contract test. CLI failures become DrErrors with stable codes:
//   ConcurrentUpdateError, "conflict: another update is currently in progress",
//   "the stack is currently locked by"                → STACK_LOCKED (retryable)
//   StackNotFoundError                                 → STACK_NOT_FOUND
//   anything else                                      → PULUMI_FAILED (the CLI's last lines)
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import {
  CommandError,
  ConcurrentUpdateError,
  LocalWorkspace,
  PulumiCommand,
  Stack,
  StackNotFoundError,
  type ConfigMap,
} from "@pulumi/pulumi/automation";
import { DrError, withContext } from "../../core/errors";
import { redact, registerSecret } from "../../core/redact";
import { packageRoot } from "../../system/package-root";
import type { ConfigEntries, RawOutputs, StackOps, StoredConfig, UpOutcome, UpRequest } from "./stack-ops";

/**
 * What LocalWorkspace needs of the CLI (cmd.js in @pulumi/pulumi 3.247): `command`, `version`
 * and the internal `run(args, cwd, env, onOutput?, onError?, signal?)` resolving to
 * { stdout, stderr, code } or rejecting with a CommandError (createCommandError classifies it
 * by stderr). The real PulumiCommand appends --non-interactive to every argument list.
 */
export interface PulumiCli {
  readonly command: string;
  readonly version: PulumiCommand["version"];
  run(
    args: string[],
    cwd: string,
    env: { [key: string]: string },
    onOutput?: (data: string) => void,
    onError?: (data: string) => void,
    signal?: AbortSignal,
  ): Promise<{ stdout: string; stderr: string; code: number }>;
}

export interface LocalWorkspaceOptions {
  /** Directory holding Pulumi.yaml. Default: the repository root of this toolkit. */
  workDir?: string;
  /** The CLI: a double in tests. Default: `command` found by PulumiCommand.get. */
  pulumiCommand?: PulumiCli;
  /** "pulumi" (from PATH) or a path ending in bin/pulumi. Default "pulumi". */
  command?: string;
  /** Self-managed backend URL, passed as PULUMI_BACKEND_URL. Default: the CLI's own. */
  backendUrl?: string;
  /** Secrets provider for stacks created here (`stack init --secrets-provider`). */
  secretsProvider?: string;
  /** Extra environment for the CLI (merged over the defaults). */
  envVars?: Record<string, string>;
}

/** The toolkit's own directory (it holds Pulumi.yaml). */
export function defaultWorkDir(): string {
  return packageRoot;
}

/**
 * The CLI's own text from a failed command, redacted. The SDK's exec wraps a non-zero exit's
 * CommandError once more (its message, "code: …\n stdout: …\n stderr: …\n err?: …", becomes
 * the new stderr), so the innermost stderr is dug out.
 */
export function cliOutput(err: unknown): string {
  const result = (err as { commandResult?: { stderr?: string; stdout?: string } }).commandResult;
  let text = result?.stderr || result?.stdout || (err instanceof Error ? err.message : String(err));
  for (let i = 0; i < 3; i++) {
    const inner = /(?:^|\n)\s*stderr: ([\s\S]*?)\n\s*err\?: /.exec(text);
    if (!inner || inner[1].trim() === "") break;
    text = inner[1];
  }
  return redact(text);
}

const lockedPatterns = [/conflict: another update is currently in progress/i, /\[409\] conflict/i, /the stack is currently locked by/i];

/** The last meaningful lines of CLI output, for a one-glance message. */
function tail(text: string, lines = 8): string {
  const kept = text
    .split("\n")
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== "");
  return kept.slice(-lines).join("\n  ");
}

/** Maps anything an Automation API call threw to a DrError with context ("while <doing>: …"). */
export function pulumiError(doing: string, stack: string, err: unknown): DrError {
  if (err instanceof DrError) return withContext(doing, err);
  const output = cliOutput(err);
  if (err instanceof ConcurrentUpdateError || lockedPatterns.some((p) => p.test(output))) {
    return new DrError("STACK_LOCKED", `while ${doing}: stack ${stack} is locked by another update\n  ${tail(output, 4)}`, {
      hint: `wait for the other update and resume; if none is running (a killed run), clear the lock: \`pulumi cancel -s ${stack}\` on Pulumi Cloud, or delete the stack's file under .pulumi/locks/ in a self-managed backend`,
      cause: err,
      details: { stack },
    });
  }
  if (err instanceof StackNotFoundError) {
    return new DrError("STACK_NOT_FOUND", `while ${doing}: no stack named ${stack} in the backend`, {
      hint: "check PULUMI_BACKEND_URL / pulumi.backendUrl, and pulumi.stacks or sites.<name>.stack in the dr config; create it with `pulumi stack init`",
      cause: err,
      details: { stack },
    });
  }
  if (err instanceof CommandError) {
    return new DrError("PULUMI_FAILED", `while ${doing}: pulumi failed\n  ${tail(output)}`, {
      hint: "read the pulumi output above, fix the cause, then resume the run (its steps are idempotent)",
      cause: err,
      details: { stack },
    });
  }
  return withContext(doing, err);
}

export class LocalWorkspaceStackOps implements StackOps {
  private readonly stacks = new Map<string, Stack>();

  constructor(readonly workspace: LocalWorkspace) {}

  private async call<T>(doing: string, stack: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw pulumiError(doing, stack, e);
    }
  }

  private async stack(name: string): Promise<Stack> {
    const known = this.stacks.get(name);
    if (known) return known;
    const s = await this.call(`selecting stack ${name}`, name, () => Stack.select(name, this.workspace));
    this.stacks.set(name, s);
    return s;
  }

  async select(name: string): Promise<void> {
    await this.stack(name);
  }

  async selectOrCreate(name: string): Promise<"selected" | "created"> {
    if (this.stacks.has(name)) return "selected";
    try {
      this.stacks.set(name, await Stack.select(name, this.workspace));
      return "selected";
    } catch (e) {
      if (!(e instanceof StackNotFoundError)) throw pulumiError(`selecting stack ${name}`, name, e);
    }
    const s = await this.call(`creating stack ${name}`, name, () => Stack.create(name, this.workspace));
    this.stacks.set(name, s);
    return "created";
  }

  async getAllConfig(name: string): Promise<StoredConfig> {
    const config = await this.call(`reading the config of stack ${name}`, name, () => this.workspace.getAllConfig(name));
    const stored = config as unknown as StoredConfig;
    for (const v of Object.values(stored)) if (v.secret) registerSecret(v.value);
    return stored;
  }

  async setConfig(name: string, entries: ConfigEntries, opts: { path: boolean }): Promise<void> {
    const map: ConfigMap = {};
    for (const [k, v] of Object.entries(entries)) {
      if (v.secret) registerSecret(v.value);
      map[k] = { value: v.value, secret: v.secret ?? false };
    }
    await this.call(`setting config of stack ${name} (${Object.keys(entries).join(", ")})`, name, () => this.workspace.setAllConfig(name, map, opts.path));
  }

  async removeConfig(name: string, keys: string[]): Promise<void> {
    await this.call(`removing config of stack ${name} (${keys.join(", ")})`, name, () => this.workspace.removeAllConfig(name, keys));
  }

  async up(name: string, req: UpRequest = {}): Promise<UpOutcome> {
    const s = await this.stack(name);
    const doing = `running pulumi up on stack ${name}${req.targets?.length ? ` (${req.targets.length} targets)` : ""}`;
    // refresh is never passed: the SDK adds --refresh only when it is true.
    const result = await this.call(doing, name, () => s.up({ target: req.targets, message: req.message, onOutput: req.onOutput }));
    return { outputs: result.outputs as RawOutputs };
  }

  async outputs(name: string): Promise<RawOutputs> {
    return (await this.call(`reading the outputs of stack ${name}`, name, () => this.workspace.stackOutputs(name))) as RawOutputs;
  }

  async destroy(name: string, opts: { onOutput?: (text: string) => void } = {}): Promise<void> {
    const s = await this.stack(name);
    await this.call(`destroying stack ${name}`, name, () => s.destroy({ onOutput: opts.onOutput }));
  }

  async listStacks(): Promise<string[]> {
    return (await this.call("listing the stacks", "*", () => this.workspace.listStacks())).map((st) => st.name);
  }

  async removeStack(name: string): Promise<void> {
    await this.call(`removing stack ${name}`, name, () => this.workspace.removeStack(name));
    this.stacks.delete(name);
  }
}

/**
 * Refuses a project whose Pulumi.yaml turns on refresh for every update (options.refresh:
 * always): the engine must never refresh resources in a failed region.
 */
export function assertNoAutoRefresh(workDir: string): void {
  const file = join(workDir, "Pulumi.yaml");
  if (!existsSync(file)) {
    throw new DrError("CONFIG_INVALID", `no Pulumi.yaml in ${workDir}`, { hint: "set pulumi.workDir to the directory holding this project's Pulumi.yaml" });
  }
  const project = (parseYaml(readFileSync(file, "utf8")) ?? {}) as { options?: { refresh?: unknown } };
  if (project.options?.refresh === "always") {
    throw new DrError("CONFIG_INVALID", `${file} sets options.refresh: always`, {
      hint: "remove it: a failover must not refresh resources in the failed region",
    });
  }
}

/** The real CLI (`pulumi version` runs here); DEPENDENCY_MISSING when there is none. */
async function realCli(command: string): Promise<PulumiCli> {
  if (command !== "pulumi" && !(basename(command) === "pulumi" && basename(dirname(command)) === "bin")) {
    throw new DrError("CONFIG_INVALID", `pulumi.command must be "pulumi" or a path ending in bin/pulumi, not ${command}`, { hint: "point it at <install root>/bin/pulumi" });
  }
  try {
    const cli = command === "pulumi" ? await PulumiCommand.get() : await PulumiCommand.get({ root: dirname(dirname(command)) });
    return cli as unknown as PulumiCli;
  } catch (e) {
    throw new DrError("DEPENDENCY_MISSING", `the Pulumi CLI is not usable (${command}): ${(e as Error).message.split("\n")[0]}`, {
      hint: "install the Pulumi CLI (https://www.pulumi.com/docs/install/) matching @pulumi/pulumi in package.json, or set pulumi.command",
      cause: e,
    });
  }
}

/** Opens the workspace on the project and returns its StackOps. */
export async function openLocalWorkspace(opts: LocalWorkspaceOptions = {}): Promise<LocalWorkspaceStackOps> {
  const workDir = resolve(opts.workDir ?? defaultWorkDir());
  assertNoAutoRefresh(workDir);
  const envVars: Record<string, string> = { PULUMI_SKIP_UPDATE_CHECK: "true", ...opts.envVars };
  // The backend comes from the environment, not from projectSettings: passing those would
  // make LocalWorkspace rewrite this repository's commented Pulumi.yaml.
  if (opts.backendUrl) envVars.PULUMI_BACKEND_URL = opts.backendUrl;
  const pulumiCommand = opts.pulumiCommand ?? (await realCli(opts.command ?? "pulumi"));
  const workspace = await LocalWorkspace.create({
    workDir,
    pulumiCommand: pulumiCommand as unknown as PulumiCommand,
    envVars,
    secretsProvider: opts.secretsProvider,
  });
  return new LocalWorkspaceStackOps(workspace);
}
