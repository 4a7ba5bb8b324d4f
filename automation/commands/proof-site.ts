// Where a backup's proofs run: on the warm standby when there is one and it streams (its data is
// the primary's, replayed within a second, and the O(size) checks then cost the primary
// nothing), else on the primary itself. A site's own host sees no standby: its primary.
import type { ClientConfig } from "pg";
import type { Deps } from "./deps";
import type { SiteAccess } from "../engines/host/this-host";
import { hostSite } from "../engines/host/this-host";
import { Lab } from "../engines/local/lab";
import { STANDBY_SITE } from "../engines/local/standby";
import { connect, hasExtension, withClient } from "../postgres/client";
import { readRecoveryState } from "../postgres/recovery-state";
import { pollUntil } from "../core/poll";
import type { ProofSite } from "../verify/backup-proofs";

export interface OpenProofSite extends ProofSite {
  /** Why this site (said in the backup's output). */
  why: string;
  close(): Promise<void>;
}

export async function openProofSite(deps: Deps, primary: SiteAccess): Promise<OpenProofSite> {
  const standby = hostSite(deps.config) ? undefined : await streamingStandby(deps, primary);
  const target = standby?.connection ?? primary.connection;
  const client = await connect(target, "dr-proofs");
  return {
    name: standby?.name ?? primary.name,
    client,
    open: () => connect(target, "dr-proofs"),
    why: standby ? `${standby.name}, the warm standby (streaming)` : `${primary.name}, the primary (no streaming standby)`,
    close: () => client.end().catch(() => undefined),
  };
}

async function streamingStandby(deps: Deps, primary: SiteAccess): Promise<{ name: string; connection: ClientConfig } | undefined> {
  if (!deps.config.standby.enabled || primary.name === STANDBY_SITE) return undefined;
  const lab = Lab.open(deps.config);
  if (!lab.siteNames().includes(STANDBY_SITE)) return undefined;
  const s = lab.site(STANDBY_SITE);
  const state = await readRecoveryState(s.cluster.connection("postgres")).catch(() => undefined);
  if (state?.role !== "standby" || state.source !== "stream") return undefined;
  const connection = s.cluster.connection(lab.state.database);
  // amcheck cannot be created on a standby: created on the primary, it arrives with the stream.
  const has = await withClient(connection, (c) => hasExtension(c, "amcheck"));
  if (!has) {
    const lsn = await withClient(primary.connection, async (c) => {
      await c.query("create extension if not exists amcheck");
      return (await c.query("select pg_current_wal_lsn()::text l")).rows[0].l as string;
    });
    const replayed = await pollUntil(
      () => withClient(connection, async (c) => ((await c.query("select pg_last_wal_replay_lsn() >= $1::pg_lsn ok", [lsn])).rows[0].ok ? true : undefined)),
      { what: `${STANDBY_SITE} replaying the amcheck extension`, timeoutMs: 10_000, intervalMs: 100, giveUp: "return" },
    );
    if (!replayed) return undefined;
  }
  return { name: STANDBY_SITE, connection };
}
