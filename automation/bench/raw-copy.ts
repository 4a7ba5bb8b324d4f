// The physical floor: copying a cold data directory with `cp -a`, then fsync of every copied
// file and directory (pgBackRest and PostgreSQL's recovery both make their files durable, so
// the floor does too). The same bytes a restore lays down: everything but the contents of
// pg_wal, which backups do not carry (recovery fetches WAL from the archive). Nothing on the
// primary is stopped: the source is a restored site, stopped cleanly first.
import { lstatSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Lab } from "../engines/local/lab";
import { run } from "../system/exec";
import { shellQuote } from "../core/shell-words";

/** Bytes of every regular file under `dir` (symlinks not followed). */
export function treeBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory()) total += treeBytes(p);
    else if (st.isFile()) total += st.size;
  }
  return total;
}

export interface RawCopy {
  copyMs: number;
  fsyncMs: number;
  bytes: number;
  files: number;
  /** Bytes in the source's pg_wal, left out of the copy. */
  walBytesLeftOut: number;
}

function countFiles(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) {
    const st = lstatSync(join(dir, name));
    n += st.isDirectory() ? countFiles(join(dir, name)) : 1;
  }
  return n;
}

/** Stops `site`, copies its data directory (but pg_wal's contents) to `dest` as the service user and syncs it. */
export async function rawCopy(lab: Lab, site: string, dest: string): Promise<RawCopy> {
  const source = lab.layout.dataDir(site);
  await lab.site(site).cluster.stop("fast");
  rmSync(dest, { recursive: true, force: true });
  const copy = `set -o pipefail; mkdir -m 700 ${shellQuote(dest)} && cd ${shellQuote(source)} && find . -mindepth 1 -maxdepth 1 ! -name pg_wal -exec cp -a -t ${shellQuote(dest)} -- {} + && mkdir -m 700 ${shellQuote(dest)}/pg_wal`;
  let t = performance.now();
  await run("bash", ["-c", copy], { as: lab.user, hint: "the raw copy of the data directory failed" });
  const copyMs = Math.round(performance.now() - t);
  t = performance.now();
  // coreutils sync with operands fsyncs each named file and directory (not the whole filesystem)
  await run("bash", ["-c", `set -o pipefail; find ${shellQuote(dest)} -print0 | xargs -0 sync --`], { as: lab.user });
  const fsyncMs = Math.round(performance.now() - t);
  return { copyMs, fsyncMs, bytes: treeBytes(dest), files: countFiles(dest), walBytesLeftOut: treeBytes(join(source, "pg_wal")) };
}
