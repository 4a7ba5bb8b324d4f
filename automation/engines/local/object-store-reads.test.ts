// Proves: the lab store's object reads come in 1 MiB chunks (what s3rver asks fs-extra for gets
// Node's 64 KiB otherwise), a caller's own chunk size and range are kept, and s3rver's module is
// the one patched (the daemon patches fs-extra, which s3rver's filesystem store reads through).
import assert from "node:assert/strict";
import test from "node:test";
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { STORE_READ_CHUNK_BYTES, readInLargeChunks } from "./object-store-reads";

test("reads come in 1 MiB chunks unless the caller chose; ranges and encodings pass through", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fp-dr-reads-"));
  try {
    const file = join(dir, "object");
    writeFileSync(file, Buffer.alloc(3 * STORE_READ_CHUNK_BYTES, 7));
    const fsModule = { createReadStream };
    readInLargeChunks(fsModule);
    const chunks: number[] = [];
    for await (const c of fsModule.createReadStream(file, { start: 10, end: 2 * STORE_READ_CHUNK_BYTES + 9 })) chunks.push((c as Buffer).length);
    assert.deepEqual(chunks, [STORE_READ_CHUNK_BYTES, STORE_READ_CHUNK_BYTES]);
    const opened = async (s: ReturnType<typeof createReadStream>) => {
      const seen = { highWaterMark: s.readableHighWaterMark, encoding: s.readableEncoding };
      await new Promise<void>((resolve) => s.once("close", () => resolve()).destroy());
      return seen;
    };
    assert.equal((await opened(fsModule.createReadStream(file, { highWaterMark: 4096 }))).highWaterMark, 4096);
    assert.equal((await opened(fsModule.createReadStream(file))).highWaterMark, STORE_READ_CHUNK_BYTES);
    assert.deepEqual(await opened(fsModule.createReadStream(file, "hex")), { highWaterMark: STORE_READ_CHUNK_BYTES, encoding: "hex" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("s3rver's filesystem store reads objects through the fs-extra module the daemon patches", () => {
  // If s3rver stopped reading through fs-extra's createReadStream the patch would do nothing.
  const source = require("node:fs").readFileSync(require.resolve("s3rver/lib/stores/filesystem"), "utf8") as string;
  assert.match(source, /require\('fs-extra'\)/);
  assert.match(source, /\.createReadStream\(this\.getResourcePath\(bucket, key, 'object'\), range\)/);
  assert.equal(require.resolve("fs-extra", { paths: [require.resolve("s3rver")] }), require.resolve("fs-extra"));
});
