// Proves the restore estimate's rate comes from this environment's history: the median of the
// newest measured restores in real journal files, dry runs and unmeasured runs ignored, and the
// conservative 50 MB/s (said as assumed) when nothing was measured yet.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "node:test";
import { Journal } from "../core/journal";
import type { RunRecord } from "../core/run-record";
import { CONSERVATIVE_RESTORE_BYTES_PER_SECOND, restoreRate } from "./rate";

const MB = 1024 * 1024;

function run(id: string, at: string, restore?: { bytes?: number; filesMs: number }, dryRun = false): RunRecord {
  const facts = restore ? { restore: { set: "s", repo: 2, recoveryMs: 1000, ...restore } } : {};
  return { runId: id, scenario: "drill", declaredAt: at, dryRun, facts, steps: [], notes: [] } as unknown as RunRecord;
}

test("no restore measured yet: the conservative rate, said to be assumed", () => {
  const r = restoreRate([run("drill-a", "2026-01-01T00:00:00Z"), run("drill-b", "2026-01-02T00:00:00Z", { filesMs: 5000 })]);
  assert.equal(r.bytesPerSecond, CONSERVATIVE_RESTORE_BYTES_PER_SECOND);
  assert.equal(CONSERVATIVE_RESTORE_BYTES_PER_SECOND, 50 * MB);
  assert.match(r.source, /assumed/);
});

test("the median of the newest measured restores in the journal, dry runs left out", () => {
  const dir = mkdtempSync(join(tmpdir(), "fp-dr-rate-"));
  try {
    const j = new Journal(dir);
    // 55 MB in 6.9 s, 55 MB in 5.5 s, 110 MB in 10 s: 8, 10, 11 MB/s; median 10 MB/s.
    j.save(run("drill-1", "2026-01-01T00:00:00Z", { bytes: 55 * MB, filesMs: 6875 }));
    j.save(run("drill-2", "2026-01-02T00:00:00Z", { bytes: 55 * MB, filesMs: 5500 }));
    j.save(run("drill-3", "2026-01-03T00:00:00Z", { bytes: 110 * MB, filesMs: 10000 }));
    j.save(run("drill-4", "2026-01-04T00:00:00Z", { bytes: 55 * MB, filesMs: 1 }, true));
    const r = restoreRate(j.list());
    assert.equal(Math.round(r.bytesPerSecond / MB), 10);
    assert.match(r.source, /median of the last 3 restores measured in this environment/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("only the newest ten count: an old fast machine's history does not flatter the estimate", () => {
  const old = Array.from({ length: 10 }, (_, i) => run(`drill-old${i}`, `2025-01-0${i % 9 + 1}T00:00:00Z`, { bytes: 500 * MB, filesMs: 1000 }));
  const recent = Array.from({ length: 10 }, (_, i) => run(`drill-new${i}`, `2026-02-0${i % 9 + 1}T0${i}:00:00Z`, { bytes: 10 * MB, filesMs: 1000 }));
  assert.equal(restoreRate([...old, ...recent]).bytesPerSecond, 10 * MB);
});
