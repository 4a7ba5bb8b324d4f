// Proves the benchmark's arithmetic and tables: backups compare with the runbook's backup,
// restores and the copy with the runbook's restore, everything with the raw-copy floor; a
// missing or zero baseline gives no ratio; a tuning recommendation changes the defaults only
// when it wins by more than the noise margin; the tables print what the numbers say.
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { NOISE_MARGIN, ratio, recommend, withRatios } from "./ratios";
import { benchTableRows, formatBufferSize, formatRatio, tuneRestoreRows } from "./table";
import type { BenchMeasurement, TuneRestoreRow, TuneSetting } from "./types";

const rows: BenchMeasurement[] = [
  { id: "runbook-backup", label: "runbook backup", kind: "backup", method: "runbook", wallMs: 28_000, bytes: 400 },
  { id: "full-repo2", label: "full repo2", kind: "backup", method: "pgbackrest", wallMs: 14_000, bytes: 500 },
  { id: "runbook-restore", label: "runbook restore", kind: "restore", method: "runbook", wallMs: 40_000, bytes: 1000 },
  { id: "restore-repo2", label: "restore repo2", kind: "restore", method: "pgbackrest", wallMs: 6_000, bytes: 1000, phases: { files: 4000, recovery: 1900, "first query": 100 } },
  { id: "raw-copy", label: "raw copy", kind: "copy", method: "raw", wallMs: 2_000, bytes: 1100 },
];

describe("bench: ratios", () => {
  it("divides only by a positive baseline", () => {
    assert.equal(ratio(6, 2), 3);
    assert.equal(ratio(6, 0), undefined);
    assert.equal(ratio(undefined, 2), undefined);
    assert.equal(ratio(6, undefined), undefined);
  });

  it("compares backups with the runbook's backup and restores with its restore", () => {
    const r = Object.fromEntries(withRatios(rows).map((x) => [x.id, x]));
    assert.equal(r["full-repo2"].timeVsRunbook, 0.5);
    assert.equal(r["full-repo2"].bytesVsRunbook, 1.25);
    assert.equal(r["restore-repo2"].timeVsRunbook, 0.15);
    assert.equal(r["restore-repo2"].timeVsFloor, 3);
    assert.equal(r["runbook-restore"].timeVsRunbook, 1);
    assert.equal(r["runbook-restore"].timeVsFloor, 20);
    assert.equal(r["raw-copy"].timeVsRunbook, 0.05);
    assert.equal(r["raw-copy"].timeVsFloor, 1);
    assert.equal(r["raw-copy"].bytesVsRunbook, undefined);
  });

  it("leaves ratios out when a baseline was not measured", () => {
    const r = withRatios(rows.filter((x) => x.method !== "raw"));
    assert.ok(r.every((x) => x.timeVsFloor === undefined));
    assert.equal(r.find((x) => x.id === "restore-repo2")?.timeVsRunbook, 0.15);
  });
});

describe("bench: tuning recommendation", () => {
  const current: TuneSetting = { compressType: "lz4", processMax: 2, bufferSize: 1048576 };
  const row = (s: Partial<TuneSetting>, repo: 1 | 2, runs: number[]): TuneRestoreRow => {
    const wallMs = [...runs].sort((a, b) => a - b)[Math.floor(runs.length / 2)];
    return { ...current, ...s, repo, set: "x", wallMs, filesMs: wallMs - 1000, recoveryMs: 900, firstQueryMs: 100, runs };
  };

  it("proposes the fastest offsite restore when it wins by more than the margin in every run", () => {
    const rec = recommend([row({}, 2, [10_000, 9_500, 11_000]), row({ processMax: 4 }, 2, [7_000, 6_800, 7_200]), row({ compressType: "none" }, 1, [1_000])], current)!;
    assert.equal(rec.change, true);
    assert.deepEqual(rec.best, { ...current, processMax: 4 });
    assert.equal(rec.currentMs, 10_000);
    assert.match(rec.reason, /30 % faster/);
  });

  it("calls a median win with overlapping runs noise", () => {
    const rec = recommend([row({}, 2, [10_000, 6_000, 11_000]), row({ processMax: 4 }, 2, [7_000, 6_800, 7_200])], current)!;
    assert.equal(rec.change, false);
    assert.match(rec.reason, /overlap/);
  });

  it("keeps the configured setting within the noise margin or when it is the fastest", () => {
    const close = recommend([row({}, 2, [10_000]), row({ processMax: 4 }, 2, [10_000 * (1 - NOISE_MARGIN / 2)])], current)!;
    assert.equal(close.change, false);
    assert.match(close.reason, /within 10 %/);
    const mine = recommend([row({}, 2, [5_000]), row({ processMax: 1 }, 2, [8_000])], current)!;
    assert.equal(mine.change, false);
    assert.match(mine.reason, /is the fastest/);
  });

  it("says when the configured setting was never measured, and needs the repository asked for", () => {
    const none = recommend([row({ processMax: 1 }, 2, [8_000])], current)!;
    assert.equal(none.change, false);
    assert.equal(none.currentMs, undefined);
    assert.equal(recommend([row({}, 1, [8_000])], current), undefined);
  });
});

describe("bench: tables", () => {
  it("formats ratios, buffer sizes and rows", () => {
    assert.equal(formatRatio(0.153), "0.15×");
    assert.equal(formatRatio(4.24), "4.2×");
    assert.equal(formatRatio(27.4), "27×");
    assert.equal(formatRatio(undefined), "");
    assert.equal(formatBufferSize(1048576), "1MiB");
    assert.equal(formatBufferSize(262144), "256KiB");
    const cells = benchTableRows(withRatios(rows));
    assert.deepEqual(cells[3].slice(0, 6), ["restore repo2", "6s", "1000 B", "", "0.15×", "3.0×"]);
    assert.equal(cells[3][6], "files 4s, recovery 1.9s, first query 100ms");
    assert.equal(cells[0][4], "1×");
    assert.equal(cells[4][5], "1× (floor)");
    const tuned = tuneRestoreRows([{ compressType: "zst", processMax: 4, bufferSize: 262144, repo: 2, set: "s", wallMs: 5000, filesMs: 4000, recoveryMs: 900, firstQueryMs: 100, timeVsFloor: 2.5, runs: [5000, 4500, 6000] }]);
    assert.deepEqual(tuned[0], ["zst", "4", "256KiB", "repo2", "4s", "5s", "3: 4.5s–6s", "", "2.5×", ""]);
  });
});
