// Figures of the warm standby under the lab's write load: how far its replay trails the primary,
// and how long writes stop in a switchover (from the commits the load saw acknowledged).
import type { Lab } from "../engines/local/lab";
import type { Ack } from "../engines/local/load";
import { lagBehind, readRecoveryState } from "../postgres/recovery-state";
import type { ReplayLag } from "./types";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor(s.length / 2)];
}

/**
 * Samples the standby's lag every `everyMs` for `windowMs`: the primary's own view
 * (pg_stat_replication.replay_lag: from a WAL flush on the primary to the standby's report that
 * it replayed it, and the bytes between the primary's WAL and the standby's replay), and the
 * standby's state (its WAL source, and lag in seconds as `dr status` computes it).
 */
export async function sampleReplayLag(lab: Lab, standby: string, primary: string, windowMs = 5000, everyMs = 200): Promise<ReplayLag> {
  const bytes: number[] = [];
  const seconds: number[] = [];
  const replayMs: number[] = [];
  let source: string | undefined;
  const started = Date.now();
  const c = await lab.connect(primary, "postgres");
  try {
    while (Date.now() - started < windowMs) {
      const r = await c.query<{ ms: number | null; bytes: string | null }>(
        "select extract(epoch from replay_lag) * 1000 as ms, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::text as bytes from pg_stat_replication where application_name = $1",
        [standby],
      );
      const s = await readRecoveryState(lab.site(standby).cluster.connection("postgres"));
      const p = await readRecoveryState(lab.site(primary).cluster.connection("postgres"));
      source = s.source;
      seconds.push(lagBehind(s, p).seconds);
      if (r.rows[0]) {
        bytes.push(Number(r.rows[0].bytes ?? 0));
        // null once the standby has replayed everything and the primary is idle: no lag.
        replayMs.push(Math.round(Number(r.rows[0].ms ?? 0) * 10) / 10);
      }
      await new Promise((res) => setTimeout(res, everyMs));
    }
  } finally {
    await c.end();
  }
  return {
    samples: seconds.length,
    source,
    medianReplayMs: median(replayMs),
    maxReplayMs: Math.max(0, ...replayMs),
    medianBytes: median(bytes),
    maxBytes: Math.max(0, ...bytes),
    medianSeconds: median(seconds),
    maxSeconds: Math.max(0, ...seconds),
    windowMs: Date.now() - started,
  };
}

/**
 * Last write acknowledged before `cut` → first acknowledged after it, in ms; undefined when
 * none came after. With `cut` the moment the old primary finished its clean shutdown, the
 * first is the old primary's last write and the second the new primary's first. Pure.
 */
export function writeDowntimeMs(acks: readonly Ack[], cut: string): number | undefined {
  const t = Date.parse(cut);
  const last = acks.filter((a) => a.at.getTime() <= t).pop();
  const first = acks.find((a) => a.at.getTime() > t);
  return last === undefined || first === undefined ? undefined : first.at.getTime() - last.at.getTime();
}
