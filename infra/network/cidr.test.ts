// Proves the CIDR arithmetic behind the network plan and the "never from the world" rule.
import { test } from "node:test";
import assert from "node:assert/strict";
import { contains, isWorldOpen, overlaps, parseCidr, subnetCidrs } from "./cidr";

test("parses CIDRs and refuses host bits, bad octets and prefixes", () => {
  assert.deepEqual(parseCidr("10.20.0.0/16"), { base: (10 << 24) + (20 << 16), prefix: 16 });
  assert.equal(parseCidr("10.20.0.1/16"), undefined);
  assert.equal(parseCidr("10.256.0.0/16"), undefined);
  assert.equal(parseCidr("10.20.0.0/33"), undefined);
  assert.equal(parseCidr("10.20.0.0"), undefined);
});

test("the world and anything wider than /8 count as open", () => {
  for (const c of ["0.0.0.0/0", "::/0", "0.0.0.0/1", "128.0.0.0/7"]) assert.equal(isWorldOpen(c), true, c);
  for (const c of ["10.0.0.0/8", "10.10.0.0/16", "192.168.1.10/32"]) assert.equal(isWorldOpen(c), false, c);
});

test("containment and overlap", () => {
  assert.equal(contains("10.20.0.0/16", "10.20.128.0/17"), true);
  assert.equal(contains("10.20.128.0/17", "10.20.0.0/16"), false);
  assert.equal(overlaps("10.20.128.0/17", "10.20.0.0/16"), true);
  assert.equal(overlaps("10.20.0.0/16", "10.30.0.0/16"), false);
});

test("a /16 is carved into four /20s in order; too many or too small is refused", () => {
  assert.deepEqual(subnetCidrs("10.20.0.0/16", 4, 4), ["10.20.0.0/20", "10.20.16.0/20", "10.20.32.0/20", "10.20.48.0/20"]);
  assert.deepEqual(subnetCidrs("10.99.0.0/22", 4, 4), ["10.99.0.0/26", "10.99.0.64/26", "10.99.0.128/26", "10.99.0.192/26"]);
  assert.throws(() => subnetCidrs("10.20.0.0/16", 17, 4), /holds only 16/);
  assert.throws(() => subnetCidrs("10.20.0.0/26", 4, 4), /too small/);
});
