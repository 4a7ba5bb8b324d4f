// Figures of the warm standby under the lab's write load: how far its replay trails the primary,
// and how long writes stop in a switchover (read from the rows the load wrote: each heartbeat
// carries the address of the server that committed it, so the last write the old primary
// acknowledged and the first the new one did are both in the new primary's table).
import type { Lab } from "../engines/local/lab";
import { lagBehind, readRecoveryState } from "../postgres/recovery-state";
import type { ReplayLag } from "./types";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor(s.length / 2)];
}

/** Samples the standby's lag behind the primary every `everyMs` for `windowMs`. */
export async function sampleReplayLag(lab: Lab, standby: string, primary: string, windowMs = 5000, everyMs = 200): Promise<ReplayLag> {
  const bytes: number[] = [];
  const seconds: number[] = [];
  let source: string | undefined;
  const started = Date.now();
  while (Date.now() - started < windowMs) {
    // The primary first: a standby read after it can only be closer, never ahead.
    const p = await readRecoveryState(lab.site(primary).cluster.connection("postgres"));
    const s = await readRecoveryState(lab.site(standby).cluster.connection("postgres"));
    const lag = lagBehind(s, p);
    bytes.push(lag.bytes);
    seconds.push(lag.seconds);
    source = s.source;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return { samples: bytes.length, source, medianBytes: median(bytes), maxBytes: Math.max(0, ...bytes), medianSeconds: median(seconds), maxSeconds: Math.max(0, ...seconds), windowMs: Date.now() - started };
}

export interface HeartbeatRow {
  at: Date;
  /** The committing server's address (inet_server_addr, possibly with a /32). */
  writer: string;
}

/**
 * Last write acknowledged by `from` → first write acknowledged by `to`, in ms, from heartbeat
 * rows in commit order; undefined when `to` has not written yet. Pure.
 */
export function writeDowntimeMs(rows: readonly HeartbeatRow[], from: string, to: string): number | undefined {
  const host = (w: string) => w.split("/")[0];
  const first = rows.findIndex((r) => host(r.writer) === to);
  if (first < 0) return undefined;
  const lastOld = rows
    .slice(0, first)
    .reverse()
    .find((r) => host(r.writer) === from);
  return lastOld === undefined ? undefined : rows[first].at.getTime() - lastOld.at.getTime();
}

/** The heartbeat rows committed since `since`, on `site`, in commit order. */
export async function heartbeatsSince(lab: Lab, site: string, since: Date): Promise<HeartbeatRow[]> {
  const c = await lab.connect(site);
  try {
    const r = await c.query<{ at: Date; writer: string }>("select at, writer from fp_dr.heartbeat where at >= $1 order by at", [since]);
    return r.rows;
  } finally {
    await c.end();
  }
}
