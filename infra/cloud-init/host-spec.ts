// What a PostgreSQL host is told at boot: the input of every renderer in this directory, and
// the paths they agree on. Plain data (no Pulumi), so rendering is pure and testable.
import type { AlertThresholds, Objectives, PgbackrestTuning, Retention, Schedules, ServerSettings } from "../../automation/config/common";
import type { SiteRole } from "../../automation/config/schema";

const pgVersion = "15";
const clusterName = "main";

/** Paths on the host (Debian 12 layout). */
export const hostPaths = {
  pgVersion,
  /** Node.js major for `dr`: the current LTS (Debian 12 ships 18; Node 20 reached its end of life on 2026-04-30). */
  nodeMajor: "24",
  clusterName,
  /** The data volume is mounted here, so the cluster lives on it. */
  dataMount: "/var/lib/postgresql",
  dataDir: "/var/lib/postgresql/15/main",
  pgBin: "/usr/lib/postgresql/15/bin",
  /** Our settings, included last by the cluster's postgresql.conf (createcluster add_include). */
  postgresqlConf: "/etc/fp-dr/postgresql.conf",
  pgHba: "/etc/fp-dr/pg_hba.conf",
  createclusterConf: "/etc/postgresql-common/createcluster.d/fp-dr.conf",
  /** Written root-only by cloud-init, installed for postgres by the bootstrap script. */
  pgbackrestConfStaged: "/etc/fp-dr/pgbackrest.conf.staged",
  pgbackrestConf: "/etc/pgbackrest/pgbackrest.conf",
  /** Installs pgbackrest.conf from the staged file with the passphrase read from stdin. */
  installPgbackrestConf: "/usr/local/sbin/fp-dr-install-pgbackrest-conf",
  /** Debian's pg_ctlcluster writes the server's stderr here (no log collector). */
  serverLog: `/var/log/postgresql/postgresql-${pgVersion}-${clusterName}.log`,
  socketDir: "/var/run/postgresql",
  drConfig: "/etc/fp-dr/dr.config.yaml",
  /** The host spec `dr host apply` renders from, as the host-apply document last fetched it. */
  hostSpec: "/etc/fp-dr/host-spec.json",
  bootstrap: "/usr/local/sbin/fp-dr-bootstrap",
  event: "/usr/local/sbin/fp-dr-event",
  isWriter: "/usr/local/sbin/fp-dr-is-writer",
  spool: "/var/spool/pgbackrest",
  pgbackrestLog: "/var/log/pgbackrest",
  systemdDir: "/etc/systemd/system",
  sslCert: "/etc/ssl/certs/ssl-cert-snakeoil.pem",
  sslKey: "/etc/ssl/private/ssl-cert-snakeoil.key",
} as const;

/** Stands for the passphrase in the staged pgbackrest.conf; the bootstrap puts the escrowed one in. */
export const cipherPassPlaceholder = "@FP_DR_REPO_CIPHER_PASS@";

/** One pgBackRest S3 repository. */
export interface RepositorySpec {
  bucket: string;
  region: string;
  /** Key prefix, e.g. /pgbackrest. */
  path: string;
  retention: Retention;
}

export interface HostSpec {
  role: SiteRole;
  environment: string;
  site: string;
  region: string;
  stanza: string;
  database: string;
  serviceName: string;
  /** repo1: this region's bucket (a drill reads the region's production bucket). */
  repo1: RepositorySpec;
  /** repo2: the offsite bucket in the other region; none for a drill. */
  repo2?: RepositorySpec;
  /**
   * Where the host reads the repository passphrase (Secrets Manager, its own region's copy);
   * undefined = repositories unencrypted. The passphrase itself is never in user data.
   */
  cipherPassSecret?: { name: string; region: string };
  /** Archive WAL and run scheduled backups and maintenance (false for a drill). */
  writer: boolean;
  objectives: Objectives;
  schedules: Schedules;
  maintenanceSchedule: string;
  /** The alert thresholds: `dr health` judges with them, the alarms fire on them. */
  alerts: AlertThresholds;
  pgbackrest: PgbackrestTuning;
  /** Extra server settings from the config (serverSettings), after fp-dr's own. Default none. */
  settings?: ServerSettings;
  /**
   * The stream: the replication role may log in from the other site's VPC only (pg_hba
   * "replication" line, scram over TLS). None: no replication connection is accepted.
   */
  replication?: { role: string; peerCidr: string };
  /** Networks allowed to log in over TLS (application ranges, the site VPC). */
  clientCidrs: string[];
  roles: { app: string; backup: string; verifier: string; admin: string };
  /** CPU architecture of the instance (the SSM agent package differs). */
  architecture: "arm64" | "x86_64";
  /** EBS volume id of the data volume (vol-…); its NVMe device is found by id. */
  dataVolumeId: string;
  /** s3:// or https:// URL of the fp-dr toolkit tarball. */
  toolkitUrl: string;
  /** Public key for the SSH user (remote commands through SSM or the bastion). */
  sshPublicKey?: string;
  /** TLS certificate and key of the server (default: Debian's snakeoil pair). */
  ssl?: { certFile: string; keyFile: string };
}
