// The lab's store reads each object through fs-extra's createReadStream in Node's default
// 64 KiB chunks: every chunk is a buffer, a stream event and a TLS write in the store's one
// process, which shares the host's cores with the restore it serves. Read in 1 MiB chunks
// (pgBackRest's own buffer-size): a restore of 3.4 GiB from the lab's S3 repository took 6.6 s
// instead of 6.9 to 7.6 s (into memory, so that only the store and pgBackRest were measured).
import type { createReadStream } from "node:fs";

export const STORE_READ_CHUNK_BYTES = 1024 * 1024;

type ReadStreamModule = { createReadStream: typeof createReadStream };

/** Makes `fsModule.createReadStream` read in 1 MiB chunks unless a caller asks for another size. */
export function readInLargeChunks(fsModule: ReadStreamModule): void {
  const original = fsModule.createReadStream;
  fsModule.createReadStream = ((path: Parameters<typeof createReadStream>[0], options?: Parameters<typeof createReadStream>[1]) =>
    original.call(fsModule, path, typeof options === "string" ? { encoding: options, highWaterMark: STORE_READ_CHUNK_BYTES } : { highWaterMark: STORE_READ_CHUNK_BYTES, ...options })) as typeof createReadStream;
}
