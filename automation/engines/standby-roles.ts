// What moves a standby role without a restore, for an engine whose sites the plans cannot
// drive directly (pulumi: through stack requests and commands on the hosts). The lab's plans
// act on the lab's clusters themselves; an engine that offers these is used instead.
import type { DemotionToken } from "../postgres/controldata";
import type { SwitchoverRecord } from "../../infra/config/control-state";
export type { SwitchoverRecord };

export interface StandbyRoles {
  /**
   * The site recorded as the current primary (pulumi: the DNS stack's forced activeSite, which
   * every promotion sets), or undefined when nothing is recorded beyond the configured roles.
   */
  recordedPrimary?(): Promise<string | undefined>;
  /** Whether the site carries a fence in force (as recorded, without asking the site). */
  fenced?(site: string): Promise<boolean>;
  /** Promote the site's standby; resolves once it takes writes. */
  promote(site: string): Promise<{ detail: string }>;
  /** Clean ("fast") shutdown of the site's PostgreSQL: every WAL record reaches a connected standby. */
  stopCleanly(site: string): Promise<void>;
  /** Whether the site's PostgreSQL is stopped. */
  isStopped(site: string): Promise<boolean>;
  /** The shutdown checkpoint of the stopped site (pg_controldata on its host). */
  shutdownToken(site: string): Promise<DemotionToken>;
  /**
   * Keeps the switchover in flight where every update of the stacks reads it (pulumi: the
   * environment's control document, whose program then refuses any update but the run's own);
   * null when it ended.
   */
  recordSwitchover?(switchover: SwitchoverRecord | null): Promise<void>;
  /** The switchover in flight as recorded there, if any. */
  recordedSwitchover?(): Promise<SwitchoverRecord | undefined>;
  /** Start the cleanly stopped old primary again as a standby of `primary`, without a rebuild. */
  restartAsStandby(site: string, primary: string): Promise<{ detail: string }>;
  /**
   * Reprotect: rebuild `site` (the fenced old primary) as a standby of `primary` from the new
   * primary's repository, streaming from it; the fence is lifted only by becoming a standby.
   */
  reprotect(site: string, primary: string): Promise<{ requestId: string; detail: string }>;
}
