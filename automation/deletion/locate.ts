// Step one of a table-level recovery: when did the rows go? Either the operator says so
// (--before <time>), or the application's audit log does: the earliest DELETE (with
// --revert-changed also UPDATE) of the table in the window searched, or the one that touched
// the given keys. The recovery point is then just before the transaction that wrote it.
//
// Why a time and not recovery_target_xid: both engines' restore paths take a time (the AWS
// stack's restore request has no xid field), and with track_commit_timestamp (on for every
// site) the deleting transaction's commit time is known to the microsecond. The point is that
// commit time minus 1 µs, rounded down to the millisecond (pgBackRest's and our time format):
// recovery stops before the first commit later than the point, so the deletion is never in the
// copy, and only commits in the last millisecond before it can be missing from it — those are
// still in production (the diff shows them as "added" or "changed", never as missing). Without
// commit timestamps the first audit row's time is used (the transaction began writing then).
//
// The runbook looked the deletion up too, but then restored "latest_backup.sql.gz": the state
// of the last nightly dump, hours before the deletion, losing every change made since.
import type { ClientBase } from "pg";
import type { AuditLogSettings } from "../config/schema";
import { DrError } from "../core/errors";
import { errorText, quoteIdent } from "../postgres/client";
import { tableSql, type TableInfo } from "./table";

export interface DeletionEvent {
  /** The deleting transaction (txid_current() as text), if the audit log records it. */
  xid?: string;
  actor?: string;
  action: string;
  /** The transaction's first audit row (µs, UTC). */
  firstAt: string;
  /** Its commit time (track_commit_timestamp, µs, UTC), when the server kept it. */
  commitAt?: string;
  /** Rows of the table this transaction removed (or changed). */
  rows: number;
  /** Up to 10 of their keys, as the audit log has them. */
  keys: string[];
  /** Everything the transaction did, per table and action (a cascading delete shows its children here). */
  touched: { table: string; action: string; rows: number }[];
}

export interface RecoveryPoint {
  mode: "audit" | "before";
  /** The restore target: ISO 8601, millisecond precision. */
  point: string;
  /** When the loss began (the deleting commit, or --before), ISO, millisecond precision. */
  lostAt: string;
  /** How the point was chosen, in words. */
  basis: string;
  event?: DeletionEvent;
  /** The window the audit log was searched in. */
  searched?: { since: string; until: string; actions: string[]; keys?: string[] };
}

export interface LocateRequest {
  table: TableInfo;
  before?: Date;
  /** Start of the audit search window (default: now − lookback). */
  since?: Date;
  /** Only events for these keys (the audit log's key column, as text). */
  keys?: string[];
  /** Also UPDATEs (--revert-changed). */
  includeUpdates?: boolean;
}

const utcText = (expr: string) => `to_char((${expr}) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** Finds the recovery point on production (read-only). */
export async function locateDeletion(c: ClientBase, audit: AuditLogSettings, req: LocateRequest): Promise<RecoveryPoint> {
  const now = (await c.query<{ now: Date }>("select now() as now")).rows[0].now;
  if (req.before) {
    if (req.before.getTime() > now.getTime()) {
      throw new DrError("TARGET_IN_FUTURE", `--before ${req.before.toISOString()} is in the future (the database's clock says ${now.toISOString()})`, {
        hint: "give the time just before the rows went, e.g. from the application's logs, or use --audit to find it",
      });
    }
    const point = new Date(req.before.getTime());
    return { mode: "before", point: point.toISOString(), lostAt: point.toISOString(), basis: `--before ${point.toISOString()} (given)` };
  }
  return fromAuditLog(c, audit, req, now);
}

