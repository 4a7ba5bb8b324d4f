// The progress parser against lines pgBackRest 2.45 printed during a lab restore (log level detail).
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseRestoredFile } from "./progress";

test("a restored file's size and the share done are read from pgBackRest's detail line", () => {
  assert.deepEqual(parseRestoredFile("2026-12-06 11:16:25.324 P02 DETAIL: restore file /tmp/lab/sites/secondary/data/base/16386/1255 (784KB, 2.36%) checksum 23e222cdf35e515076c99ea95ddf4c770991e6cd"), { bytes: 784 * 1024, percent: 2.36 });
  assert.deepEqual(parseRestoredFile("2026-12-06 11:16:25.335 P01 DETAIL: restore file /tmp/lab/sites/secondary/data/base/16386/16494 (1.4MB, 6.59%) checksum c30298c3b99cfd59a123b6c016505a6598b131df"), { bytes: Math.round(1.4 * 1024 * 1024), percent: 6.59 });
  assert.deepEqual(parseRestoredFile("2026-12-06 11:16:27.284 P01 DETAIL: restore file /tmp/lab/sites/secondary/data/base/1/13399 (0B, 100.00%)"), { bytes: 0, percent: 100 });
  assert.equal(parseRestoredFile("2026-12-06 11:16:27.291 P00   INFO: restore global/pg_control (performed last to ensure aborted restores cannot be started)"), undefined);
  assert.equal(parseRestoredFile("2026-12-06 11:16:27.292 P00   INFO: restore size = 32.5MB, file total = 1344"), undefined);
});
