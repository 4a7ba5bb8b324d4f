// Which shared store this environment uses: the S3 bucket when `shared.bucket` is set, else a
// directory (core/state-dirs.ts). The S3 client is loaded only when a bucket is configured:
// commands on the lab never pay for the AWS SDK.
import type { DrConfig } from "../config/schema";
import { DrError } from "./errors";
import { FileSharedStore } from "./file-store";
import type { SharedStore } from "./shared-store";
import { sharedStoreDir } from "./state-dirs";

export async function openSharedStore(config: DrConfig): Promise<SharedStore> {
  const s = config.shared;
  if (!s.bucket) return new FileSharedStore(sharedStoreDir(config));
  if (!s.region) throw new DrError("CONFIG_INVALID", "shared.bucket is set without shared.region", { hint: "set shared.region to the bucket's region (the secondary region)" });
  // require, not import(): from the sources dr runs under tsx's CommonJS hook, where a dynamic
  // import() of a .ts path does not resolve.
  const { S3SharedStore } = require("./s3-store") as typeof import("./s3-store");
  return new S3SharedStore({ bucket: s.bucket, region: s.region, prefix: s.prefix, kmsKeyId: s.kmsKeyId, endpoint: s.endpoint });
}
