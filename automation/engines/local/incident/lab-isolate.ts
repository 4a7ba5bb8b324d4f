// ISOLATE on the lab (runbook §5 step 1, "disconnect from network immediately"), without
// destroying evidence. What the runbook's iptables rules do to a host, done to one cluster:
//   inbound   pg_hba.conf is replaced by reject-all (only the service user's socket, the host's
//             console, stays open) and reloaded; every live session is terminated
//   outbound  archive_command is cleared (ALTER SYSTEM): nothing more leaves for the backup
//             repositories; PostgreSQL keeps the WAL it cannot archive, so it stays as evidence
//   kept      the server keeps running: its memory, its processes and pg_stat_activity are
//             what forensics wants first, and a stop would lose them
// Before anything changes, the originals (pg_hba.conf, postgresql.auto.conf) and what the
// server showed (sessions, roles, archiver state) are written to the incident directory.
import { chownSync, existsSync, readFileSync, writeFileSync, appendFileSync } from "node:fs";
import { join } from "node:path";
import type { EvidenceFile, IncidentContext, IsolationResult, TerminatedSession } from "../../../incident/types";
import type { Lab } from "../lab";
import { DrError } from "../../../core/errors";
import { connect, errorText } from "../../../postgres/client";
import { withConsole } from "../../../incident/console";
import { pushWrittenWal } from "../../../incident/push-wal";
import { writeEvidence } from "../../../incident/evidence";
import { OTHER_SESSIONS as OTHERS, SESSION_COLUMNS, TERMINATE_SQL } from "../../../incident/sessions";
import { ISOLATION_HEADER, isolatedFor } from "../markers";
import { pollUntil } from "../../../core/poll";

export function isolatedHba(serviceUser: string, incidentId: string, at: string, original: string): string {
  return [
    `${ISOLATION_HEADER}: incident ${incidentId} at ${at}`,
    `# every network connection is rejected; the original is ${original}`,
    "# only the host's console remains: the service user on the Unix socket (peer)",
    `local   all          ${serviceUser}   peer`,
    "local   all          all              reject",
    "local   replication  all              reject",
    "host    all          all   all        reject",
    "host    replication  all   all        reject",
    "",
  ].join("\n");
}


