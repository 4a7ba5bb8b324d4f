// The scripts Pulumi runs on a host over SSH (through the SSM port forward or the bastion):
// the readiness gate (bootstrap finished, PostgreSQL accepting connections, the provider's
// superuser in place) and the restore of a restore request. Pure text, sent on stdin to
// `bash -s` so no quoting layer stands between the script and the shell; `bash -n` checks
// them in the tests.
import { hostPaths } from "./cloud-init/host-spec";
// Deployed quoting: these scripts are Command inputs (see shellQuoteDeployed).
import { shellQuoteDeployed as shellQuote } from "../automation/core/shell-words";
import { formatTargetTime, targetArgs } from "../automation/pgbackrest/options";
import { pointInTime, targetOfRequest, type RestoreRequest } from "./config/requests";

const cluster = `${hostPaths.pgVersion}-${hostPaths.clusterName}`;

/** The remote command line: the script arrives on stdin. */
export const remoteShell = "bash -s";

/** A restore request (./config/requests.ts) as the host runs it: with the stanza, without the timeout. */
export type RestoreRequestSpec = Omit<RestoreRequest, "timeout"> & { stanza: string };

/**
 * A recovery target time in the one form pgBackRest 2.45 accepts for choosing the backup set
 * ("YYYY-MM-DD HH:MM:SS.ffffff+00"; ISO 8601's "T" is refused with error 029), in UTC so the
 * host's time zone plays no part. PostgreSQL reads the same text as recovery_target_time.
 */
export function pgbackrestTargetTime(iso: string): string {
  return formatTargetTime(pointInTime(iso));
}

/** pgBackRest's arguments for a restore request. */
export function restoreArguments(r: RestoreRequestSpec): string[] {
  const args = [`--stanza=${r.stanza}`, `--repo=${r.repo}`, "--delta"];
  if (r.set) args.push(`--set=${r.set}`);
  // The mode is the target action; a standby takes none.
  args.push(...targetArgs(targetOfRequest(r), { asStandby: true, action: r.mode === "standby" ? undefined : r.mode }));
  args.push("restore");
  return args;
}

/**
 * Restores the host's cluster for a request. Refuses to overwrite a running primary that holds
 * user databases unless the request says so: the automation fences a site before restoring.
 */
export function restoreScript(r: RestoreRequestSpec): string {
  const argv = restoreArguments(r).map(shellQuote).join(" ");
  return `set -euo pipefail
request=${shellQuote(r.requestId)}
echo "fp-dr restore request $request: start"
sudo cloud-init status --wait >/dev/null 2>&1 || true
state=$(sudo -u postgres psql -XAtq -c 'select pg_is_in_recovery()' 2>/dev/null || echo down)
userdbs=$(sudo -u postgres psql -XAtq -c "select count(*) from pg_database where datname not in ('postgres','template0','template1')" 2>/dev/null || echo 0)
if [ "$state" = "f" ] && [ "$userdbs" != "0" ] && [ ${shellQuote(r.allowOverwrite ? "yes" : "no")} != "yes" ]; then
  echo "refusing to restore over a running primary holding data (request $request): fence it first, or set restore.allowOverwrite" >&2
  exit 3
fi
sudo systemctl stop postgresql@${cluster}
sudo -u postgres pgbackrest ${argv}
sudo systemctl start postgresql@${cluster}
for _ in $(seq 1 120); do sudo -u postgres pg_isready -q && break; sleep 5; done
sudo -u postgres pg_isready
echo "fp-dr restore request $request: done"
`;
}

/** Quotes an SQL string literal. */
export function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * Waits for the bootstrap and PostgreSQL; when an admin role is given, makes sure it exists
 * with the stack's password (the database provider logs in as it). The password travels on
 * stdin inside a quoted heredoc: never on a command line, never echoed.
 */
export function readyScript(admin?: { role: string; password: string }): string {
  if (admin && /[\r\n]/.test(admin.password)) throw new Error("the admin password must be a single line");
  const sql = admin
    ? `sudo -u postgres psql -XAtq -v ON_ERROR_STOP=1 <<'FP_DR_SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${sqlString(admin.role)}) THEN
    CREATE ROLE ${admin.role};
  END IF;
END $$;
ALTER ROLE ${admin.role} WITH LOGIN SUPERUSER PASSWORD ${sqlString(admin.password)};
FP_DR_SQL
`
    : "";
  return `set -euo pipefail
sudo cloud-init status --wait >/dev/null || { echo "host bootstrap failed: see /var/log/fp-dr-bootstrap.log" >&2; exit 1; }
for _ in $(seq 1 60); do sudo -u postgres pg_isready -q && break; sleep 5; done
sudo -u postgres pg_isready
${sql}echo "host ready"
`;
}

