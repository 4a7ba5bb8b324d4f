// The shared store as files in one directory (the lab's, or a directory every operator mounts).
// The lab's object store (s3rver 3.7) ignores If-None-Match and If-Match on PUT, so it cannot
// give the conditional semantics the lease needs; the filesystem can:
//   create   write a private file, then link(2) it into place: fails if the key exists
//   replace  under an exclusive marker (also made by link), compare the current content's hash
//            with the etag read, then rename the new content into place
// The etag is the content's hash, so a reader can always tell whether anything changed.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { checkKey, type SharedStore, type StoredDocument } from "./shared-store";

/** A marker older than this was left by a process killed between link and unlink. */
const STALE_MARKER_MS = 10_000;

export function etagOf(body: string): string {
  return createHash("sha256").update(body).digest("hex").slice(0, 32);
}

export class FileSharedStore implements SharedStore {
  constructor(readonly dir: string) {}

  get where(): string {
    return this.dir;
  }

  private path(key: string): string {
    return join(this.dir, checkKey(key));
  }

  private tmpBeside(path: string, body: string): string {
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`;
    writeFileSync(tmp, body, { mode: 0o600, flag: "wx" });
    return tmp;
  }

  async get(key: string): Promise<StoredDocument | undefined> {
    try {
      const body = readFileSync(this.path(key), "utf8");
      return { body, etag: etagOf(body) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
  }

  async create(key: string, body: string): Promise<{ etag: string } | undefined> {
    const path = this.path(key);
    const tmp = this.tmpBeside(path, body);
    try {
      linkSync(tmp, path);
      return { etag: etagOf(body) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") return undefined;
      throw e;
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  async replace(key: string, body: string, etag: string): Promise<{ etag: string } | undefined> {
    const path = this.path(key);
    const marker = `${path}.writing`;
    const tmp = this.tmpBeside(path, body);
    try {
      if (!this.takeMarker(marker, tmp)) return undefined; // another writer is replacing it now
      try {
        const now = await this.get(key);
        if (!now || now.etag !== etag) return undefined;
        renameSync(tmp, path);
        return { etag: etagOf(body) };
      } finally {
        rmSync(marker, { force: true });
      }
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  /** The exclusive right to replace: a link that only one process can make. */
  private takeMarker(marker: string, from: string): boolean {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        linkSync(from, marker);
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        // A writer killed while holding it: its marker is old; remove it and try once more.
        let age = 0;
        try {
          age = Date.now() - statSync(marker).mtimeMs;
        } catch {
          continue; // gone meanwhile
        }
        if (age < STALE_MARKER_MS) return false;
        rmSync(marker, { force: true });
      }
    }
    return false;
  }

  async put(key: string, body: string): Promise<{ etag: string }> {
    const path = this.path(key);
    renameSync(this.tmpBeside(path, body), path);
    return { etag: etagOf(body) };
  }

  async list(prefix: string): Promise<string[]> {
    const root = join(this.dir, checkKey(prefix.replace(/\/$/, "")));
    if (!existsSync(root)) return [];
    const out: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (!/\.(tmp-|writing$)/.test(e.name)) out.push(relative(this.dir, p));
      }
    };
    walk(root);
    return out.sort();
  }
}
