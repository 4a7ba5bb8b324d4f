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
  /**
   * Our own deadline (ms): a restore or backup that logs no finished file for this long is
   * ended; any other command must finish within it. Default 60 s (config pgbackrest.stallTimeout).
   */
  stallTimeoutMs?: number;
}

export interface ExecExtra {
  /** Total deadline (default: the stall bound, unless the command streams progress). */
  timeoutMs?: number;
  /** Deadline without output (commands that log every file they copy). */
  idleTimeoutMs?: number;
  onLine?: (line: string) => void;
  signal?: AbortSignal;
  /** Called with the child's pid once it runs (a restore records it in its target's lock). */
  onSpawn?: (pid: number) => void;
}

/**
 * pgBackRest's own bounds for the calls that have no reason to run long, over the configuration
 * file's (written for backups and restores: io-timeout 20 s, db-timeout 10 min). pgBackRest tries
 * a stalled storage request four times, so a hung store costs a catalogue read about 4 × 3 s
 * instead of 4 × 20 s (health, status and every pre-check read the catalogue). Backups, restores
 * and verify keep the file's bounds: our idle deadline watches their progress.
 */
export const CALL_BOUNDS: Readonly<Record<string, readonly string[]>> = {
  info: ["--io-timeout=3"],
  "repo-ls": ["--io-timeout=3"],
  // one WAL segment (16 MiB) to read back
  "archive-get": ["--io-timeout=10"],
  // a pg_switch_wal and a few catalogue queries; protocol-timeout must stay above db-timeout
  check: ["--db-timeout=30", "--protocol-timeout=60"],
  "stanza-create": ["--db-timeout=30", "--protocol-timeout=60", "--io-timeout=10"],
};

/** A backup also waits silently for its start checkpoint and for the last WAL to be archived. */
const BACKUP_SILENT_WAITS_MS = 120_000;

export class Pgbackrest {
  constructor(readonly opts: PgbackrestClientOptions) {}

  get stallTimeoutMs(): number {
    return this.opts.stallTimeoutMs ?? 60_000;
  }

  /** Runs `pgbackrest --config … --stanza … <args>` within its deadline and maps failures. */
  async exec(args: string[], extra: ExecExtra = {}): Promise<RunResult> {
    // the first word that is not an option (archive-get has its segment and file after it)
    const command = args.find((a) => !a.startsWith("--")) ?? "";
    const argv = [`--config=${this.opts.configPath}`, `--stanza=${this.opts.stanza}`, ...(CALL_BOUNDS[command] ?? []), ...args];
    try {
      return await run(this.opts.bin ?? "pgbackrest", argv, {
        as: this.opts.user,
        timeoutMs: extra.timeoutMs ?? (extra.idleTimeoutMs ? undefined : this.stallTimeoutMs),
        idleTimeoutMs: extra.idleTimeoutMs,
        signal: extra.signal,
        onLine: extra.onLine ? (l) => extra.onLine!(l) : undefined,
        onSpawn: extra.onSpawn,
      });
    } catch (e) {
      if (!(e instanceof CommandFailed)) throw e;
      if (e.code === "TIMEOUT") {
        // "pgbackrest made no progress for 60s: <last log line>": the bound is the news.
        throw new DrError("TIMEOUT", `pgbackrest ${command} ${e.message.replace(/^\S+ /, "").replace(/: .*$/s, "")}`, {
          hint: "the repository's store stopped answering, or the command hung; `dr lab status` shows the store",
          cause: e,
          details: { command },
        });
      }
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

  /** At detail level pgBackRest logs every file it copies: that output is the progress signal. */
  backup(o: BackupOptions, onLine?: (line: string) => void): Promise<RunResult> {
    return this.exec(["--log-level-console=detail", ...backupArgs(o)], { onLine, idleTimeoutMs: this.stallTimeoutMs + BACKUP_SILENT_WAITS_MS });
  }

  /** Each restored file is logged with its size and the percentage done (restore/progress.ts reads it). */
  restore(o: RestoreOptions, extra: Pick<ExecExtra, "onLine" | "signal" | "onSpawn"> = {}): Promise<RunResult> {
    return this.exec(["--log-level-console=detail", ...restoreArgs(o)], { ...extra, idleTimeoutMs: this.stallTimeoutMs });
  }

  /**
   * Verify checksums and WAL continuity; returns pgBackRest's text report (it also fails with
   * code 104 on errors). It logs nothing while it reads every file: io-timeout bounds each read,
   * an hour the whole.
   */
  verify(o: VerifyOptions = {}): Promise<RunResult> {
    return this.exec(verifyArgs(o), { timeoutMs: 3600_000 });
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
