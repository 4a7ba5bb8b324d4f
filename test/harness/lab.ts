// A throwaway lab for scenario tests: its own directory, ports and daemons, so test files
// never share state with each other or with an operator's lab. Always torn down, even when
// the test fails.
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { spawnSync } from "node:child_process";
import type { Deps } from "../../automation/commands/deps";
import { parseConfig } from "../../automation/core/load-config";
import type { DrConfig, DrConfigInput } from "../../automation/config/schema";
import { Output } from "../../automation/core/output";
import { Lab } from "../../automation/engines/local/lab";
import { bringUpLab } from "../../automation/engines/local/lab-up";
import { LAB_SHARED_BUCKET, listStoredObjects } from "../../automation/engines/local/object-store";
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

/**
 * Whether each test lab keeps a standby, by lab directory: `dr` run as a subprocess on that lab
 * gets the same answer through FP_DR_STANDBY (test/harness/cli.ts), not the product default.
 */
export const standbyByLabDir = new Map<string, boolean>();

/**
 * Builds a lab at a small scale (default 0.05 ≈ 3 MB of sample data). Test labs leave the warm
 * standby out (it costs every lab up a standby restore and a second server) unless the test
 * configures `standby`, since only the standby, failback and status scenarios are about it.
 */
export async function startTestLab(overrides: Partial<DrConfigInput> = {}, opts: { scale?: number; skipBackup?: boolean } = {}): Promise<TestLab> {
  const dir = mkdtempSync(join(tmpdir(), "fp-dr-test-lab-"));
  chmodSync(dir, 0o755);
  const standby = overrides.standby ?? { enabled: false };
  const config = parseConfig({ ...overrides, standby, lab: { ...(overrides.lab ?? {}), dir, scale: opts.scale ?? 0.05 } });
  standbyByLabDir.set(dir, config.standby.enabled);
  const captured: string[] = [];
  const deps = (): Deps => ({ config, out: new Output({ json: false, stdout: capture(captured), stderr: capture(captured) }) });
  try {
    await bringUpLab(config, { skipBackup: opts.skipBackup });
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
      standbyByLabDir.delete(dir);
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
    if (!wait.archived) throw new Error(`${describeArchiveWait(wait)}\n${archiveEvidence(lab, site)}`);
  } finally {
    await c.end();
  }
}

/** What a stuck archive looks like from outside: status files, spool, processes, logs. */
function archiveEvidence(lab: Lab, site: string): string {
  const cluster = lab.site(site).cluster;
  const list = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort().slice(-12).join(" ") : "(absent)");
  const tail = (file: string, n = 15, only?: RegExp) =>
    existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((l) => !only || only.test(l)).slice(-n).join("\n") : "(absent)";
  const logDir = join(lab.layout.pgbackrestDir, "log");
  const spool = join(lab.layout.pgbackrestDir, `spool-${site}`, "archive");
  const ps = spawnSync("ps", ["-eo", "pid,etime,args"], { encoding: "utf8" }).stdout.split("\n").filter((l) => /archiver|pgbackrest/.test(l));
  return [
    `--- archive_status: ${list(join(cluster.spec.dataDir, "pg_wal", "archive_status"))}`,
    `--- spool out: ${list(join(spool, lab.config.stanza, "out"))}`,
    `--- processes:\n${ps.join("\n")}`,
    `--- server log (archive lines):\n${tail(cluster.logFile, 20, /archiv|pgbackrest|ERROR|FATAL/i)}`,
    ...(existsSync(logDir) ? readdirSync(logDir).filter((f) => /archive/.test(f)).map((f) => `--- ${f}\n${tail(join(logDir, f))}`) : []),
  ].join("\n");
}

/**
 * The lab's shared documents (journal copies, reports: `runs/…`) as its object store keeps them
 * on disk, keyed as the shared store names them; `under` narrows to a prefix, e.g. "runs/lab/".
 */
export function sharedDocuments(t: TestLab, under = "runs/"): Map<string, string> {
  const prefix = t.config.shared.prefix;
  const docs = new Map<string, string>();
  for (const o of listStoredObjects(t.lab.layout.objectStoreDir, LAB_SHARED_BUCKET, `${prefix}${under}`)) docs.set(o.key.slice(prefix.length), readFileSync(o.path, "utf8"));
  return docs;
}
