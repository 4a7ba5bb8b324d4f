// What a recovery run is given: which engine acts, its journal, the shared store of its lease and
// journal copies (core/shared-store-open.ts),
// and someone to confirm destructive steps when a terminal is there.
import { createInterface } from "node:readline/promises";
import type { Deps } from "./deps";
import type { RunnerDeps } from "../plans/runner";
import type { Engine } from "../engines/engine";
import { Lab } from "../engines/local/lab";
import { LocalEngine } from "../engines/local/engine";
import { journalFor } from "../core/state-dirs";
import { sharedStoreFor } from "./shared-store";

export async function engineFor(deps: Deps): Promise<Engine> {
  if (deps.config.engine === "pulumi") {
    // Loaded only here: the Pulumi SDK and the AWS clients cost every other command ~0.9 s.
    // require, not import(): from the sources dr runs under tsx's CommonJS hook, where a dynamic
    // import() of a .ts path does not resolve.
    const { openPulumiEngine } = require("../engines/pulumi/open") as typeof import("../engines/pulumi/open");
    return openPulumiEngine(deps.config, { onOutput: (line) => deps.out.debug(line), onAccess: (line) => deps.out.info(line) });
  }
  return new LocalEngine(() => Lab.open(deps.config), deps.out);
}

/** A yes/no question on the terminal; absent when nobody is there to answer. */
export function terminalConfirm(): ((q: string) => Promise<boolean>) | undefined {
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
  const store = await sharedStoreFor(deps.config);
  return {
    engine,
    config: deps.config,
    out: deps.out,
    journal: journalFor(deps.config).share(store, deps.config.environment),
    store,
    confirm: terminalConfirm(),
  };
}
