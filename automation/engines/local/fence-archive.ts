// While a site carries the fence marker its archive_command refuses: a fenced site restarted by
// hand, even with standby.signal removed (a second primary), pushes nothing into the shared
// repositories, where its diverged WAL would mix with the new primary's. Its WAL stays in pg_wal
// (kept for forensics) and its archiver reports failures.
import { appendFileSync, chownSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { quoteLiteral } from "../../postgres/client";
import type { ServiceUser } from "../../system/service-user";
import { FENCE_MARKER } from "./markers";

/** An archive_command that refuses while the marker exists (PostgreSQL runs it in the data directory). */
export function refuseWhenFenced(archiveCommand: string): string {
  return `if [ -e ${FENCE_MARKER} ]; then echo "fp-dr: this site is fenced (${FENCE_MARKER}); its WAL stays in pg_wal" >&2; exit 1; fi; ${archiveCommand}`;
}

/**
 * Makes sure the fenced data directory archives through the guard (`guarded`, from
 * refuseWhenFenced) whatever its configuration file says (a cluster set up before the guard
 * existed, or edited by hand): postgresql.auto.conf is read last, so a restart by anyone picks
 * the guarded command up.
 */
export function pinGuardedArchiving(dataDir: string, guarded: string, user: ServiceUser): void {
  const auto = join(dataDir, "postgresql.auto.conf");
  const line = `archive_command = ${quoteLiteral(guarded)}`;
  if (existsSync(auto) && readFileSync(auto, "utf8").includes(line)) return;
  appendFileSync(auto, `# fp-dr fence: no WAL into the shared repositories while ${FENCE_MARKER} exists\n${line}\n`);
  if (user.switched) chownSync(auto, user.uid, user.gid);
}
