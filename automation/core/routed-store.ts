// One shared store made of two, each key going to one by its first segment: where the store
// that keeps the documents cannot honour conditional writes (the lab's object store ignores
// If-None-Match and If-Match), the documents only one writer ever writes (`runs/…`: journal
// copies and reports) go to it, and what decides something (`lease/…`, `control/…`, created and
// replaced conditionally) stays in a store that can (the lab directory's files).
// The documents' store is opened on first use: `dr lease show` never loads its client.
import { checkKey, type SharedStore, type StoredDocument } from "./shared-store";

export interface RoutedStoreParts {
  /** Gets every key not under a document prefix, and every conditional write. */
  conditional: SharedStore;
  /** Opened on first use (`where` is said without opening it); gets the keys under `documentPrefixes`, written with `put` only. */
  documents: { where: string; open: () => SharedStore };
  /** First segments routed to the documents' store, e.g. ["runs"]. */
  documentPrefixes: string[];
}

export class RoutedSharedStore implements SharedStore {
  private opened?: SharedStore;

  constructor(private readonly parts: RoutedStoreParts) {}

  private get documents(): SharedStore {
    return (this.opened ??= this.parts.documents.open());
  }

  private isDocument(key: string): boolean {
    return this.parts.documentPrefixes.includes(checkKey(key.replace(/\/$/, "")).split("/")[0]);
  }

  private of(key: string): SharedStore {
    return this.isDocument(key) ? this.documents : this.parts.conditional;
  }

  /** Both stores, each with the keys it holds, e.g. "runs/ in s3://fp-dr-shared/fp-dr/, the rest in /lab/shared". */
  get where(): string {
    const docs = this.parts.documentPrefixes.map((p) => `${p}/`).join(", ");
    return `${docs} in ${this.parts.documents.where}, the rest in ${this.parts.conditional.where}`;
  }

  async get(key: string): Promise<StoredDocument | undefined> {
    return this.of(key).get(key);
  }

  /** Conditional: refused for a document key, whose store would overwrite instead of losing the race. */
  async create(key: string, body: string): Promise<{ etag: string } | undefined> {
    return this.conditional(key).create(key, body);
  }

  async replace(key: string, body: string, etag: string): Promise<{ etag: string } | undefined> {
    return this.conditional(key).replace(key, body, etag);
  }

  async put(key: string, body: string): Promise<{ etag: string }> {
    return this.of(key).put(key, body);
  }

  async list(prefix: string): Promise<string[]> {
    return this.of(prefix).list(prefix);
  }

  private conditional(key: string): SharedStore {
    if (this.isDocument(key)) throw new Error(`conditional write to ${key} in ${this.parts.documents.where}, which cannot honour it`);
    return this.parts.conditional;
  }
}
