// `dr backup full|diff|incr`: an on-demand backup of the primary into one or both
// repositories, tagged with who asked and why, with live progress read from pgBackRest's own
// lock (info reports bytes copied so far while a backup runs).
import { hostname, userInfo } from "node:os";
import type { Output } from "../core/output";
import type { Pgbackrest } from "../pgbackrest/client";
import type { BackupSet } from "../pgbackrest/info";
import type { BackupType } from "../pgbackrest/options";
import { pollUntil } from "../core/poll";

export interface TakeBackupOptions {
  type: BackupType;
  /** Which repositories: 1 (site), 2 (offsite) or both (default). */
  repos?: (1 | 2)[];
  /** Why (recorded with the set). */
  reason?: string;
  /** Who (recorded with the set); default user@host. */
  by?: string;
}

export interface TakenBackup {
  repo: 1 | 2;
  set: BackupSet;
  durationMs: number;
}

export async function takeBackup(pgb: Pgbackrest, out: Output, opts: TakeBackupOptions): Promise<TakenBackup[]> {
  const repos = opts.repos ?? [1, 2];
  const annotations = {
    by: opts.by ?? `${userInfo().username}@${hostname()}`,
    why: opts.reason ?? "on demand",
  };
  const taken: TakenBackup[] = [];
  for (const repo of repos) {
    const label = `${opts.type} backup to repo${repo} (${repo === 1 ? "site" : "offsite"})`;
    const before = new Set((await pgb.sets({ repo })).map((s) => s.label));
    const started = Date.now();
    await out.timed(
      label,
      () => withProgress(pgb, repo, out, label, () => pgb.backup({ type: opts.type, repo, annotations })),
      () => undefined,
    );
    const set = (await pgb.sets({ repo })).find((s) => !before.has(s.label));
    if (set) taken.push({ repo, set, durationMs: Date.now() - started });
  }
  return taken;
}

/** Polls `info` while `work` runs and feeds the bytes-done figure to the progress display. */
async function withProgress<T>(pgb: Pgbackrest, repo: 1 | 2, out: Output, label: string, work: () => Promise<T>): Promise<T> {
  let stop = false;
  // Ends when the work does (no bound of its own: the backup has its timeouts).
  const poll = pollUntil(
    async () => {
      if (stop) return true;
      try {
        const lock = (await pgb.info({ repo })).status.lock?.backup;
        if (lock?.held && lock.size) out.progress(lock["size-cplt"] ?? 0, lock.size, label);
      } catch {
        // progress is best effort; the backup itself reports failures
      }
      return undefined;
    },
    { what: "the backup to end", timeoutMs: Infinity, intervalMs: 1000, delayFirst: true },
  );
  try {
    return await work();
  } finally {
    stop = true;
    await poll;
    out.stopProgress();
  }
}
