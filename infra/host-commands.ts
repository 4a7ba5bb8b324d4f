// The scripts Pulumi runs on a host over SSH (through the SSM port forward or the bastion):
// the readiness gate (bootstrap finished, PostgreSQL accepting connections, the provider's
// superuser in place) and the restore of a restore request. Pure text, sent on stdin to
// `bash -s` so no quoting layer stands between the script and the shell; `bash -n` checks
// them in the tests.
import { hostPaths } from "./cloud-init/host-spec";
import { shellQuote } from "./cloud-init/scripts";
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
