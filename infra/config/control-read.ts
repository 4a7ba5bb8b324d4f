// Reading the control document (./control-state.ts) at `up` time, from the shared store the
// stack names in fp-dr:sharedState: the bucket (with the operator's or the runner's AWS
// credentials) or a directory. A document that is there but unreadable stops the update: an
// update that ignored a recorded fence or DNS decision is exactly what this exists to prevent.
import { DrError } from "../../automation/core/errors";
import { FileSharedStore } from "../../automation/core/file-store";
import { parseStored, type SharedStore } from "../../automation/core/shared-store";
import { controlDocument, controlKey, type ControlDocument } from "./control-state";
import { sharedStateLocation } from "./shared-state-location";

export async function openControlStore(location: unknown): Promise<SharedStore | undefined> {
  if (location === undefined) return undefined;
  const loc = sharedStateLocation.parse(location);
  if (loc.dir) return new FileSharedStore(loc.dir);
  // require, not import(): see automation/core/shared-store-open.ts
  const { S3SharedStore } = require("../../automation/core/s3-store") as typeof import("../../automation/core/s3-store");
  return new S3SharedStore({ bucket: loc.bucket!, region: loc.region!, prefix: loc.prefix });
}

/** The control document and its version tag (what a conditional replace needs), if there is one. */
export async function readControlVersion(store: SharedStore, environment: string): Promise<{ doc: ControlDocument; etag: string } | undefined> {
  const cur = await store.get(controlKey(environment));
  if (!cur) return undefined;
  const doc = parseStored(cur.body, controlDocument);
  if (!doc) {
    throw new DrError("CONFIG_INVALID", `the control state ${controlKey(environment)} in ${store.where} is unreadable`, {
      hint: "nothing was changed: restore the previous version of that object (the bucket is versioned), then run again",
    });
  }
  return { doc, etag: cur.etag };
}

export async function readControlDocument(store: SharedStore | undefined, environment: string): Promise<ControlDocument | undefined> {
  return store ? (await readControlVersion(store, environment))?.doc : undefined;
}
