// Proves tables fit the terminal: sized to the width given (the terminal's, $COLUMNS, else 100),
// long cells wrap inside their column (a path is broken, never cut), no line between rows.
import assert from "node:assert/strict";
import test from "node:test";
import { fitColumns, outputWidth, table } from "./output";

const longPath = "/var/lib/fp-dr/lab/primary/data/pg_wal/000000010000000000000003";
const rows = [
  ["wal archiving", "critical", `archive_command failed 3 times, last ${longPath} at 2026-12-06T15:00:00Z: connection refused`],
  ["replication", "ok", "no standby configured"],
  ["backups", "warning", "newest full backup in repo2 is 26h old (alert above 25h); the next scheduled one runs at 01:00"],
];

const widest = (s: string) => Math.max(...s.split("\n").map((l) => [...l].length));

for (const width of [80, 100, 160]) {
  test(`a wide table fits ${width} columns and keeps every word`, () => {
    const out = table(["check", "severity", "finding"], rows, width);
    assert.ok(widest(out) <= width, `${widest(out)} > ${width}:\n${out}`);
    assert.doesNotMatch(out, /…/, "nothing cut");
    assert.ok(out.replace(/[│\s]/g, "").includes(longPath.replace(/\s/g, "")), "the path is all there, broken across lines");
    assert.doesNotMatch(out, /├/, "no separator between rows");
  });
}

test("a narrow table keeps its natural width", () => {
  const out = table(["a", "b"], [["x", "y"]], 160);
  assert.equal(widest(out), 9, "│ a │ b │");
});

test("columns are narrowed widest first, never below the minimum", () => {
  assert.deepEqual(fitColumns([10, 8, 200], 80), [12, 10, 54]);
  assert.deepEqual(fitColumns([33, 40], 60, [33, 8]), [35, 22], "the run id stays whole, the text wraps");
  assert.ok(fitColumns([100, 100, 100, 100, 100, 100, 100, 100, 100, 100], 40).every((w) => w === 8));
});

test("the width: a terminal's columns, else $COLUMNS, else 100", () => {
  const saved = process.env.COLUMNS;
  try {
    delete process.env.COLUMNS;
    assert.equal(outputWidth({ isTTY: true, columns: 132 }), 132);
    assert.equal(outputWidth({ isTTY: false }), 100);
    process.env.COLUMNS = "80";
    assert.equal(outputWidth({ isTTY: false }), 80);
  } finally {
    if (saved === undefined) delete process.env.COLUMNS;
    else process.env.COLUMNS = saved;
  }
});
