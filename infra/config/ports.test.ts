// Proves the port-forward rule shared by infra and the pulumi engine: the standing sites use
// 2222/15432; a drill's pair is derived from its id, stable (a resumed drill reopens the same
// forwards; the values are pinned so infra and the engine can never drift), inside its
// documented ranges below the ephemeral ports, never the standing pair, and spread so that
// different drill ids rarely share one; configured ports win.
import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultLocalPorts, drillLocalPorts, localPortsFor } from "./ports";

test("a drill's ports are derived from its id: stable, pinned, in range, never the standing sites'", () => {
  assert.deepEqual(drillLocalPorts("20250901t040000z"), { ssh: 22936, postgres: 25936 });
  const seen = new Set<number>();
  for (let day = 1; day <= 28; day++) {
    const id = `202509${String(day).padStart(2, "0")}t040000z`;
    const p = drillLocalPorts(id);
    assert.ok(p.ssh >= 22000 && p.ssh <= 22999 && p.postgres === p.ssh + 3000, `${id}: ${JSON.stringify(p)}`);
    assert.ok(p.postgres < 32768, "below Linux's ephemeral range");
    assert.notEqual(p.ssh, defaultLocalPorts.ssh);
    seen.add(p.ssh);
  }
  assert.ok(seen.size >= 26, `28 monthly drill ids share too many ports (${seen.size} distinct)`);
});

test("the role's defaults, unless configured", () => {
  assert.deepEqual(localPortsFor({ role: "primary" }), { ssh: 2222, postgres: 15432 });
  assert.deepEqual(localPortsFor({ role: "secondary" }, { postgres: 15433 }), { ssh: 2222, postgres: 15433 });
  assert.deepEqual(localPortsFor({ role: "drill", drillId: "x1" }), drillLocalPorts("x1"));
  assert.deepEqual(localPortsFor({ role: "drill", drillId: "x1" }, { ssh: 23000, postgres: 26000 }), { ssh: 23000, postgres: 26000 });
});
