// Proves the forced swap: whatever Route 53 thinks of the primary's health, a forced site is
// the only answer either record can give; "auto" leaves each record to its own site.
import { test } from "node:test";
import assert from "node:assert/strict";
import { failoverAnswers } from "./dns-answers";

test("auto: PRIMARY answers the primary, SECONDARY the secondary", () => {
  assert.deepEqual(failoverAnswers("auto", "10.20.0.10", "10.30.0.10"), { primaryRecord: "10.20.0.10", secondaryRecord: "10.30.0.10" });
});

test("forced to the secondary: both records answer the secondary", () => {
  assert.deepEqual(failoverAnswers("secondary", "10.20.0.10", "10.30.0.10"), { primaryRecord: "10.30.0.10", secondaryRecord: "10.30.0.10" });
});

test("forced to the primary (failback): both records answer the primary", () => {
  assert.deepEqual(failoverAnswers("primary", "10.20.0.10", "10.30.0.10"), { primaryRecord: "10.20.0.10", secondaryRecord: "10.20.0.10" });
});
