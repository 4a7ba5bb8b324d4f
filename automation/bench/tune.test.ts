// Proves the tuning matrix's bookkeeping: which settings are tried (each once, the configured
// one among them), medians of odd and even numbers of runs, and runs of one setting and
// repository folded into one row with the median times, the highest peak and every run kept.
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { aggregateRuns, median, tuneSettings } from "./tune";
import type { TuneRun, TuneSetting } from "./types";

const current: TuneSetting = { compressType: "lz4", processMax: 2, bufferSize: 1048576 };

describe("bench: tuning matrix", () => {
  it("tries compress-type × process-max, then other buffer sizes, each setting once", () => {
    const s = tuneSettings(current);
    assert.equal(s.length, 13);
    assert.equal(s.filter((x) => x.compressType === "lz4" && x.processMax === 2 && x.bufferSize === 1048576).length, 1);
    assert.deepEqual(
      s.filter((x) => x.bufferSize !== 1048576).map((x) => `${x.compressType}/${x.bufferSize}`),
      ["lz4/262144", "lz4/4194304", "zst/262144", "zst/4194304"],
    );
  });

  it("does not repeat the configured buffer size among the extra ones", () => {
    const s = tuneSettings({ ...current, bufferSize: 262144 });
    assert.equal(new Set(s.map((x) => `${x.compressType}/${x.processMax}/${x.bufferSize}`)).size, s.length);
  });

  it("takes medians", () => {
    assert.equal(median([5, 1, 3]), 3);
    assert.equal(median([4, 1, 3, 2]), 3);
    assert.equal(median([7]), 7);
  });

  it("folds the runs of a setting and repository into one row", () => {
    const run = (repo: 1 | 2, wallMs: number, peak?: number, s: Partial<TuneSetting> = {}): TuneRun => ({ ...current, ...s, repo, set: `set${repo}`, wallMs, filesMs: wallMs - 500, recoveryMs: 400, firstQueryMs: 10, peakRssBytes: peak });
    const rows = aggregateRuns([run(2, 5000, 10), run(1, 3000), run(2, 4000, 30), run(2, 9000, 20), run(2, 6000, 1, { processMax: 4 })], { floorMs: 2000, runbookRestoreMs: 20000 });
    assert.equal(rows.length, 3);
    const [offsite, site, four] = rows;
    assert.deepEqual(offsite.runs, [5000, 4000, 9000]);
    assert.equal(offsite.wallMs, 5000);
    assert.equal(offsite.filesMs, 4500);
    assert.equal(offsite.peakRssBytes, 30);
    assert.equal(offsite.timeVsFloor, 2.5);
    assert.equal(offsite.timeVsRunbook, 0.25);
    assert.equal(site.repo, 1);
    assert.equal(site.peakRssBytes, undefined);
    assert.equal(four.processMax, 4);
  });
});
