// A throwaway lab for scenario tests: its own directory, ports and daemons, so test files
// never share state with each other or with an operator's lab. Always torn down, even when
// the test fails.
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { Deps } from "../../automation/cli/context";
import { parseConfig } from "../../automation/config/load";
import type { DrConfig, DrConfigInput } from "../../automation/config/schema";
import { Output } from "../../automation/core/output";
import { Lab } from "../../automation/engines/local/lab";
import { archiveThrough, describeArchiveWait } from "../../automation/postgres/archiver";

export interface TestLab {
  /** A freshly opened Lab (commands change lab.json; a stale instance would not see it). */
  readonly lab: Lab;
  config: DrConfig;
  dir: string;
  /** Deps for command functions, with output captured into `captured`. */
  deps(): Deps;
  captured: string[];
  destroy(): Promise<void>;
}

export function capture(into: string[]): NodeJS.WritableStream {
  return new Writable({
    write(chunk, _enc, cb) {
      into.push(chunk.toString());
      cb();
    },
  });
}

/** Builds a lab at a small scale (default 0.05 ≈ 3 MB of sample data). */
export async function startTestLab(overrides: Partial<DrConfigInput> = {}, opts: { scale?: number; skipBackup?: boolean } = {}): Promise<TestLab> {
  const dir = mkdtempSync(join(tmpdir(), "fp-dr-test-lab-"));
  chmodSync(dir, 0o755);
  const config = parseConfig({ ...overrides, lab: { ...(overrides.lab ?? {}), dir, scale: opts.scale ?? 0.05 } });
  const captured: string[] = [];
  const deps = (): Deps => ({ config, out: new Output({ json: false, stdout: capture(captured), stderr: capture(captured) }) });
  try {
    await Lab.up(config, { skipBackup: opts.skipBackup });
  } catch (e) {
    await Lab.teardown(config, { purge: true });
    throw e;
  }
  return {
    get lab() {
      return Lab.open(config);
    },
    config,
    dir,
    deps,
    captured,
    async destroy() {
      await Lab.teardown(config, { purge: true });
    },
  };
}

/**
 * Everything committed so far is archived: the product's own wait (which wakes an archiver that
 * backed off after a failure). On a timeout the error carries the archiver's state and the tail
 * of the site's pgBackRest logs, so that a CI failure says why.
 */
export async function archiveNow(lab: Lab, site = "primary"): Promise<void> {
  const c = await lab.connect(site);
  try {
    const wait = await archiveThrough(c);
    if (!wait.archived) throw new Error(`${describeArchiveWait(wait)}\n${logTails(join(lab.layout.pgbackrestDir, "log"))}`);
  } finally {
    await c.end();
  }
}

function logTails(dir: string): string {
  if (!existsSync(dir)) return `(no pgBackRest log directory ${dir})`;
  return readdirSync(dir)
    .map((f) => `--- ${f}\n${readFileSync(join(dir, f), "utf8").split("\n").slice(-15).join("\n")}`)
    .join("\n");
}
