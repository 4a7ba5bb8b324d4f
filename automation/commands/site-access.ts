// Which site a look-at-one-site command (health, analyze, statistics, the backup manifest) acts
// on: on a site's own host, that host's cluster (config `host:`); elsewhere a lab site.
import type { Deps } from "./deps";
import { hostSite, type SiteAccess } from "../engines/host/this-host";
import { Lab } from "../engines/local/lab";

/** The site to look at: this host's own, or a lab site (default: the one DNS answers with). */
export async function siteAccess(deps: Deps, site?: string): Promise<SiteAccess> {
  const here = hostSite(deps.config, site);
  if (here) return here;
  const lab = Lab.open(deps.config);
  const name = site ?? (await lab.activeSite().catch(() => undefined)) ?? "primary";
  const s = lab.site(name);
  return { name, connection: s.cluster.connection(lab.state.database), pgbackrest: s.pgbackrest, logPath: s.cluster.logFile, probeRepo: (repo) => lab.probeRepo(repo), siteConflicts: async () => (await lab.status()).alerts };
}
