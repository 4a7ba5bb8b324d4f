// Proves the image architecture follows the instance family (a Graviton type needs arm64).
import { test } from "node:test";
import assert from "node:assert/strict";
import { amiArchitecture } from "./ami";

test("Graviton families boot arm64 images, the rest x86_64", () => {
  for (const t of ["r7g.large", "m6gd.xlarge", "t4g.medium", "c7gn.large"]) assert.equal(amiArchitecture(t), "arm64", t);
  for (const t of ["r6i.xlarge", "t3.large", "m5.large", "r6id.large", "c6a.large"]) assert.equal(amiArchitecture(t), "x86_64", t);
});
