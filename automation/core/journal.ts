// The journal: one JSON file per run, rewritten atomically after every step, so that a run
// killed at any point (kill -9 included) can be resumed from exactly what it had finished.
// Shared (`share`), every save is also copied to the shared store (`runs/<environment>/<run-id>.json`),
// so that `dr resume` works from any machine with access, not only from the one that died.
// A store that stops answering costs the run one bounded wait, not one per save: after the first
// copy that fails, saves are kept locally only, and the last one is copied once at the run's end.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync, fsyncSync, openSync, closeSync } from "node:fs";
import { join } from "node:path";
import { DrError, isDrError } from "./errors";
import { redactValue } from "./redact";
import type { RunRecord } from "./run-record";
import type { SharedStore } from "./shared-store";

export function sharedRunKey(environment: string, runId: string, file = ""): string {
  return file ? `runs/${environment}/${runId}/${file}` : `runs/${environment}/${runId}.json`;
}

export class Journal {
  private shared?: { store: SharedStore; environment: string };
  /** Uploads in order; the runner waits for them at every step boundary (`flush`). */
  private uploads: Promise<void> = Promise.resolve();
  private uploadError?: Error;
  /** Set by the first copy that failed: later saves are not copied until the final flush. */
  private copyFailed = false;
  /** The newest save of each run not copied since (the final flush copies it). */
  private readonly unsent = new Map<string, string>();

  constructor(readonly dir: string) {}

  /** Copies every save to the shared store from now on. */
  share(store: SharedStore, environment: string): this {
    this.shared = { store, environment };
    return this;
  }

  /** The shared store did not take the last copy tried (after the final flush: the run's end is not there). */
  get copyFailing(): boolean {
    return this.copyFailed && this.unsent.size > 0;
  }

  get sharedStore(): SharedStore | undefined {
    return this.shared?.store;
  }

  private file(runId: string): string {
    return join(this.dir, `${runId}.json`);
  }

  /** Writes the record durably: temp file, fsync, rename. Secrets are masked before writing. */
  save(record: RunRecord): void {
    mkdirSync(this.dir, { recursive: true });
    const path = this.file(record.runId);
    const tmp = `${path}.tmp-${process.pid}`;
    const body = JSON.stringify(redactValue(record), null, 2) + "\n";
    if (this.shared) {
      const { store, environment } = this.shared;
      const key = sharedRunKey(environment, record.runId);
      this.uploads = this.uploads
        .then(() => (this.copyFailed ? void this.unsent.set(key, body) : store.put(key, body).then(() => void this.unsent.delete(key))))
        .catch((e: unknown) => {
          this.uploadError = e as Error;
          this.copyFailed = true;
          this.unsent.set(key, body);
        });
    }
    writeFileSync(tmp, body);
    const fd = openSync(tmp, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  }

  /**
   * Waits for the copies to the shared store; throws if one failed (the local journal has it).
   * `final` (the run's end): what was not copied since a failure is tried once more.
   */
  async flush(opts: { final?: boolean } = {}): Promise<void> {
    await this.uploads;
    if (opts.final && this.copyFailed && this.shared) {
      const { store } = this.shared;
      for (const [key, body] of [...this.unsent]) {
        try {
          await store.put(key, body);
          this.unsent.delete(key);
        } catch (e) {
          this.uploadError ??= e as Error;
          break;
        }
      }
    }
    const e = this.uploadError;
    this.uploadError = undefined;
    if (e) throw isDrError(e) ? e : new DrError("STORE_UNREACHABLE", `could not copy the journal to the shared store: ${e.message}`, { hint: "the run's local journal is complete; check the shared store", cause: e });
  }

  /** A run from this machine's journal, else from the shared store (another machine's run). */
  async loadAnywhere(runId: string): Promise<RunRecord> {
    if (existsSync(this.file(runId)) || !this.shared || !/^[a-z0-9-]+$/.test(runId)) return this.load(runId);
    const doc = await this.shared.store.get(sharedRunKey(this.shared.environment, runId));
    if (!doc) throw new DrError("RUN_UNKNOWN", `no run ${runId} in ${this.dir} nor in ${this.shared.store.where}`, { hint: "`dr report list` shows the runs" });
    return JSON.parse(doc.body) as RunRecord;
  }

  load(runId: string): RunRecord {
    const path = this.file(runId);
    if (!/^[a-z0-9-]+$/.test(runId) || !existsSync(path)) {
      throw new DrError("RUN_UNKNOWN", `no run ${runId} in ${this.dir}`, { hint: "`dr report list` shows the runs" });
    }
    return JSON.parse(readFileSync(path, "utf8")) as RunRecord;
  }

  list(): RunRecord[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((f) => f.endsWith(".json"))
      .map((f) => JSON.parse(readFileSync(join(this.dir, f), "utf8")) as RunRecord)
      .sort((a, b) => b.declaredAt.localeCompare(a.declaredAt));
  }
}