async function fromAuditLog(c: ClientBase, audit: AuditLogSettings, req: LocateRequest, now: Date): Promise<RecoveryPoint> {
  const col = audit.columns;
  const q = quoteIdent;
  const auditTable = tableSql(audit.table);
  const since = req.since ?? new Date(now.getTime() - audit.lookback * 1000);
  const actions = req.includeUpdates ? ["DELETE", "UPDATE"] : ["DELETE"];
  const names = [req.table.name, req.table.display];
  const params: unknown[] = [names, actions, since];
  let keyFilter = "";
  if (req.keys?.length) {
    params.push(req.keys);
    keyFilter = ` and a.${q(col.key)}::text = any($4::text[])`;
  }
  const searched = { since: since.toISOString(), until: now.toISOString(), actions, keys: req.keys };
  const xidSel = col.xid ? `a.${q(col.xid)}::text` : "null::text";
  const actorSel = col.actor ? `a.${q(col.actor)}::text` : "null::text";
  let first: { xid: string | null; actor: string | null; action: string; at: string; key: string } | undefined;
  try {
    first = (
      await c.query(
        `select ${xidSel} as xid, ${actorSel} as actor, a.${q(col.action)}::text as action, ${utcText(`a.${q(col.at)}`)} as at, a.${q(col.key)}::text as key
           from ${auditTable} a
          where a.${q(col.table)}::text = any($1::text[]) and upper(a.${q(col.action)}::text) = any($2::text[]) and a.${q(col.at)} >= $3${keyFilter}
          order by a.${q(col.at)} limit 1`,
        params,
      )
    ).rows[0];
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "42P01" || code === "42703" || code === "3F000") {
      throw new DrError("CONFIG_INVALID", `the audit log ${audit.table} cannot be read as configured: ${errorText(e)}`, {
        hint: "set recovery.audit (table and columns) in the dr config to the application's audit table, or give --before <time>",
        cause: e,
      });
    }
    throw new DrError("QUERY_FAILED", `while searching the audit log ${audit.table}: ${errorText(e)}`, { cause: e, hint: "check the production database; or give --before <time>" });
  }
  if (!first) {
    throw new DrError("DELETION_NOT_FOUND", `the audit log ${audit.table} has no ${actions.join(" or ")} of ${req.table.display}${req.keys?.length ? ` for keys ${req.keys.join(", ")}` : ""} since ${since.toISOString()}`, {
      hint: "widen the search with --since <time> (or recovery.audit.lookback), check --keys, or give the time yourself with --before <time>",
      details: searched,
    });
  }

  // The whole transaction: what it did, when it began, when it committed.
  let event: DeletionEvent;
  let point: Date;
  let lostAt: string;
  let basis: string;
  if (first.xid !== null && col.xid) {
    const x = q(col.xid);
    const touched = await c.query<{ t: string; action: string; n: number }>(
      `select a.${q(col.table)}::text as t, upper(a.${q(col.action)}::text) as action, count(*)::int as n from ${auditTable} a where a.${x}::text = $1 group by 1, 2 order by 1, 2`,
      [first.xid],
    );
    const mine = await c.query<{ n: number; keys: string[]; first_at: string }>(
      `select count(*)::int as n, (array_agg(a.${q(col.key)}::text order by a.${q(col.key)}))[1:10] as keys, ${utcText(`min(a.${q(col.at)})`)} as first_at
         from ${auditTable} a where a.${x}::text = $1 and a.${q(col.table)}::text = any($2::text[]) and upper(a.${q(col.action)}::text) = any($3::text[])`,
      [first.xid, names, actions],
    );
    const started = await c.query<{ first_at: string; point: Date }>(
      `select ${utcText(`min(a.${q(col.at)})`)} as first_at, date_trunc('milliseconds', min(a.${q(col.at)}) - interval '1 microsecond') as point from ${auditTable} a where a.${x}::text = $1`,
      [first.xid],
    );
    // The commit time needs track_commit_timestamp; an error or null means it is not known.
    const committed = await c
      .query<{ commit_at: string | null; point: Date | null; lost: Date | null }>(
        `select ${utcText("ts")} as commit_at, date_trunc('milliseconds', ts - interval '1 microsecond') as point, date_trunc('milliseconds', ts) as lost
           from (select pg_xact_commit_timestamp(($1::bigint % 4294967296)::text::xid) as ts) x`,
        [first.xid],
      )
      .then((r) => r.rows[0])
      .catch(() => undefined);
    event = {
      xid: first.xid,
      actor: first.actor ?? undefined,
      action: first.action.toUpperCase(),
      firstAt: started.rows[0].first_at,
      commitAt: committed?.commit_at ?? undefined,
      rows: mine.rows[0].n,
      keys: mine.rows[0].keys ?? [],
      touched: touched.rows.map((r) => ({ table: r.t, action: r.action, rows: r.n })),
    };
    if (committed?.point && committed.lost) {
      point = committed.point;
      lostAt = committed.lost.toISOString();
      basis = `just before the commit of transaction ${first.xid} (${event.commitAt}, track_commit_timestamp): commit time − 1 µs, to the millisecond`;
    } else {
      point = started.rows[0].point;
      lostAt = new Date(point.getTime() + 1).toISOString();
      basis = `just before transaction ${first.xid} began writing (${event.firstAt}, its first audit row; commit timestamps are not kept)`;
    }
  } else {
    const at = await c.query<{ point: Date }>(`select date_trunc('milliseconds', $1::timestamptz - interval '1 microsecond') as point`, [first.at]);
    point = at.rows[0].point;
    lostAt = new Date(point.getTime() + 1).toISOString();
    event = { actor: first.actor ?? undefined, action: first.action.toUpperCase(), firstAt: first.at, rows: 1, keys: [first.key], touched: [] };
    basis = `just before the audit row at ${first.at} (the audit log records no transaction id)`;
  }
  return { mode: "audit", point: point.toISOString(), lostAt, basis, event, searched };
}
