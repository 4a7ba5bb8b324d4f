// Reprotect on the lab: the old primary, fenced by a failover, is rebuilt as a standby of the new
// primary. pg_rewind first (data checksums are on, so it may run): it copies only the blocks
// changed since the timelines forked, from the new primary over a connection. When it cannot
// (the old primary's WAL around the fork is gone, its control file unreadable, …) a pgBackRest
// delta restore `--type=standby` from the new primary's own repository rewrites what differs.
//
// Repository roles follow the new primary: its own region's repository is the one it restores and
// reads from first. The lab keeps one pgBackRest numbering for both sites (repo1 = the primary
// region's directory, repo2 = the standby region's S3 store), and every primary archive-pushes
// to both; so after a failover to `secondary`, its own region is repo2 (the S3 store) and repo1
// is the other region; after failing back, `primary` owns repo1 again.
import { chownSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pgBin, run } from "../../system/exec";
import { FENCE_MARKER } from "./markers";
import type { Lab } from "./lab";

/** The repository in the region of `site`: repo1 for the primary region, repo2 (offsite) for the standby region. */
export function ownRepo(lab: Lab, site: string): 1 | 2 {
  return lab.state.sites[site]?.role === "primary" ? 1 : 2;
}

export interface Rebuilt {
  method: "pg_rewind" | "delta-restore";
  detail: string;
  /** Why pg_rewind was not used, when it was not. */
  rewindFailure?: string;
}

/** Rebuilds the stopped `site` from `upstream` (the new primary): pg_rewind, else a delta restore as a standby. */
export async function rewindOrRestore(lab: Lab, site: string, upstream: string): Promise<Rebuilt> {
  const s = lab.site(site);
  const dataDir = lab.layout.dataDir(site);
  const source = lab.site(upstream).cluster.spec;
  // Over the new primary's socket, as the service user (peer authentication): no secret on any command line.
  const conninfo = `host=${source.runDir} port=${source.port} user=${source.user.name} dbname=postgres`;
  const started = Date.now();
  let rewindFailure: string;
  // A killed server is recovered by pg_rewind in single-user mode, which refuses standby mode: the
  // signal goes until the site follows the new primary; the fence marker keeps its archiving off.
  rmSync(join(dataDir, "standby.signal"), { force: true });
  try {
    // pg_rewind finishes the crash recovery of a killed server itself before it compares.
    await run(pgBin("pg_rewind"), ["--target-pgdata", dataDir, "--source-server", conninfo], { as: lab.user, errorCode: "RESTORE_FAILED", timeoutMs: 600_000 });
    return { method: "pg_rewind", detail: `pg_rewind from ${upstream} in ${Date.now() - started} ms` };
  } catch (e) {
    rewindFailure = (e as Error).message.split("\n")[0];
  }
  const repo = ownRepo(lab, upstream);
  // A failed pg_rewind can leave a half-written directory: the delta restore rewrites what differs.
  // It also removes what no backup holds, the fence marker among them: put back, the fence stays
  // until the site is a standby.
  const fence = readFileSync(join(dataDir, FENCE_MARKER), "utf8");
  rmSync(join(dataDir, "postmaster.pid"), { force: true });
  await s.pgbackrest.restore({ repo, target: { kind: "latest" }, asStandby: true, delta: true, pgPath: dataDir });
  writeFileSync(join(dataDir, FENCE_MARKER), fence);
  if (lab.user.switched) chownSync(join(dataDir, FENCE_MARKER), lab.user.uid, lab.user.gid);
  return { method: "delta-restore", detail: `pg_rewind impossible (${rewindFailure}); delta restore --type=standby from repo${repo} in ${Date.now() - started} ms`, rewindFailure };
}

/** The fence goes only once the site is a standby of the new primary. */
export function removeFence(lab: Lab, site: string): void {
  rmSync(join(lab.layout.dataDir(site), FENCE_MARKER), { force: true });
}
