// One configuration file fp-dr renders for a site's host, compared with what is on disk and
// written only when it differs: atomically (a temporary file beside it, fsync, rename), so a
// server reloading at that moment reads the old file or the new one, never half of one; with
// its owner and mode set before the rename, so a file holding a passphrase is never readable
// by anyone else, even for an instant.
import { chmodSync, chownSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** What has to follow a change of the file. */
export type FileEffect = "postgres" | "systemd" | "none";

export interface ManagedFile {
  path: string;
  content: string;
  /** Permission bits, e.g. 0o640. */
  mode: number;
  owner: { uid: number; gid: number; name: string };
  /** postgres: reload the server; systemd: daemon-reload; none: read at each run (pgBackRest). */
  effect: FileEffect;
  /** The file holds a secret: its change is counted, never shown. */
  secret?: boolean;
}

export type FileStatus = "created" | "changed" | "unchanged";

export interface FileChange {
  path: string;
  status: FileStatus;
  effect: FileEffect;
  /** Lines only in the new content / only in the old one. */
  added: number;
  removed: number;
  /** Settings (name = value lines) that are new or have another value: postgres files only. */
  settings?: string[];
  /** Octal modes and owners, when they differ from what the file should have. */
  mode?: { from: string; to: string };
  owner?: { from: string; to: string };
}

const octal = (m: number) => `0${(m & 0o7777).toString(8)}`;

/** Lines of `a` not matched by a line of `b` (each line of b matches once). */
function unmatched(a: string[], b: string[]): string[] {
  const left = new Map<string, number>();
  for (const l of b) left.set(l, (left.get(l) ?? 0) + 1);
  return a.filter((l) => {
    const n = left.get(l) ?? 0;
    if (n === 0) return true;
    left.set(l, n - 1);
    return false;
  });
}

/** The setting names on `name = value` lines (comments and include lines aside). */
function settingNames(lines: string[]): string[] {
  return [...new Set(lines.map((l) => /^\s*([a-z][a-z0-9_.]*)\s*=/.exec(l)?.[1]).filter((n): n is string => n !== undefined && !n.startsWith("include")))];
}

/** How the file on disk differs from the rendered one (nothing is written). */
export function inspectFile(f: ManagedFile): FileChange {
  if (!existsSync(f.path)) {
    const lines = f.content.split("\n").filter((l) => l !== "");
    return { path: f.path, status: "created", effect: f.effect, added: lines.length, removed: 0, ...(f.effect === "postgres" ? { settings: settingNames(lines) } : {}) };
  }
  const st = statSync(f.path);
  const current = readFileSync(f.path, "utf8");
  const now = current.split("\n");
  const next = f.content.split("\n");
  const added = unmatched(next, now);
  const removed = unmatched(now, next);
  const change: FileChange = { path: f.path, status: "unchanged", effect: f.effect, added: added.length, removed: removed.length };
  if (f.effect === "postgres" && added.length + removed.length > 0) change.settings = settingNames([...added, ...removed]);
  if ((st.mode & 0o7777) !== f.mode) change.mode = { from: octal(st.mode), to: octal(f.mode) };
  if (st.uid !== f.owner.uid || st.gid !== f.owner.gid) change.owner = { from: `${st.uid}:${st.gid}`, to: `${f.owner.uid}:${f.owner.gid} (${f.owner.name})` };
  if (current !== f.content || change.mode || change.owner) change.status = "changed";
  return change;
}

/** Writes the file whole: temporary file with its owner and mode, fsync, rename over the old one. */
export function writeFileAtomic(f: ManagedFile): void {
  mkdirSync(dirname(f.path), { recursive: true, mode: 0o755 });
  const tmp = join(dirname(f.path), `.${basename(f.path)}.fp-dr-${process.pid}`);
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeSync(fd, f.content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    chownSync(tmp, f.owner.uid, f.owner.gid);
    // chmod after chown: chown clears set-id bits, and the umask played no part in openSync's mode here.
    chmodSync(tmp, f.mode);
    renameSync(tmp, f.path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** The file as it is on disk (to put back when the server rejects the new one), or undefined. */
export function snapshotFile(f: ManagedFile): ManagedFile | undefined {
  if (!existsSync(f.path)) return undefined;
  const st = statSync(f.path);
  return { ...f, content: readFileSync(f.path, "utf8"), mode: st.mode & 0o7777, owner: { uid: st.uid, gid: st.gid, name: String(st.uid) } };
}
