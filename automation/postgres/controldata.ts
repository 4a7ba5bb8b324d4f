// The demotion token of a switchover, read from pg_controldata's output: a cluster shut down
// cleanly has written its shutdown checkpoint, and that checkpoint's LSN is the point the
// standby must replay past before it may be promoted with nothing lost.
import { DrError } from "../core/errors";

export interface DemotionToken {
  lsn: string;
  timeline: number;
}

/** The token from `pg_controldata <data dir>` text; STANDBY_UNUSABLE unless the cluster is shut down. */
export function demotionToken(controldata: string, site: string): DemotionToken {
  const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, "m").exec(controldata)?.[1].trim();
  const state = field("Database cluster state");
  if (state !== "shut down") {
    throw new DrError("STANDBY_UNUSABLE", `${site} was not shut down cleanly (pg_controldata says "${state ?? "nothing"}"): no demotion token`, {
      hint: "start it again and rerun the switchover, or fail over instead",
    });
  }
  const lsn = field("Latest checkpoint location");
  const timeline = Number(field("Latest checkpoint's TimeLineID"));
  if (!lsn || !/^[0-9A-F]+\/[0-9A-F]+$/i.test(lsn) || !Number.isInteger(timeline)) {
    throw new DrError("STANDBY_UNUSABLE", `pg_controldata of ${site} names no shutdown checkpoint`, { hint: "run pg_controldata on the host and check its output" });
  }
  return { lsn, timeline };
}
