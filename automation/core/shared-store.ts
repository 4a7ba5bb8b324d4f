// The shared store: where one environment's runs coordinate across machines (the lease, the
// journal, the reports and the control state), so that two operators on two laptops see one
// truth. On AWS it is a versioned, encrypted bucket in the secondary region; on the lab, the
// lab's own store. Every write that decides something is conditional (create only if absent,
// replace only if unchanged since read), the semantics S3 gives with If-None-Match: * and
// If-Match: <etag>; a lost race is an answer (undefined), not an error.
//
// Keys are relative, "/"-separated, made of [a-z0-9._-] segments (run ids, environment names):
// implementations refuse anything else, so a name like "../x" or "__proto__" never becomes a
// path or a property.

export interface StoredDocument {
  body: string;
  /** Opaque version tag: what `replace` must be given to prove nothing changed since this read. */
  etag: string;
}

export interface SharedStore {
  /** Where it is, for messages and `dr lease show` (a bucket and prefix, or a directory). */
  readonly where: string;
  get(key: string): Promise<StoredDocument | undefined>;
  /** Writes `body` only if `key` does not exist; undefined when another writer got there first. */
  create(key: string, body: string): Promise<{ etag: string } | undefined>;
  /** Writes `body` only if `key` still has `etag`; undefined when it changed or is gone. */
  replace(key: string, body: string, etag: string): Promise<{ etag: string } | undefined>;
  /** Unconditional write, for what only one writer ever writes (a run's own journal and reports). */
  put(key: string, body: string): Promise<{ etag: string }>;
  /** Keys under `prefix` (which ends with "/"), sorted. */
  list(prefix: string): Promise<string[]>;
}

const SEGMENT = /^[a-z0-9][a-z0-9._-]*$/;

/** Refuses keys that could escape the store's root or name an object's own properties. */
export function checkKey(key: string): string {
  const parts = key.split("/");
  if (!parts.every((p) => SEGMENT.test(p) && p !== "..")) throw new Error(`invalid shared-store key ${JSON.stringify(key)}`);
  return key;
}

/** A stored document read through its schema; undefined when it is not JSON or not of that shape. */
export function parseStored<T>(body: string, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } }): T | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  const r = schema.safeParse(value);
  return r.success ? r.data : undefined;
}
