// Where a recovery run keeps its state and which engine acts: the lab dir on the local
// engine; the configured paths on the pulumi engine.
import { join } from "node:path";
import { createInterface } from "node:readline/promises";
import type { Deps } from "../cli/context";
import type { DrConfig } from "../config/schema";
import { DrError } from "../core/errors";
import { Journal } from "../core/journal";
import type { RunnerDeps } from "../core/runner";
import type { Engine } from "../engines/engine";
import { Lab } from "../engines/local/lab";
import { LocalEngine } from "../engines/local/engine";

export function stateDirFor(config: DrConfig): string {
  return Lab.dirFor(config);
}

export function journalFor(config: DrConfig): Journal {
  return new Journal(join(stateDirFor(config), "journal"));
}

export function engineFor(deps: Deps): Engine {
  if (deps.config.engine === "local") return new LocalEngine(() => Lab.open(deps.config), deps.out);
  throw new DrError("CONFIG_INVALID", "the pulumi engine is not wired to the runner yet", { hint: "use engine: local (the lab), see README" });
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

export function runnerDepsFor(deps: Deps, engine = engineFor(deps)): RunnerDeps {
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
