// What `dr host apply` manages on a lab site, rendered from the dr config as the AWS hosts'
// files are from their stack config: the site's pgbackrest.conf (repositories, retention,
// tuning) and fp-dr-host.conf, the server settings that follow the config (the slow-query log
// threshold, the operator's serverSettings), included after fp-dr.conf so they win. fp-dr.conf
// and pg_hba.conf stay with what writes them (the site's role: primary, standby, restore, a
// fence or an isolation), which a config change must not undo.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { settingValue, slowQueryLogMs } from "../../../infra/cloud-init/postgresql-conf";
import type { DrConfig } from "../../config/schema";
import { DrError } from "../../core/errors";
import type { HostTarget } from "../../host-config/apply";
import type { ManagedFile } from "../../host-config/managed-file";
import { renderPgbackrestConf } from "../../pgbackrest/config-file";
import type { Lab } from "./lab";
import { isolatedFor } from "./markers";
import { sitePgbackrestSpec } from "./site";

export const HOST_SETTINGS_FILE = "fp-dr-host.conf";
const include = `include_if_exists = '${HOST_SETTINGS_FILE}'`;

/** The server settings a lab site takes from the config. */
export function renderHostSettings(config: DrConfig): string {
  const settings = { log_min_duration_statement: slowQueryLogMs(config.alerts), ...config.serverSettings };
  return ["# written by dr host apply from the dr config (alerts.slowQuery, serverSettings); edits are overwritten", ...Object.entries(settings).map(([k, v]) => `${k} = ${settingValue(v)}`), ""].join("\n");
}

export function labHostTarget(lab: Lab, siteName: string): HostTarget {
  const site = lab.site(siteName);
  const dataDir = lab.layout.dataDir(siteName);
  const isolated = isolatedFor(dataDir);
  if (isolated) {
    throw new DrError("USAGE", `site ${siteName} is isolated for incident ${isolated}: its files are evidence`, { hint: "restore the incident to a new site; leave this one as it is" });
  }
  const state = site.cluster.state();
  if (state === "absent" || state === "empty") {
    throw new DrError("SITE_UNREACHABLE", `site ${siteName} holds no cluster to configure`, { hint: `restore into it first (dr restore --to ${siteName})` });
  }
  const owner = { uid: lab.user.uid, gid: lab.user.gid, name: lab.user.name };
  const own = (path: string, content: string, effect: ManagedFile["effect"], mode = 0o600): ManagedFile => ({ path, content, mode, owner, effect });
  return {
    site: siteName,
    async files() {
      const conf = join(dataDir, "postgresql.conf");
      const current = readFileSync(conf, "utf8");
      return [
        own(site.configPath, renderPgbackrestConf(sitePgbackrestSpec(lab.ctx, siteName)), "none"),
        own(join(dataDir, HOST_SETTINGS_FILE), renderHostSettings(lab.config), "postgres"),
        // The include, last (after fp-dr.conf's), once; the rest of initdb's file as it is.
        own(conf, current.split("\n").includes(include) ? current : `${current.replace(/\n*$/, "\n")}${include}\n`, "postgres", existsSync(conf) ? statSync(conf).mode & 0o7777 : 0o600),
      ].map((f) => (f.path === site.configPath ? { ...f, secret: true } : f));
    },
    server: {
      running: () => site.cluster.state() === "running",
      query: async (sql) => (await site.cluster.psql(sql)).stdout,
      async restart() {
        await site.cluster.stop("fast");
        await site.cluster.start();
      },
    },
  };
}
