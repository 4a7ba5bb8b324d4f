// Evidence files: copied byte for byte with the SHA-256 of what was written, listed in a
// `SHA256SUMS` file (`sha256sum -c SHA256SUMS` checks it from the evidence directory) and a
// `MANIFEST.json` (size, mtime, mode of the original). Copies keep the original's mtime and are
// made read-only. A file that disappears while the tree is copied (a running server removes
// temporary files) is listed as vanished, never an error. Symbolic links are recreated as links
// (never followed: a link an attacker planted to /etc is evidence, /etc is not) and listed with
// their target in the manifest.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, chmodSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { EvidenceFile } from "./types";

export const SUMS_FILE = "SHA256SUMS";
export const MANIFEST_FILE = "MANIFEST.json";

export interface CopiedFile extends EvidenceFile {
  /** The original's modification time and mode, as found. */
  mtime: string;
  mode: string;
}

export interface TreeCopy {
  files: CopiedFile[];
  /** Symbolic links, recreated and recorded with their target (not followed). */
  links: EvidenceLink[];
  vanished: string[];
}

export interface EvidenceLink {
  path: string;
  target: string;
  /** Where the target's content was copied, when the caller copied it on purpose (pg_wal, a tablespace). */
  contentAt?: string;
}

/** Copies one file, returning the SHA-256 and size of the bytes written. */
export async function copyWithDigest(src: string, dst: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  mkdirSync(dirname(dst), { recursive: true, mode: 0o700 });
  await pipeline(createReadStream(src), tap, createWriteStream(dst, { mode: 0o600 }));
  return { sha256: hash.digest("hex"), bytes };
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) hash.update(chunk);
  });
  return hash.digest("hex");
}

/** Writes a small evidence file (JSON, a saved original) read-only and returns its digest. */
export function writeEvidence(root: string, path: string, content: string | Buffer): EvidenceFile {
  const full = join(root, path);
  mkdirSync(dirname(full), { recursive: true, mode: 0o700 });
  writeFileSync(full, content, { mode: 0o400 });
  const buf = typeof content === "string" ? Buffer.from(content) : content;
  return { path, sha256: createHash("sha256").update(buf).digest("hex"), bytes: buf.length };
}

/**
 * Copies the tree under `src` to `dst` (paths in the result are relative to `base`, default
 * `dst`). `skip` leaves out top-level-relative paths (e.g. "pg_wal" for a later pass).
 */
export async function copyTree(src: string, dst: string, opts: { base?: string; skip?: (rel: string) => boolean } = {}): Promise<TreeCopy> {
  const base = opts.base ?? dst;
  const out: TreeCopy = { files: [], links: [], vanished: [] };
  mkdirSync(dst, { recursive: true, mode: 0o700 });
  const walk = async (dir: string) => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") {
        out.vanished.push(relative(src, dir));
        return;
      }
      throw e;
    }
    for (const name of entries.sort()) {
      const from = join(dir, name);
      const rel = relative(src, from);
      if (opts.skip?.(rel)) continue;
      const to = join(dst, rel);
      let st;
      try {
        st = lstatSync(from);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") {
          out.vanished.push(rel);
          continue;
        }
        throw e;
      }
      const path = relative(base, to).split(sep).join("/");
      if (st.isDirectory()) {
        mkdirSync(to, { recursive: true, mode: 0o700 });
        await walk(from);
      } else if (st.isSymbolicLink()) {
        const target = readlinkSync(from);
        symlinkSync(target, to);
        out.links.push({ path, target });
      } else if (st.isFile()) {
        try {
          const { sha256, bytes } = await copyWithDigest(from, to);
          utimesSync(to, st.atime, st.mtime);
          chmodSync(to, 0o400);
          out.files.push({ path, sha256, bytes, mtime: st.mtime.toISOString(), mode: (st.mode & 0o7777).toString(8) });
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
          out.vanished.push(rel);
        }
      }
      // sockets, fifos, devices: not data; left out
    }
  };
  await walk(src);
  return out;
}

/**
 * Writes SHA256SUMS and MANIFEST.json in `root` for `files` and `links` (paths relative to
 * `root`). Links have no bytes to hash: the manifest lists each with its target.
 */
export function writeManifests(root: string, files: CopiedFile[], links: EvidenceLink[], manifest: Record<string, unknown>): { sums: EvidenceFile; manifest: EvidenceFile } {
  const byPath = <T extends { path: string }>(a: T, b: T) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  const sorted = [...files].sort(byPath);
  const sums = writeEvidence(root, SUMS_FILE, sorted.map((f) => `${f.sha256}  ${f.path}\n`).join(""));
  const man = writeEvidence(root, MANIFEST_FILE, JSON.stringify({ ...manifest, files: sorted, links: [...links].sort(byPath) }, null, 2) + "\n");
  return { sums, manifest: man };
}

export interface SumsCheck {
  ok: boolean;
  checked: number;
  mismatched: string[];
  missing: string[];
}

/** Re-reads every file listed in `root`/SHA256SUMS and compares its SHA-256 (what `sha256sum -c` does). */
export async function checkSums(root: string): Promise<SumsCheck> {
  const list = readFileSync(join(root, SUMS_FILE), "utf8").split("\n").filter(Boolean);
  const result: SumsCheck = { ok: true, checked: 0, mismatched: [], missing: [] };
  for (const line of list) {
    const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (!m) {
      result.mismatched.push(line);
      continue;
    }
    const full = join(root, m[2]);
    if (!existsSync(full)) {
      result.missing.push(m[2]);
      continue;
    }
    result.checked++;
    if ((await sha256File(full)) !== m[1]) result.mismatched.push(m[2]);
  }
  result.ok = result.mismatched.length === 0 && result.missing.length === 0;
  return result;
}