export async function isolateLabSite(lab: Lab, siteName: string, incident: IncidentContext): Promise<IsolationResult> {
  const site = lab.site(siteName);
  const dataDir = lab.layout.dataDir(siteName);
  const at = new Date().toISOString();
  if (!existsSync(join(dataDir, "PG_VERSION"))) {
    return { site: siteName, outcome: "unreachable", detail: `no cluster at ${dataDir}`, at, running: false, terminated: [], evidence: [] };
  }
  const evidenceDir = `isolation/${siteName}`;
  const evidence: EvidenceFile[] = [];
  const already = isolatedFor(dataDir);
  const running = site.cluster.state() === "running";
  // 0. Before anything is cut: what the site has written goes to the repositories (bounded).
  const walPush = running && !already ? await pushWrittenWal(() => lab.connect(siteName, "postgres")) : undefined;

  // 1. The originals, before they are replaced (kept from the first attempt on a rerun).
  if (!already) {
    for (const f of ["pg_hba.conf", "postgresql.auto.conf"]) {
      const src = join(dataDir, f);
      if (existsSync(src) && !existsSync(join(incident.dir, evidenceDir, `${f}.original`))) {
        evidence.push(writeEvidence(incident.dir, `${evidenceDir}/${f}.original`, readFileSync(src)));
      }
    }
  }

  // 2. Inbound: reject-all, written in place (owned by the service user like the original).
  const hba = join(dataDir, "pg_hba.conf");
  if (!already) {
    writeFileSync(hba, isolatedHba(lab.user.name, incident.id, at, join(incident.dir, evidenceDir, "pg_hba.conf.original")), { mode: 0o600 });
    if (lab.user.switched) chownSync(hba, lab.user.uid, lab.user.gid);
  }

  if (!running) {
    // A stopped cluster: the files alone make a later start come back isolated.
    if (!already) {
      const auto = join(dataDir, "postgresql.auto.conf");
      appendFileSync(auto, `# fp-dr incident ${incident.id}: no archiving while isolated\narchive_command = ''\n`);
      if (lab.user.switched) chownSync(auto, lab.user.uid, lab.user.gid);
    }
    return {
      site: siteName,
      outcome: already ? "already-isolated" : "isolated",
      detail: `${siteName} was not running; pg_hba.conf rejects every network connection and archiving is off, so a start comes back isolated`,
      at,
      running: false,
      terminated: [],
      evidence,
    };
  }

  return withConsole(site.cluster, async (c) => {
    // 3. What the server shows before it is changed: sessions, roles, archiving.
    const before = await c.json<Record<string, unknown>>(`select json_build_object(
        'at', clock_timestamp(), 'inRecovery', pg_is_in_recovery(), 'archiveCommand', current_setting('archive_command'),
        'archiver', (select row_to_json(a) from pg_stat_archiver a),
        'roles', (select json_agg(json_build_object('name', rolname, 'superuser', rolsuper, 'login', rolcanlogin, 'validUntil', rolvaliduntil) order by rolname) from pg_roles where rolname !~ '^pg_'),
        'sessions', (select json_agg(s) from (select ${SESSION_COLUMNS}, xact_start::text as "xactStart", query_start::text as "queryStart", left(query, 2000) as query from pg_stat_activity where ${OTHERS}) s))`);
    // (a re-check of an isolated site keeps a snapshot only when someone got in again)
    if (!already || (before.sessions as unknown[] | null)?.length) evidence.push(writeEvidence(incident.dir, `${evidenceDir}/state-${at.replace(/[:.]/g, "")}.json`, JSON.stringify(before, null, 2) + "\n"));

    // 4. The new rules must parse (a broken file would leave the old rules loaded); outbound off.
    const bad = await c.rows<{ line_number: number; error: string }>("select line_number, error from pg_hba_file_rules where error is not null");
    if (bad.length) {
      throw new DrError("INTERNAL", `the isolation pg_hba.conf does not parse: line ${bad[0].line_number}: ${bad[0].error}`, { hint: "the site is NOT isolated: stop it (pg_ctl stop -m fast) or cut it off by hand" });
    }
    if ((before.archiveCommand as string) !== "") await c.query("alter system set archive_command = ''");
    await c.query("select pg_reload_conf()");

    // 5. Terminate every other session until none is left and a new connection is refused.
    const terminated: TerminatedSession[] = [];
    let state = { refused: false, left: 0, archiving: "" };
    await pollUntil(
      async () => {
        const killed = await c.rows<TerminatedSession & { ok: boolean }>(TERMINATE_SQL);
        terminated.push(...killed.map(({ ok: _ok, ...s }) => s));
        const refused = (await connectionRefused(lab, siteName)).refused;
        const left = Number(await c.query(`select count(*) from pg_stat_activity where ${OTHERS}`));
        state = { refused, left, archiving: await c.query("select current_setting('archive_command')") };
        return (refused && left === 0 && state.archiving === "") || undefined;
      },
      {
        what: `${siteName} to be isolated`,
        timeoutMs: 15_000,
        intervalMs: 200,
        onTimeout: () =>
          new DrError("TIMEOUT", `${siteName} is not isolated after 15s (${state.refused ? "" : `a new connection was accepted; `}${state.left} sessions left; archive_command ${state.archiving === "" ? "off" : "still set"})`, {
            hint: "stop the server (pg_ctl stop -m immediate) to cut it off, then preserve its files cold",
          }),
      },
    );
    if (terminated.length) evidence.push(writeEvidence(incident.dir, `${evidenceDir}/terminated-${at.replace(/[:.]/g, "")}.json`, JSON.stringify(terminated, null, 2) + "\n"));
    const archiver = before.archiver as { last_archived_wal?: string | null } | undefined;
    return {
      site: siteName,
      outcome: already ? "already-isolated" : "isolated",
      detail: `${already ? "was isolated already (checked again)" : "pg_hba.conf rejects every network connection (reloaded)"}; ${terminated.length} session(s) terminated; ${walPush ? `${walPush.detail}; ` : ""}archiving off (last archived WAL ${archiver?.last_archived_wal ?? "none"}); server left running`,
      at,
      running: true,
      terminated,
      evidence,
      walPush,
    };
  });
}

/** Tries a network connection as the superuser: isolated means the server refuses it (pg_hba). */
export async function connectionRefused(lab: Lab, siteName: string): Promise<{ refused: boolean; detail: string }> {
  const site = lab.site(siteName);
  try {
    const c = await connect({ ...site.cluster.connection(lab.state.database), connectionTimeoutMillis: 3000 }, "fp-dr isolation check");
    await c.end().catch(() => undefined);
    return { refused: false, detail: "connected" };
  } catch (e) {
    const msg = errorText(e);
    return { refused: /pg_hba\.conf rejects|ECONNREFUSED/.test(msg), detail: msg };
  }
}
