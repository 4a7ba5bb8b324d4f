// The lab's shared store, as issue #11 has it: the same lease, journal and control-state code as
// on AWS, over the lab's own stores. The documents one writer writes (`runs/…`: every journal
// copy, every report) go to the lab's object store, in a bucket of their own, through the very
// S3SharedStore used on AWS; the lease and the control state stay in the lab directory's files,
// because the object store (s3rver 3.7) ignores If-None-Match and If-Match on PUT
// (object-store.test.ts pins that) and only link(2) gives them their atomic create.
// A lab whose object store was never started keeps everything in the directory.
import { readFileSync } from "node:fs";
import type { DrConfig } from "../../config/schema";
import { FileSharedStore } from "../../core/file-store";
import { RoutedSharedStore } from "../../core/routed-store";
import type { SharedStore } from "../../core/shared-store";
import { labDir, sharedStoreDir } from "../../core/state-dirs";
import { LabLayout } from "./layout";
import { objectStoreInfo } from "./object-store";

/** Per request, retries included: a lab store on loopback answers in milliseconds or not at all. */
const LAB_STORE_TIMEOUT_MS = 3_000;

export function openLabSharedStore(config: DrConfig): SharedStore {
  const files = new FileSharedStore(sharedStoreDir(config));
  const dir = new LabLayout(labDir(config)).objectStoreDir;
  const store = objectStoreInfo(dir);
  if (!store?.sharedBucket) return files;
  const bucket = store.sharedBucket;
  const prefix = config.shared.prefix;
  return new RoutedSharedStore({
    conditional: files,
    documentPrefixes: ["runs"],
    documents: {
      where: `s3://${bucket}/${prefix}`,
      open: () => {
        // require, not import: only a command that reads or writes a document loads the AWS SDK.
        const { S3SharedStore } = require("../../core/s3-store") as typeof import("../../core/s3-store");
        return new S3SharedStore({
          bucket,
          prefix,
          region: store.region,
          endpoint: `https://${store.host}:${store.port}`,
          tls: { ca: readFileSync(store.caFile), servername: store.endpoint },
          // The key as the store has it at each request: an incident's rotation replaces it mid-run.
          credentials: async () => {
            const now = objectStoreInfo(dir) ?? store;
            return { accessKeyId: now.accessKey, secretAccessKey: now.secretKey };
          },
          timeoutMs: LAB_STORE_TIMEOUT_MS,
          unreachableHint: "the lab's object store is down: `dr lab status`, then `dr lab up` to start it; the local journal and reports are whole",
        });
      },
    },
  });
}
