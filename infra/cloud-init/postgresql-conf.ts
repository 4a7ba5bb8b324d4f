// PostgreSQL settings of a site's host: our include file (WAL archiving through pgBackRest,
// archive_timeout from the RPO objectives), pg_hba.conf, and the createcluster.conf drop-in
// that makes Debian's pg_createcluster initialise with data checksums and include our file.
import type { Objectives } from "../../automation/config/common";
import { hostPaths, type HostSpec } from "./host-spec";

/**
 * archive_timeout from the recovery point objectives: half the smallest RPO, so a quiet
 * database still ships its last writes well inside the tightest objective (the runbook's 15
 * minutes for accidental deletion → 450 s). Clamped to [60 s, 1 h]: shorter wastes a 16 MB
 * segment a minute, longer would exceed every RPO in the runbook.
 */
export function archiveTimeoutSeconds(objectives: Objectives): number {
  const smallest = Math.min(...Object.values(objectives).map((o) => o.rpo));
  return Math.max(60, Math.min(3600, Math.floor(smallest / 2)));
}

/** Quotes a value for postgresql.conf ('…' with embedded quotes doubled). */
export function confString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** A setting's value as postgresql.conf takes it: on/off, a bare number, else quoted. */
export function settingValue(value: string | number | boolean): string {
  if (typeof value === "boolean") return value ? "on" : "off";
  return typeof value === "number" ? String(value) : confString(value);
}

/** log_min_duration_statement, in milliseconds: the slow-query alert's threshold (seconds). */
export function slowQueryLogMs(alerts: { slowQuery: number }): number {
  return Math.round(alerts.slowQuery * 1000);
}

/** The archive_command: pgBackRest pushes each segment to every configured repository. */
export function archiveCommand(stanza: string): string {
  return `pgbackrest --stanza=${stanza} archive-push %p`;
}

export function renderPostgresqlConf(spec: HostSpec): string {
  const ssl = spec.ssl ?? { certFile: hostPaths.sslCert, keyFile: hostPaths.sslKey };
  const settings: [string, string, string?][] = [
    ["listen_addresses", confString("*"), "the security group decides who reaches 5432"],
    ["port", "5432"],
    ["hba_file", confString(hostPaths.pgHba), "rendered with this file, see pg_hba.conf"],
    ["password_encryption", confString("scram-sha-256")],
    ["ssl", "on", "pg_hba.conf accepts TCP logins over TLS only"],
    ["ssl_cert_file", confString(ssl.certFile)],
    ["ssl_key_file", confString(ssl.keyFile)],
    ["ssl_min_protocol_version", confString("TLSv1.2")],
    ["wal_level", "replica", "enough for PITR and a standby restored from the repository"],
    ["archive_mode", spec.writer ? "on" : "off", spec.writer ? "every segment goes to repo1 and repo2" : "a drill never writes to the production repositories"],
    ["archive_command", confString(spec.writer ? archiveCommand(spec.stanza) : "/bin/true")],
    ["archive_timeout", `${archiveTimeoutSeconds(spec.objectives)}`, "seconds: half the smallest RPO objective"],
    ["max_wal_senders", "10"],
    ["hot_standby", "on", "a standby answers read-only queries (verification, health)"],
    ["wal_retrieve_retry_interval", confString("1s"), "a standby replaying from the archive asks for the next segment every second, not every 5 s (the default): its lag and a promotion's catch-up"],
    ["track_commit_timestamp", "on", "the recovery-state query and a failover's RPO read the last commit's time"],
    ["shared_preload_libraries", confString("pg_stat_statements"), "slow-query analysis"],
    ["pg_stat_statements.track", "all"],
    ["log_min_duration_statement", `${slowQueryLogMs(spec.alerts)}`, "milliseconds: the slow-query alert's threshold"],
    ["log_checkpoints", "on"],
    ["log_lock_waits", "on"],
  ];
  const lines = [
    "# fp-dr: managed by Pulumi (infra/cloud-init/postgresql-conf.ts). Changes here are overwritten.",
    `# Site ${spec.site} (${spec.role}) of environment ${spec.environment}.`,
  ];
  for (const [name, value, why] of settings) lines.push(why ? `${name} = ${value}\t\t# ${why}` : `${name} = ${value}`);
  const extra = Object.entries(spec.settings ?? {});
  if (extra.length) lines.push("# serverSettings from the config:", ...extra.map(([name, value]) => `${name} = ${settingValue(value)}`));
  return lines.join("\n") + "\n";
}

/**
 * pg_hba.conf: local peer for the OS users, TLS + SCRAM for everyone on the network, and only
 * from the application's ranges and the site's own VPC; replication only from the other site's
 * VPC, as the replication role. Anything else has no line: rejected.
 */
export function renderPgHba(spec: HostSpec): string {
  const lines = [
    "# fp-dr: managed by Pulumi (infra/cloud-init/postgresql-conf.ts).",
    "# TYPE    DATABASE        USER            ADDRESS                 METHOD",
    "local     all             postgres                                peer",
    "local     all             all                                     peer",
    // The SSM port forward arrives on loopback: the provider's superuser and the operators.
    `hostssl   all             ${spec.roles.admin.padEnd(15)} 127.0.0.1/32            scram-sha-256`,
  ];
  const network = [...new Set(spec.clientCidrs)];
  for (const cidr of network) {
    lines.push(`hostssl   ${spec.database.padEnd(15)} ${spec.roles.app.padEnd(15)} ${cidr.padEnd(23)} scram-sha-256`);
  }
  for (const cidr of network) {
    for (const role of [spec.roles.backup, spec.roles.verifier]) {
      lines.push(`hostssl   all             ${role.padEnd(15)} ${cidr.padEnd(23)} scram-sha-256`);
    }
  }
  // The stream: the replication role, from the other site's VPC only (either site may be the
  // primary the other streams from, so both carry the line).
  if (spec.replication) {
    lines.push(`hostssl   replication     ${spec.replication.role.padEnd(15)} ${spec.replication.peerCidr.padEnd(23)} scram-sha-256`);
  }
  return lines.join("\n") + "\n";
}

/**
 * Drop-in for /etc/postgresql-common/createcluster.d: Debian's pg_createcluster runs initdb with
 * these options and appends the include to the new cluster's postgresql.conf. The bootstrap
 * creates the cluster itself (create_main_cluster = false), so that a reattached data volume
 * is adopted instead of overwritten.
 */
export function renderCreateclusterConf(): string {
  return [
    "# fp-dr: managed by Pulumi (infra/cloud-init/postgresql-conf.ts).",
    "create_main_cluster = false",
    "# Data checksums can only be chosen at initdb: they let amcheck and pgBackRest detect corruption.",
    "initdb_options = '--data-checksums'",
    `add_include = ${confString(hostPaths.postgresqlConf)}`,
    "",
  ].join("\n");
}
