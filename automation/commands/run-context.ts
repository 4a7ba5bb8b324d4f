// Where a recovery run keeps its state and which engine acts: the lab dir on the local
// engine; the configured paths on the pulumi engine.
import { join } from "node:path";
import { createInterface } from "node:readline/promises";
import type { Deps } from "../cli/context";
import type { DrConfig } from "../config/schema";
import { Journal } from "../core/journal";
import type { RunnerDeps } from "../core/runner";
import type { Engine } from "../engines/engine";
import { Lab } from "../engines/local/lab";
import { LocalEngine } from "../engines/local/engine";
import { pulumiJournalDir } from "../engines/pulumi/journal-dir";

export function stateDirFor(config: DrConfig): string {
  return Lab.dirFor(config);
}

/** The journal (and the run lock) of this environment: in the lab dir, or pulumi.journalDir on AWS. */
export function journalFor(config: DrConfig): Journal {
  return new Journal(config.engine === "pulumi" ? pulumiJournalDir(config) : join(stateDirFor(config), "journal"));
}

export async function engineFor(deps: Deps): Promise<Engine> {
  if (deps.config.engine === "pulumi") {
    // Loaded only here: the Pulumi SDK and the AWS clients cost every other command ~0.9 s.
    const { openPulumiEngine } = await import("../engines/pulumi/open");
    return openPulumiEngine(deps.config, { onOutput: (line) => deps.out.debug(line), onAccess: (line) => deps.out.info(line) });
  }
  return new LocalEngine(() => Lab.open(deps.config), deps.out);
}

/** A yes/no question on the terminal; absent when nobody is there to answer. */
function terminalConfirm(): ((q: string) => Promise<boolean>) | undefined {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  return async (question) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
    } finally {
      rl.close();
    }
  };
}

export async function runnerDepsFor(deps: Deps, engine?: Engine): Promise<RunnerDeps> {
  engine ??= await engineFor(deps);
  const journal = journalFor(deps.config);
  return {
    engine,
    config: deps.config,
    out: deps.out,
    journal,
    lockPath: join(journal.dir, `${deps.config.environment}.lock`),
    confirm: terminalConfirm(),
  };
}
