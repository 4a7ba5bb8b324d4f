// The lab's side of a restore: what a destination site looks like before the restore (for the
// plan) and how to prepare and configure it (for the run).
import { existsSync, readdirSync } from "node:fs";
import type { RestoreDestination } from "../../restore/plan";
import type { RestoreDestinationHandle } from "../../restore/destination";
import { bytesUnder, freeBytesAt } from "../../restore/disk-space";
import { makeServiceDir } from "../../system/service-user";
import type { Lab } from "./lab";
import { siteServerSettings, writeSitePgbackrestConf } from "./site";
import { checkSiteName, siteEntry } from "./site-name";

export async function labDestination(lab: Lab, siteName: string): Promise<RestoreDestination> {
  // A replacement host is planned for before the bring-up step adds it: nothing there yet.
  if (!siteEntry(lab.state.sites, siteName)) {
    const dataDir = lab.layout.dataDir(checkSiteName(siteName));
    return { name: siteName, kind: "site", dataDir, address: "", port: 0, state: "absent", serving: false, space: { freeBytes: freeBytesAt(dataDir), reusableBytes: 0 } };
  }
  const site = lab.site(siteName);
  let serving = false;
  try {
    serving = (await lab.resolveService()) === site.address;
  } catch {
    // DNS down: treat as not serving; the running check still protects a live cluster
  }
  const dataDir = lab.layout.dataDir(siteName);
  return {
    name: siteName,
    kind: site.role === "scratch" ? "scratch" : "site",
    dataDir,
    address: site.address,
    port: site.port,
    state: site.cluster.state(),
    serving,
    existing: existsSync(dataDir) ? readdirSync(dataDir) : undefined,
    space: { freeBytes: freeBytesAt(dataDir), reusableBytes: bytesUnder(dataDir) },
  };
}

/**
 * How to restore into a lab site. Scratch and drill sites never archive: a throwaway copy
 * must not add a timeline to the shared archive, which later restores would follow.
 */
export function labRestoreHandle(lab: Lab, siteName: string): RestoreDestinationHandle {
  const site = lab.site(siteName);
  const archives = site.role === "primary" || site.role === "secondary";
  return {
    cluster: site.cluster,
    pgbackrest: site.pgbackrest,
    async prepare() {
      makeServiceDir(lab.layout.siteDir(siteName), lab.user, 0o750);
      makeServiceDir(lab.layout.dataDir(siteName), lab.user, 0o700);
      makeServiceDir(lab.layout.runDir(siteName), lab.user, 0o755);
      writeSitePgbackrestConf(lab.ctx, siteName);
    },
    serverSettings() {
      const base = siteServerSettings(lab.ctx, site.configPath);
      return {
        ...base,
        listen_addresses: site.address,
        port: site.port,
        unix_socket_directories: lab.layout.runDir(siteName),
        ...(archives ? {} : { archive_mode: "off" }),
      };
    },
    probeRepo: (repo) => lab.probeRepo(repo),
  };
}
