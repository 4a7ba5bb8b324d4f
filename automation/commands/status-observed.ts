// What `dr status` reports and what it judges from, shared by the engines' observers (the lab
// in ./status.ts, AWS in ./status-pulumi.ts), and the one recovery-state read they both make.
import { readRecoveryState, type RecoveryState } from "../postgres/recovery-state";

export type SiteRole = "primary" | "standby" | "fenced" | "down" | "unknown";
export type Verdict = "ok" | "warning" | "critical";

export interface SiteStatusLine {
  site: string;
  /** The role the topology records for it (primary or standby). */
  recorded: "primary" | "standby";
  role: SiteRole;
  address: string;
  timeline?: number;
  standby?: {
    source: "stream" | "archive";
    receiveLsn: string | null;
    replayLsn: string;
    lagBytes?: number;
    lagSeconds?: number;
    sinceReplaySeconds?: number;
    paused: boolean;
  };
  error?: string;
}

export interface DrStatus {
  checkedAt: string;
  sites: SiteStatusLine[];
  /** Seconds of commits a failover would lose if the primary died now (best source), and how that was judged. */
  rpoNow: { seconds?: number; basis: string };
  repos: { repo: 1 | 2; name: string; reachable: boolean; newestSet?: string; newestSetAt?: string; window?: { oldest: string; newest: string }; newestWalAt?: string; error?: string }[];
  service: { name: string; answer?: string; site?: string };
  lastDrill?: { runId: string; status: string; verdict: string; ageSeconds: number };
  verdict: Verdict;
  /** Why the verdict is not ok (and notes that do not change it), most severe first. */
  findings: { severity: Verdict | "info"; message: string }[];
}

/** What the sites, repositories and service name said, per engine; judged the same way. */
export interface Observed {
  primary: string;
  standby: string;
  /** The two sites, recorded primary first; role, timeline and error filled in. */
  sites: SiteStatusLine[];
  states: Map<string, RecoveryState>;
  repos: DrStatus["repos"];
  /** Age of the newest WAL in the offsite repository, when it could be read. */
  offsiteWalAgeSeconds?: number;
  service: { name: string; answer?: string; site?: string; error?: string };
}

/** The site's own answer to the recovery-state query; a fenced site is reported as fenced. */
export async function readRole(line: SiteStatusLine, states: Map<string, RecoveryState>, target: Parameters<typeof readRecoveryState>[0], fenced: boolean): Promise<void> {
  try {
    const st = await readRecoveryState(target);
    states.set(line.site, st);
    line.timeline = st.timeline;
    line.role = st.role === "standby" && fenced ? "fenced" : st.role;
  } catch (e) {
    line.role = fenced ? "fenced" : "unknown";
    line.error = (e as Error).message.split("\n")[0];
  }
}

