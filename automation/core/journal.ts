// The journal: one JSON file per run, rewritten atomically after every step, so that a run
// killed at any point (kill -9 included) can be resumed from exactly what it had finished.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync, fsyncSync, openSync, closeSync } from "node:fs";
import { join } from "node:path";
import { DrError } from "./errors";
import { redactValue } from "./redact";
import type { RunRecord } from "./run-record";

export class Journal {
  constructor(readonly dir: string) {}

  private file(runId: string): string {
    return join(this.dir, `${runId}.json`);
  }

  /** Writes the record durably: temp file, fsync, rename. Secrets are masked before writing. */
  save(record: RunRecord): void {
    mkdirSync(this.dir, { recursive: true });
    const path = this.file(record.runId);
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(redactValue(record), null, 2) + "\n");
    const fd = openSync(tmp, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
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
