// The object store process (started by object-store.ts through daemon.ts):
//   node [--import tsx] object-store-daemon.ts|.js <dir>/object-store.json
// Reads its settings from the state file (never from argv: it holds the secret key), serves
// s3rver over HTTPS, creates the buckets (the repository's, the shared documents'), then records its pid and actual port in the same file.
// SIGTERM / SIGINT close the listener and every open connection, then exit 0.
import { createCipheriv } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import type { Server } from "node:https";
import type { ObjectStoreState } from "./object-store";
import { readInLargeChunks } from "./object-store-reads";

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: Server;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;
interface AwsAccount {
  createKeyPair(accessKeyId: string, secretAccessKey: string): void;
  revokeAccessKey(accessKeyId: string): void;
}

// s3rver's listing prunes the walk below any directory that holds only directories: with a
// delimiter, "archive/fp/" never reports the common prefix "15-1/" (whose objects all sit two
// levels down), so pgBackRest's verify and our WAL listing saw no archive at all. Until s3rver
// fixes it, each listing walks only the directories that intersect its prefix, ignoring the
// delimiter pruning (a speed-up, not a rule: keys are still grouped by the delimiter). The
// walk runs synchronously inside listObjects before its first await, so the module-level
// "current prefix" below cannot be seen by another listing.
const s3rverUtils = require("s3rver/lib/utils") as { walk: (dir: string, filter?: (d: string) => boolean) => Generator<string> };
const originalWalk = s3rverUtils.walk;
let listingPrefixPath: string | undefined;
s3rverUtils.walk = function* walk(dir: string, filter?: (d: string) => boolean): Generator<string> {
  const prefix = listingPrefixPath;
  yield* originalWalk(dir, prefix === undefined ? filter : (d: string) => d.startsWith(prefix) || prefix.startsWith(d));
};
const FilesystemStore = require("s3rver/lib/stores/filesystem") as {
  prototype: { listObjects: (bucket: string, options: { prefix?: string }) => Promise<unknown>; getBucketPath(b: string): string };
  encodeKeyPath(k: string): string;
};
const originalListObjects = FilesystemStore.prototype.listObjects;
FilesystemStore.prototype.listObjects = function listObjects(this: { getBucketPath(b: string): string }, bucket: string, options: { prefix?: string }) {
  listingPrefixPath = [this.getBucketPath(bucket), FilesystemStore.encodeKeyPath(options.prefix ?? "")].join("/");
  try {
    return originalListObjects.call(this, bucket, options);
  } finally {
    listingPrefixPath = undefined;
  }
};

// Objects are read in 1 MiB chunks, not 64 KiB ones (object-store-reads.ts).
readInLargeChunks(require("fs-extra") as Parameters<typeof readInLargeChunks>[0]);

// s3rver ships no type declarations; these are the parts we use.
const S3rver = require("s3rver") as S3rverClass;
const { DUMMY_ACCOUNT } = require("s3rver/lib/models/account") as { DUMMY_ACCOUNT: AwsAccount };

async function main(): Promise<void> {
  const stateFile = process.argv[2];
  if (!stateFile) throw new Error("usage: object-store-daemon.ts <state.json>");
  // s3rver's ListObjectsV2 continuation tokens use DES (OpenSSL 3: legacy provider only).
  try {
    createCipheriv("des", Buffer.alloc(8), Buffer.alloc(8));
  } catch {
    throw new Error("DES is unavailable: run with node --openssl-legacy-provider (s3rver needs it to page listings)");
  }
  const state = JSON.parse(readFileSync(stateFile, "utf8")) as ObjectStoreState;
  mkdirSync(state.dataDir, { recursive: true });

  // s3rver's one account knows S3RVER/S3RVER; swap in the configured key pair.
  if (state.accessKey !== "S3RVER") {
    DUMMY_ACCOUNT.createKeyPair(state.accessKey, state.secretKey);
    DUMMY_ACCOUNT.revokeAccessKey("S3RVER");
  }

  const server = new S3rver({
    address: state.host,
    port: state.port,
    key: readFileSync(state.keyFile),
    cert: readFileSync(state.certFile),
    directory: state.dataDir,
    silent: !state.verbose,
    // Path-style only: with virtual hosts on, s3rver would read the endpoint name as a bucket.
    vhostBuckets: false,
    serviceEndpoint: state.endpoint,
    configureBuckets: [state.bucket, ...(state.sharedBucket ? [state.sharedBucket] : [])].map((name) => ({ name })),
  });
  const address = await server.run();
  const started = { ...state, port: address.port, pid: process.pid };
  const tmp = `${stateFile}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(started, null, 2) + "\n", { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, stateFile);
  console.log(`${new Date().toISOString()} object store listening on https://${state.host}:${address.port} (endpoint ${state.endpoint}, bucket ${state.bucket})`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${new Date().toISOString()} ${signal}: stopping`);
    // Idle keep-alive connections (pgBackRest keeps them) would hold close() open.
    server.httpServer?.closeIdleConnections();
    const force = setTimeout(() => {
      server.httpServer?.closeAllConnections();
    }, 2_000);
    force.unref();
    server.close().then(
      () => process.exit(0),
      (e: Error) => {
        console.error(`close failed: ${e.message}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((e: Error) => {
  console.error(`${new Date().toISOString()} object store failed: ${e.stack ?? e.message}`);
  process.exit(1);
});
