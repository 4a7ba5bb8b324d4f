// What `dr host apply` manages on a site's own AWS host: the files cloud-init wrote at first
// boot, rendered by the same functions (infra/cloud-init/user-data.ts renderFiles) from the
// host spec the stack publishes, so a config change reaches a running host without a reboot.
// pgbackrest.conf is written whole with the escrowed passphrase in place of the placeholder
// (cloud-init stages it and the bootstrap installs it; here there is nothing to stage).
import { join } from "node:path";
import { cipherPassPlaceholder, hostPaths, type HostSpec } from "../../../infra/cloud-init/host-spec";
import { renderFiles } from "../../../infra/cloud-init/user-data";
import type { HostTarget } from "../../host-config/apply";
import type { FileEffect, ManagedFile } from "../../host-config/managed-file";
import { Cluster } from "../../postgres/cluster";
import { run } from "../../system/exec";
import type { ServiceUser } from "../../system/service-user";

export interface AwsHostOptions {
  /** The repository passphrase (read from its escrow), when the spec says the repositories are encrypted. */
  passphrase?: string;
  /** The cluster's OS user (postgres). */
  user: ServiceUser;
  socketDir: string;
  port: number;
  /** Prefix of every path: "/" on a host; a scratch directory in tests. */
  root?: string;
  /** systemctl; default the host's own. */
  systemctl?: (args: string[]) => Promise<void>;
}

function effectOf(path: string): FileEffect {
  if (path === hostPaths.postgresqlConf || path === hostPaths.pgHba) return "postgres";
  return path.startsWith(`${hostPaths.systemdDir}/`) ? "systemd" : "none";
}

const systemctl = async (args: string[]) => {
  await run("systemctl", args, { errorCode: "HOST_COMMAND_FAILED", hint: "read `journalctl -xe` on the host" });
};

/** The files, root's unless named otherwise, with the modes cloud-init gives them. */
export function awsHostFiles(spec: HostSpec, o: Pick<AwsHostOptions, "passphrase" | "user" | "root">): ManagedFile[] {
  const root = { uid: 0, gid: 0, name: "root" };
  const at = (p: string) => (o.root ? join(o.root, p) : p);
  const files: ManagedFile[] = [];
  for (const f of renderFiles(spec)) {
    if (f.path === hostPaths.pgbackrestConfStaged) {
      // As the install script leaves it: the cluster owner's, 0640, the passphrase in place.
      const content = spec.cipherPassSecret ? f.content.split(cipherPassPlaceholder).join(o.passphrase ?? "") : f.content;
      files.push({ path: at(hostPaths.pgbackrestConf), content, mode: 0o640, owner: { uid: o.user.uid, gid: o.user.gid, name: o.user.name }, effect: "none", secret: true });
      continue;
    }
    files.push({ path: at(f.path), content: f.content, mode: parseInt(f.permissions, 8), owner: root, effect: effectOf(f.path) });
  }
  return files;
}

export function awsHostTarget(spec: HostSpec, o: AwsHostOptions): HostTarget {
  const cluster = new Cluster({ dataDir: o.root ? join(o.root, hostPaths.dataDir) : hostPaths.dataDir, runDir: o.socketDir, host: "localhost", port: o.port, user: o.user });
  const ctl = o.systemctl ?? systemctl;
  return {
    site: spec.site,
    files: async () => awsHostFiles(spec, o),
    server: {
      running: () => cluster.state() === "running",
      query: async (sql) => (await cluster.psql(sql)).stdout,
      // Debian's unit, so systemd keeps tracking the server.
      restart: () => ctl(["restart", `postgresql@${hostPaths.pgVersion}-${hostPaths.clusterName}`]),
    },
    systemctl: ctl,
  };
}
