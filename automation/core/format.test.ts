// One formatter for durations and one for sizes: what every line of output and every report shows.
import { test } from "node:test";
import assert from "node:assert/strict";
import { formatBytes, formatMs } from "./output";

test("durations never read 1m60s or 120m0s: minutes and hours carry over, an objective reads as written", () => {
  assert.equal(formatMs(950), "950ms");
  assert.equal(formatMs(17_100), "17.1s");
  assert.equal(formatMs(119_970), "1m 59s");
  assert.equal(formatMs(120_000), "2m");
  assert.equal(formatMs(7_200_000), "2h");
  assert.equal(formatMs(28_800_000), "8h");
  assert.equal(formatMs(90_061_000), "1d 1h");
});

test("sizes are in binary units everywhere (KiB, MiB, GiB), never KB beside KiB", () => {
  assert.equal(formatBytes(undefined), "");
  assert.equal(formatBytes(512), "512 B");
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.equal(formatBytes(55_000_000), "52.4 MiB");
  assert.equal(formatBytes(10 * 1024 ** 3), "10 GiB");
});
