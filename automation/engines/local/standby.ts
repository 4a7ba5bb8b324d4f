// The lab's secondary as a warm standby (config `standby.enabled`), as production runs it: it is
// bootstrapped by `pgbackrest restore --type=standby` from the offsite repository (repo2),
// replays WAL fetched from that repository by archive-get and, with `standby.streaming`, also
// streams from the primary (its own replication role and secret, a physical slot, a pg_hba
// entry with scram). When the stream breaks, the startup process falls back to the archive by
// itself; nothing here has to notice. `dr lab up` builds it, or upgrades an older lab.
import { chownSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { quoteLiteral } from "../../postgres/client";
import { pgBin, run } from "../../system/exec";
import { demotionToken, type DemotionToken } from "../../postgres/controldata";
import { readRecoveryState, waitForState, type RecoveryState } from "../../postgres/recovery-state";
import { FENCE_MARKER } from "./markers";
import type { Lab, LabStep } from "./lab";
import { labRestoreHandle } from "./restore-target";
import { saveSecrets } from "./secrets";

/** The role the standby streams as, and the physical slot that keeps its WAL on the primary. */
export const REPLICATION_ROLE = "fp_replication";
export const STANDBY_SITE = "secondary";
export const slotName = (site: string) => `fp_standby_${site}`;
/** A standby that is away longer keeps at most this much WAL on the primary; it then catches up from the archive. */
const MAX_SLOT_WAL_KEEP = "1GB";
const STANDBY_READY_MS = 120_000;

/** archive-get from the offsite repository only: the standby region's copy of the WAL. */
function restoreCommand(lab: Lab, site: string): string {
  return `pgbackrest --config=${lab.layout.pgbackrestConf(site)} --stanza=${lab.state.stanza} --repo=2 archive-get %f "%p"`;
}

/** The password file the standby's walreceiver reads (0600, the service user's): no password in any setting. */
function passfile(lab: Lab, site: string): string {
  return join(lab.layout.siteDir(site), "replication.pgpass");
}

/** The standby's server settings: the site's own, plus where its stream comes from when streaming is on. */
export function standbySettings(lab: Lab, site = STANDBY_SITE, upstream = "primary"): Record<string, string | number | boolean> {
  const primary = lab.site(upstream);
  const stream = lab.config.standby.streaming
    ? {
        primary_conninfo: `host=${primary.address} port=${primary.port} user=${REPLICATION_ROLE} passfile=${passfile(lab, site)} application_name=${site}`,
        primary_slot_name: slotName(site),
      }
    : { primary_conninfo: "", primary_slot_name: "" };
  return { ...labRestoreHandle(lab, site).serverSettings(), ...stream, restore_command: restoreCommand(lab, site), wal_retrieve_retry_interval: "1s" };
}

/** The replication role's secret: generated once per lab, added to an older lab's secrets.json. */
function replicationPassword(lab: Lab): string {
  if (!lab.secrets.replicationPassword) {
    lab.secrets.replicationPassword = randomBytes(24).toString("base64url");
    saveSecrets(lab.layout.secretsFile, lab.secrets);
  }
  return lab.secrets.replicationPassword;
}

/** On the primary (`upstream`): the replication role (password kept current), the slot, the pg_hba entry. */
async function preparePrimary(lab: Lab, site: string, upstream = "primary"): Promise<void> {
  const password = replicationPassword(lab);
  const c = await lab.connect(upstream, "postgres");
  try {
    const exists = (await c.query("select 1 from pg_roles where rolname = $1", [REPLICATION_ROLE])).rowCount;
    await c.query(`${exists ? "alter" : "create"} role ${REPLICATION_ROLE} with replication login password ${quoteLiteral(password)}`);
    await c.query("select pg_create_physical_replication_slot($1) where not exists (select 1 from pg_replication_slots where slot_name = $1)", [slotName(site)]);
    await c.query(`alter system set max_slot_wal_keep_size = ${quoteLiteral(MAX_SLOT_WAL_KEEP)}`);
    // The walreceiver connects from 127.0.0.1 whatever the site's address (libpq binds no source
    // address), so the entry names the loopback block, the lab's network.
    addHbaEntry(lab, upstream, `host    replication  ${REPLICATION_ROLE}  127.0.0.0/8  scram-sha-256`);
    await c.query("select pg_reload_conf()");
  } finally {
    await c.end();
  }
}

/** Puts a line first in the site's pg_hba.conf (once), so it is matched before the general ones. */
function addHbaEntry(lab: Lab, site: string, line: string): void {
  const path = join(lab.layout.dataDir(site), "pg_hba.conf");
  const lines = readFileSync(path, "utf8").split("\n");
  if (lines.includes(line)) return;
  const at = lines.findIndex((l) => l.trim() !== "" && !l.startsWith("#"));
  lines.splice(at < 0 ? lines.length : at, 0, line);
  writeFileSync(path, lines.join("\n"));
}

function writePassfile(lab: Lab, site: string, upstream = "primary"): void {
  const primary = lab.site(upstream);
  const path = passfile(lab, site);
  writeFileSync(path, `${primary.address}:${primary.port}:replication:${REPLICATION_ROLE}:${replicationPassword(lab)}\n`, { mode: 0o600 });
  if (lab.user.switched) chownSync(path, lab.user.uid, lab.user.gid);
}

/**
 * After the replication role's password was rotated (incident credential rotation), every site
 * that streams from `upstream` gets the new one in its passfile: read at the next connection,
 * so a broken stream comes back with the new secret.
 */
export function refreshStandbyPassfiles(lab: Lab, upstream: string): string[] {
  const sites = Object.keys(lab.state.sites).filter((site) => site !== upstream && existsSync(passfile(lab, site)));
  for (const site of sites) writePassfile(lab, site, upstream);
  return sites;
}

export type StandbyOutcome = "built" | "started" | "running" | "skipped";

/**
 * Makes the secondary a running standby of the primary: built from the offsite repository when
 * its directory is empty, reconfigured and started when it already is a standby. A secondary
 * that holds a cluster that is not a standby (a restored copy, a promoted site) or that was
 * fenced is left as it is: nothing is ever restored over it here.
 */
export async function ensureStandby(lab: Lab, step: LabStep, site = STANDBY_SITE): Promise<{ outcome: StandbyOutcome; detail: string }> {
  const s = lab.site(site);
  const dataDir = lab.layout.dataDir(site);
  const state = s.cluster.state();
  const isStandby = existsSync(join(dataDir, "standby.signal")) && !existsSync(join(dataDir, FENCE_MARKER));
  if ((state === "stopped" || state === "running") && !isStandby) {
    const detail = `${site} holds a cluster that is not a standby (restored, promoted or fenced): left as it is`;
    step(`warm standby: ${detail}`)();
    return { outcome: "skipped", detail };
  }
  if (!(await lab.pgbackrestOf("primary").sets({ repo: 2 })).some((b) => b.type === "full")) {
    const detail = "no full backup in the offsite repository yet to build it from";
    step(`warm standby: ${detail}`)();
    return { outcome: "skipped", detail };
  }
  let done: (detail?: string) => void;
  // Without the stream, no slot: an unused one would hold WAL back on the primary.
  if (lab.config.standby.streaming) {
    done = step(`prepare the primary for ${site}'s stream (role ${REPLICATION_ROLE}, slot ${slotName(site)}, pg_hba scram)`);
    await preparePrimary(lab, site);
    done();
  }
  const handle = labRestoreHandle(lab, site);
  let outcome: StandbyOutcome = state === "running" ? "running" : "started";
  if (state === "absent" || state === "empty") {
    done = step(`build ${site} as a standby from the offsite repository (pgbackrest restore --type=standby --repo=2)`);
    await handle.prepare();
    await s.pgbackrest.restore({ repo: 2, target: { kind: "latest" }, asStandby: true, pgPath: dataDir, recoveryOptions: { restore_command: restoreCommand(lab, site) } });
    done();
    outcome = "built";
  }
  if (lab.config.standby.streaming) writePassfile(lab, site);
  s.cluster.writeSettings(standbySettings(lab, site));
  done = step(`start ${site} as a standby (${lab.config.standby.streaming ? "streaming from the primary, " : ""}archive-get from the offsite repository)`);
  if (s.cluster.state() === "running") await s.cluster.psql("select pg_reload_conf()");
  else await s.cluster.start();
  const ready = await waitForState(
    s.cluster.connection("postgres"),
    `${site} accepting read-only connections${lab.config.standby.streaming ? " and streaming" : ""}`,
    (r) => r.role === "standby" && (!lab.config.standby.streaming || r.source === "stream"),
    STANDBY_READY_MS,
    250,
  );
  done(`${ready.source}, replayed to ${ready.replayLsn}`);
  return { outcome, detail: `${site} ${outcome}: standby via ${ready.source}, replayed to ${ready.replayLsn}` };
}

/**
 * Restarts a cleanly shut down former primary as a standby of `upstream` (switchover): no
 * rebuild, since it holds no WAL beyond its shutdown checkpoint, which the new primary replayed
 * before it was promoted; it follows the new timeline from the stream or the archive.
 */
export async function restartAsStandby(lab: Lab, site: string, upstream: string, timeoutMs = STANDBY_READY_MS): Promise<RecoveryState> {
  const s = lab.site(site);
  if (lab.config.standby.streaming) {
    await preparePrimary(lab, site, upstream);
    writePassfile(lab, site, upstream);
  }
  s.cluster.writeSettings(standbySettings(lab, site, upstream));
  const signal = join(lab.layout.dataDir(site), "standby.signal");
  writeFileSync(signal, "");
  if (lab.user.switched) chownSync(signal, lab.user.uid, lab.user.gid);
  await s.cluster.start();
  const ready = await waitForState(s.cluster.connection("postgres"), `${site} streaming from ${upstream}`, (r) => r.role === "standby" && (!lab.config.standby.streaming || r.source === "stream"), timeoutMs, 250);
  // The slot it kept for its former standby would hold WAL back here for nothing.
  await s.cluster.psql(`select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = ${quoteLiteral(slotName(upstream))}`);
  return ready;
}

/** The standby's state now (for status and tests). */
export async function standbyState(lab: Lab, site = STANDBY_SITE) {
  return readRecoveryState(lab.site(site).cluster.connection("postgres"));
}

/**
 * The last full verification of a site (`dr verify --site`: amcheck, orphans, invariants, content),
 * kept beside the site so that a failover by promotion can show its result and age: the O(size)
 * checks run ahead of time on the standby, never on the failover's critical path.
 */
export interface VerificationRecord {
  at: string;
  ok: boolean;
  checks: number;
  failed: string[];
}

function verificationFile(lab: Lab, site: string): string {
  return join(lab.layout.siteDir(site), "last-verification.json");
}

export function recordVerification(lab: Lab, site: string, report: { ok: boolean; checks: { name: string; ok: boolean }[] }): void {
  const record: VerificationRecord = { at: new Date().toISOString(), ok: report.ok, checks: report.checks.length, failed: report.checks.filter((c) => !c.ok).map((c) => c.name) };
  writeFileSync(verificationFile(lab, site), JSON.stringify(record) + "\n");
}

export function lastVerification(lab: Lab, site: string): VerificationRecord | undefined {
  const path = verificationFile(lab, site);
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as VerificationRecord) : undefined;
}

/**
 * The demotion token of a cleanly shut down site: its shutdown checkpoint's LSN, read with
 * pg_controldata. A standby that has replayed past it holds every commit the site ever made.
 */
export async function shutdownToken(lab: Lab, site: string): Promise<DemotionToken> {
  const out = (await run(pgBin("pg_controldata"), ["-D", lab.layout.dataDir(site)], { as: lab.user, errorCode: "QUERY_FAILED" })).stdout;
  return demotionToken(out, site);
}
