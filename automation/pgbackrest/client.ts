// Runs pgBackRest commands for one stanza and one configuration file, as the service user.
// Every failure becomes a DrError with our code, pgBackRest's own message and a hint.
import { DrError } from "../core/errors";
import { redact } from "../core/redact";
import { CommandFailed, run, type RunResult } from "../system/exec";
import type { ServiceUser } from "../system/service-user";
import { mapPgbackrestError, pgbackrestErrorLines } from "./errors";
import { parseInfo, toBackupSet, type BackupSet, type StanzaInfo } from "./info";
import { backupArgs, restoreArgs, verifyArgs, type BackupOptions, type RestoreOptions, type VerifyOptions } from "./options";

export interface PgbackrestClientOptions {
  configPath: string;
  stanza: string;
  user: ServiceUser;
  /** Binary (default: pgbackrest on PATH). */
  bin?: string;
}

export class Pgbackrest {
  constructor(readonly opts: PgbackrestClientOptions) {}

  /** Runs `pgbackrest --config … --stanza … <args>` and maps failures. */
  async exec(args: string[], extra: { timeoutMs?: number; onLine?: (line: string) => void; onSpawn?: (pid: number) => void } = {}): Promise<RunResult> {
    const command = args[args.length - 1];
    const argv = [`--config=${this.opts.configPath}`, `--stanza=${this.opts.stanza}`, ...args];
    try {
      return await run(this.opts.bin ?? "pgbackrest", argv, {
        as: this.opts.user,
        timeoutMs: extra.timeoutMs,
        onLine: extra.onLine ? (l) => extra.onLine!(l) : undefined,
        onSpawn: extra.onSpawn,
      });
    } catch (e) {
      if (!(e instanceof CommandFailed)) throw e;
      const mapping = mapPgbackrestError(e.result.code, command);
      const lines = pgbackrestErrorLines(e.result.stderr + "\n" + e.result.stdout);
      const what = lines.length ? lines.join("; ") : e.message;
      throw new DrError(mapping.code, redact(`pgbackrest ${command} failed: ${what}`), {
        hint: mapping.hint,
        cause: e,
        details: { pgbackrestCode: e.result.code, command },
      });
    }
  }

  stanzaCreate(): Promise<RunResult> {
    return this.exec(["stanza-create"]);
  }

  /** pgBackRest `check`: archiving works end to end into every repository. */
  check(timeoutMs = 120_000): Promise<RunResult> {
    return this.exec(["--archive-timeout=60", "check"], { timeoutMs });
  }

  backup(o: BackupOptions, onLine?: (line: string) => void): Promise<RunResult> {
    return this.exec(["--log-level-console=info", ...backupArgs(o)], { onLine });
  }

  restore(o: RestoreOptions, onLine?: (line: string) => void, onSpawn?: (pid: number) => void): Promise<RunResult> {
    return this.exec(["--log-level-console=info", ...restoreArgs(o)], { onLine, onSpawn });
  }

  /** Verify checksums and WAL continuity; returns pgBackRest's text report (it also fails with code 104 on errors). */
  verify(o: VerifyOptions = {}): Promise<RunResult> {
    return this.exec(verifyArgs(o));
  }

  async info(o: { repo?: 1 | 2; set?: string } = {}): Promise<StanzaInfo> {
    const args = [...(o.repo ? [`--repo=${o.repo}`] : []), ...(o.set ? [`--set=${o.set}`] : []), "--output=json", "info"];
    const result = await this.exec(args);
    let parsed: StanzaInfo[];
    try {
      parsed = parseInfo(result.stdout);
    } catch (e) {
      throw new DrError("PGBACKREST_FAILED", `could not read pgbackrest info output: ${(e as Error).message.split("\n")[0]}`, {
        hint: "pgBackRest's JSON format may have changed; fp-dr is tested with pgBackRest 2.45",
        cause: e,
      });
    }
    const stanza = parsed.find((s) => s.name === this.opts.stanza);
    if (!stanza) throw new DrError("REPO_UNKNOWN", `stanza ${this.opts.stanza} not found in the repositories`, { hint: "run `dr lab up` or stanza-create first" });
    return stanza;
  }

  /** Every backup set in every reachable repository, oldest first. */
  async sets(o: { repo?: 1 | 2 } = {}): Promise<BackupSet[]> {
    const info = await this.info(o);
    return info.backup.map(toBackupSet).sort((a, b) => a.stoppedAt.getTime() - b.stoppedAt.getTime());
  }
}
