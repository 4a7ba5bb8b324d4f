// Small node-postgres helpers shared by health, analyze and statistics: take either a client
// the caller manages or the settings to open one, and turn driver errors into DrErrors.
import { Client, escapeIdentifier, escapeLiteral, type ClientBase, type ClientConfig } from "pg";
import { DrError } from "../core/errors";
import { redact, registerSecret } from "../core/redact";

/** A database to talk to: a connected client (left open) or settings to connect with (closed after). */
export type DbTarget = ClientBase | ClientConfig;

function isClient(target: DbTarget): target is ClientBase {
  return typeof (target as ClientBase).query === "function";
}

/**
 * Bounds for a client whose queries have no reason to run long (role, recovery state, lag, a
 * heartbeat or first write, the health check): a server that accepts and never answers, a
 * backend that stops, or a query stuck behind a lock costs seconds instead of holding the
 * command. statement_timeout is the server's; query_timeout is ours, for a server that cannot
 * even cancel. Long work (verification, amcheck, ANALYZE, a restore's queries) keeps no bound here.
 */
export const SHORT_CALL_BOUNDS = { connectionTimeoutMillis: 5_000, statement_timeout: 5_000, query_timeout: 8_000 } as const satisfies ClientConfig;

/** `target` with the short-call bounds (a connected client is left as it is: its owner chose). */
export function shortCalls(target: DbTarget): DbTarget {
  return isClient(target) ? target : { ...SHORT_CALL_BOUNDS, ...target };
}

/** Opens a client from settings, registering its password as a secret so it is never printed. */
export async function connect(config: ClientConfig, applicationName = "fp-dr"): Promise<Client> {
  if (typeof config.password === "string") registerSecret(config.password);
  const client = new Client({ connectionTimeoutMillis: 10_000, application_name: applicationName, ...config });
  // a server that goes away between queries must not crash the process
  client.on("error", () => undefined);
  await client.connect();
  return client;
}

/** Runs `fn` with a client for `target`; a client opened here is closed afterwards. */
export async function withClient<T>(target: DbTarget, fn: (client: ClientBase) => Promise<T>, applicationName?: string): Promise<T> {
  if (isClient(target)) return fn(target);
  let client: Client;
  try {
    client = await connect(target, applicationName);
  } catch (e) {
    throw new DrError("SITE_UNREACHABLE", `cannot connect to ${describeTarget(target)}: ${errorText(e)}`, {
      hint: "check that the server is running and that host, port, user and password are right",
      cause: e,
    });
  }
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** "host:port/database as user", never the password. */
export function describeTarget(config: ClientConfig): string {
  return `${config.host ?? "localhost"}:${config.port ?? 5432}/${config.database ?? config.user ?? "postgres"} as ${config.user ?? "(default user)"}`;
}

/** A driver or server error as one redacted lowercase-friendly line. */
export function errorText(e: unknown): string {
  const err = e as { message?: string; code?: string };
  const text = err?.message || String(e) || "unknown error";
  const errors = (e as { errors?: { message?: string }[] })?.errors;
  // AggregateError from net (IPv4 + IPv6 attempts) has an empty message
  const detail = !err?.message && Array.isArray(errors) ? errors.map((x) => x.message).join("; ") : text;
  return redact(detail || err?.code || "unknown error");
}

/** Wraps a failed query with what was being done (code QUERY_FAILED). */
export function queryFailed(doing: string, e: unknown): DrError {
  if (e instanceof DrError) return new DrError(e.code, `while ${doing}: ${e.message}`, { hint: e.hint, cause: e, details: e.details });
  return new DrError("QUERY_FAILED", `while ${doing}: ${errorText(e)}`, { cause: e });
}

/** Double-quotes an SQL identifier (node-postgres's own quoting). */
export function quoteIdent(name: string): string {
  return escapeIdentifier(name);
}

/**
 * Single-quotes an SQL string literal, for the few statements that take no parameters
 * (ALTER ROLE … PASSWORD, CREATE DATABASE options, DO blocks). Safe with
 * standard_conforming_strings on, PostgreSQL's default since 9.1.
 */
export function quoteLiteral(value: string): string {
  // node-postgres's own quoting: doubles quotes, and writes E'…' when there is a backslash
  return escapeLiteral(value).trimStart();
}

/** Whether `name` is installed in the connected database (CREATE EXTENSION IF NOT EXISTS is not a test: it fires DDL triggers). */
export async function hasExtension(c: ClientBase, name: string): Promise<boolean> {
  return ((await c.query("select 1 from pg_extension where extname = $1", [name])).rowCount ?? 0) > 0;
}
