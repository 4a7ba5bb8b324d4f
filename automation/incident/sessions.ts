// The sessions of a compromised site, as evidence and to be ended: every client backend and
// WAL sender except the session asking. The same SQL serves the lab's console and a
// node-postgres connection on AWS.
import type { Client } from "pg";
import type { TerminatedSession } from "./types";

export const SESSION_COLUMNS = `pid, usename as "user", datname as database, host(client_addr) || ':' || client_port as client, application_name as application, backend_start::text as "backendStart", state, backend_type as kind`;
export const OTHER_SESSIONS = `backend_type in ('client backend', 'walsender') and pid <> pg_backend_pid()`;
export const TERMINATE_SQL = `select ${SESSION_COLUMNS}, pg_terminate_backend(pid, 5000) as ok from pg_stat_activity where ${OTHER_SESSIONS}`;

/** Terminates every other session over an open connection; returns who they were. */
export async function terminateOtherSessions(c: Client): Promise<TerminatedSession[]> {
  const r = await c.query<TerminatedSession & { ok: boolean }>(TERMINATE_SQL);
  return r.rows.map(({ ok: _ok, ...s }) => s);
}