/** Where the standby's replication password lives: postgres's own 0600 passfile, never a setting. */
export const replicationPassfile = `${hostPaths.dataMount}/.fp-replication.pgpass`;

/** What a standby streams from: the primary's private address, the replication role, its slot. */
export interface StandbyStreamSpec {
  primaryHost: string;
  role: string;
  /** The replication role's password (a stack secret): written to the passfile only. */
  password: string;
  slot: string;
  /** application_name the primary sees (pg_stat_replication): the standby's site. */
  application: string;
  /** The primary's port. Default 5432 (tests use their own). */
  port?: number;
  /** The passfile. Default replicationPassfile (the host's; tests use their own). */
  passfile?: string;
}

/** libpq connection string of the stream (no password: it comes from the passfile). */
export function primaryConninfo(s: Omit<StandbyStreamSpec, "password">): string {
  return `host=${s.primaryHost} port=${s.port ?? 5432} user=${s.role} passfile=${s.passfile ?? replicationPassfile} sslmode=require application_name=${s.application}`;
}

/** A ~/.pgpass line for the replication pseudo-database (':' and '\' escaped). */
export function replicationPassLine(s: StandbyStreamSpec): string {
  if (/[\r\n]/.test(s.password)) throw new Error("the replication password must be a single line");
  const esc = (v: string) => v.replace(/[\\:]/g, (c) => `\\${c}`);
  return `${esc(s.primaryHost)}:${s.port ?? 5432}:replication:${esc(s.role)}:${esc(s.password)}`;
}

/**
 * The SQL that points a standby at its primary: primary_conninfo and primary_slot_name are
 * reloadable (PostgreSQL 13+), so the standby starts streaming without a restart; until the
 * stream connects, and whenever it breaks, it keeps replaying from the archive.
 */
export function standbyStreamSql(s: Omit<StandbyStreamSpec, "password">): string {
  return `ALTER SYSTEM SET primary_conninfo = ${sqlString(primaryConninfo(s))};
ALTER SYSTEM SET primary_slot_name = ${sqlString(s.slot)};
SELECT pg_reload_conf();
`;
}

/**
 * On the standby's host: the passfile (from a quoted heredoc, never a command line), then the
 * stream settings, only while the cluster is a standby (a promoted site is left alone).
 */
export function standbyStreamScript(s: StandbyStreamSpec): string {
  return `set -euo pipefail
passfile=${shellQuote(s.passfile ?? replicationPassfile)}
sudo install -o postgres -g postgres -m 0600 /dev/null "$passfile"
sudo -u postgres tee "$passfile" >/dev/null <<'FP_DR_PASS'
${replicationPassLine(s)}
FP_DR_PASS
state=$(sudo -u postgres psql -XAtq -c 'select pg_is_in_recovery()')
if [ "$state" != "t" ]; then echo "not a standby: the stream settings are left as they are"; exit 0; fi
sudo -u postgres psql -XAtq -v ON_ERROR_STOP=1 <<'FP_DR_SQL'
${standbyStreamSql(s)}FP_DR_SQL
echo "streaming from ${s.primaryHost} through slot ${s.slot}"
`;
}

/**
 * The SQL of a promotion: pg_promote waits until the server takes writes; then the slot the
 * other site will stream through once it is reprotected (slots are not replicated, so the new
 * primary needs its own). Idempotent: a server already out of recovery is not promoted again.
 */
export function promoteSql(o: { waitSeconds: number; slot?: string }): string {
  const slot = o.slot
    ? `DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = ${sqlString(o.slot)}) THEN
    PERFORM pg_create_physical_replication_slot(${sqlString(o.slot)});
  END IF;
END $$;
`
    : "";
  return `SELECT CASE WHEN pg_is_in_recovery() THEN pg_promote(true, ${Math.ceil(o.waitSeconds)}) ELSE true END AS promoted \\gset
\\if :promoted
\\else
DO $$ BEGIN RAISE EXCEPTION 'promotion did not finish within ${Math.ceil(o.waitSeconds)} s'; END $$;
\\endif
${slot}SELECT 'primary on timeline ' || ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int;
`;
}

/** The promote request on the host (its requestId is the command's trigger). */
export function promoteScript(o: { requestId: string; waitSeconds: number; slot?: string }): string {
  return `set -euo pipefail
echo "fp-dr promote request ${o.requestId.replace(/[^A-Za-z0-9._:-]/g, "")}: start"
sudo -u postgres psql -XAtq -v ON_ERROR_STOP=1 <<'FP_DR_SQL'
${promoteSql(o)}FP_DR_SQL
`;
}
