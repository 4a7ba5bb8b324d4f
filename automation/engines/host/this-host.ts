// The site on this machine, when it is a site's own PostgreSQL host (AWS: cloud-init writes a
// `host:` section into /etc/fp-dr/dr.config.yaml). Its timers run `dr health --publish` every
// minute and `dr backup manifest` before each backup; there is no lab there. PostgreSQL is
// Debian's cluster, reached over its Unix socket with peer authentication (the units run as
// the postgres OS user), and pgBackRest reads the package's configuration file.
import type { ClientConfig } from "pg";
import type { HealthFinding } from "../../postgres/health-types";
import type { DrConfig } from "../../config/schema";
import { DrError } from "../../core/errors";
import { Pgbackrest } from "../../pgbackrest/client";
import { serviceUser } from "../../system/service-user";

/** What the health, analyze, statistics and manifest commands need of a site. */
export interface SiteAccess {
  name: string;
  /** node-postgres settings for a superuser connection to the application database. */
  connection: ClientConfig;
  pgbackrest: Pgbackrest;
  /** The server log, read for failed logins (undefined: ask the server for its collector's file). */
  logPath?: string;
  /**
   * Checks a repository's store answers (a clear STORE_UNREACHABLE before pgBackRest times
   * out): the lab's object store; a site's own host has none.
   */
  probeRepo?: (repo: 1 | 2) => Promise<void>;
  /**
   * Findings across sites (split brain, a fenced site running) where every site is visible:
   * the lab. A site's own host sees only itself.
   */
  siteConflicts?: () => Promise<HealthFinding[]>;
}

/** The site this host serves, or undefined when this machine is not a site's host. */
export function hostSite(config: DrConfig, requested?: string): SiteAccess | undefined {
  const h = config.host;
  if (!h) return undefined;
  if (requested !== undefined && requested !== h.site) {
    throw new DrError("SITE_UNKNOWN", `this host serves site ${h.site}, not ${requested}`, { hint: `run it on ${requested}'s host, or leave out --site` });
  }
  return {
    name: h.site,
    connection: { host: h.socketDir, port: h.port, user: h.user, database: config.database },
    // Run by root (an operator with sudo), pgBackRest still runs as the cluster's owner.
    pgbackrest: new Pgbackrest({ configPath: h.pgbackrestConfig, stanza: config.stanza, user: serviceUser(h.user) }),
    logPath: h.logFile,
  };
}
