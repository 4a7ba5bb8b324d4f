import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { currentRole, type SiteEvidence } from "./site-role";

const base: SiteEvidence = { built: "secondary", isolated: false, fenced: false, serves: false, state: "running", inRecovery: true, anotherServes: true };

describe("a lab site's role follows what happened to it", () => {
  it("the site the service name answers with, open for writes, is the primary", () => {
    assert.equal(currentRole({ ...base, serves: true, inRecovery: false, anotherServes: false }), "primary");
  });
  it("an isolated or fenced site is that, whatever it was built as", () => {
    assert.equal(currentRole({ ...base, built: "primary", isolated: true, inRecovery: false }), "isolated");
    assert.equal(currentRole({ ...base, built: "primary", fenced: true, state: "stopped", inRecovery: undefined }), "fenced");
  });
  it("a built primary the service name left is not called primary", () => {
    assert.equal(currentRole({ ...base, built: "primary", inRecovery: false }), "former primary");
    assert.equal(currentRole({ ...base, built: "primary", inRecovery: true }), "standby");
  });
  it("otherwise what it was built as", () => {
    assert.equal(currentRole({ ...base, state: "empty", inRecovery: undefined }), "secondary");
    assert.equal(currentRole({ ...base, built: "primary", serves: true, inRecovery: false, anotherServes: false }), "primary");
  });
});
