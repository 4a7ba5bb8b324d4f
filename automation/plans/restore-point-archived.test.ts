// Proves the hand-over of a drill's wait for its restore point's WAL from the restore-point step
// to the restore: a wait that fails is never an unhandled rejection, and the restore gets its
// very error (said as failed, so a retried restore fails at once); a drill that ends before its
// restore gives the wait up (its signal aborts) and forgets it; another run finds none.
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { DrError } from "../core/errors";
import { awaitingArchive, restorePointArchived, stopAwaitingArchive } from "./restore-point-archived";

describe("the wait for a drill's restore point's WAL, handed to the restore", () => {
  it("is awaited by the restore, which gets the wait's own error; a failure is no unhandled rejection", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on("unhandledRejection", onUnhandled);
    try {
      const failure = new DrError("ARCHIVE_FAILED", "the restore point's WAL: 000000010000000000000003 not archived after 60 s", { hint: "check archiving on the primary (`dr health`)" });
      awaitingArchive("run-fails", async () => {
        await new Promise((res) => setTimeout(res, 20));
        throw failure;
      });
      const wait = restorePointArchived("run-fails");
      assert.ok(wait, "the restore finds the wait");
      assert.equal(wait.failed, undefined, "not failed yet");
      // Nobody awaits it for a while (the files are being laid down).
      await new Promise((res) => setTimeout(res, 100));
      assert.deepEqual(unhandled, []);
      assert.equal(restorePointArchived("run-fails")?.failed?.error, failure, "said as failed before anyone awaited it");
      await assert.rejects(wait.archived, (e: unknown) => e === failure);
    } finally {
      process.off("unhandledRejection", onUnhandled);
      stopAwaitingArchive("run-fails");
    }
  });

  it("resolves for the restore once the WAL is archived", async () => {
    let archive!: () => void;
    awaitingArchive("run-ok", () => new Promise<void>((res) => (archive = res)));
    const wait = restorePointArchived("run-ok")!;
    let settled = false;
    void wait.archived.then(() => (settled = true));
    await new Promise((res) => setTimeout(res, 20));
    assert.equal(settled, false, "the restore waits while the WAL is on its way");
    archive();
    await wait.archived;
    assert.equal(restorePointArchived("run-ok")?.failed, undefined);
    stopAwaitingArchive("run-ok");
  });

  it("is given up when the drill ends before its restore, and forgotten; another run has none", async () => {
    let signal!: AbortSignal;
    awaitingArchive("run-ends", (s) => {
      signal = s;
      return new Promise<void>((_, reject) => s.addEventListener("abort", () => reject(new DrError("ARCHIVE_FAILED", "given up"))));
    });
    assert.equal(restorePointArchived("another-run"), undefined);
    await new Promise((res) => setImmediate(res));
    assert.equal(signal.aborted, false);
    stopAwaitingArchive("run-ends");
    assert.equal(signal.aborted, true, "the wait's signal aborts");
    assert.equal(restorePointArchived("run-ends"), undefined, "forgotten");
  });
});
