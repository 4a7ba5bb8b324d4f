import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { DrError } from "./errors";
import { parseInstant } from "./instant";

const fails = (value: string, pattern: RegExp) =>
  assert.throws(
    () => parseInstant("--target-time", value),
    (e: unknown) => e instanceof DrError && e.code === "TARGET_INVALID" && pattern.test(e.message) && /with a zone/.test(e.hint ?? ""),
  );

describe("operator times", () => {
  it("takes ISO 8601 with Z or an offset, with T or a space, and returns UTC", () => {
    assert.equal(parseInstant("--target-time", "2026-11-26T03:14:00Z"), "2026-11-26T03:14:00.000Z");
    assert.equal(parseInstant("--target-time", "2026-11-26 04:14:00+01:00"), "2026-11-26T03:14:00.000Z");
    assert.equal(parseInstant("--target-time", "2026-11-25T22:14-0500"), "2026-11-26T03:14:00.000Z");
    assert.equal(parseInstant("--target-time", "2026-11-26T05:14:00.123456+02"), "2026-11-26T03:14:00.123Z");
  });

  it("refuses a time without a zone instead of guessing one, naming the flag", () => {
    fails("2026-11-26T03:14:00", /--target-time: a time without a zone is ambiguous/);
    fails("2026-11-26 03:14", /without a zone/);
    fails("2026-11-26", /without a zone/);
  });

  it("refuses what is not a time, and dates that do not exist", () => {
    fails("yesterday", /not a time: yesterday/);
    fails("03:14Z", /not a time/);
    fails("2026-02-30T03:14:00Z", /not a time/);
    fails("2026-11-26T25:14:00Z", /not a time/);
    fails("zzzz-11-26T03:14:00Z", /not a time/); // a stray z is not a zone
  });

  it("carries the caller's error code, and refuses the future where asked", () => {
    assert.throws(() => parseInstant("--incident-time", "later", { code: "USAGE" }), (e: unknown) => e instanceof DrError && e.code === "USAGE");
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString();
    assert.throws(() => parseInstant("--incident-time", tomorrow, { notInFuture: "give the time it started" }), (e: unknown) => e instanceof DrError && /in the future/.test(e.message) && e.hint === "give the time it started");
    assert.equal(parseInstant("--target-time", tomorrow), tomorrow, "a target in the future is the restore's to judge (TARGET_IN_FUTURE)");
  });
});
