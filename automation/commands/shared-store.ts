// Which shared store a command opens: on AWS (or wherever `shared.bucket` is set) the bucket
// for everything (core/shared-store-open.ts); on the lab, the lab's documents in its object
// store and its lease and control state in its directory (engines/local/shared-store.ts).
import type { DrConfig } from "../config/schema";
import { openSharedStore } from "../core/shared-store-open";
import type { SharedStore } from "../core/shared-store";
import { openLabSharedStore } from "../engines/local/shared-store";

export async function sharedStoreFor(config: DrConfig): Promise<SharedStore> {
  if (config.engine === "local" && !config.shared.bucket && !config.shared.dir) return openLabSharedStore(config);
  return openSharedStore(config);
}
