// The runbook's method, as its backup script does it: `pg_dump <db> | gzip > file.sql.gz` to
// back up; `gunzip -c file | psql` into a fresh, empty database to restore. Real pipelines, run
// as the service user through bash with pipefail, so a failure anywhere in the pipe fails it.
import { statSync } from "node:fs";
import { shellLine, shellQuote } from "../core/shell-words";
import type { Lab } from "../engines/local/lab";
import { siteServerSettings, type LabSite } from "../engines/local/site";
import { pgBin, run } from "../system/exec";
import { databaseBytes } from "./bench-lab";
import { untilUsable } from "./usable";

/** psql / pg_dump connection arguments for a lab site: its Unix socket, as the service user (peer). */
function socketArgs(site: LabSite, database: string): string[] {
  return ["-h", site.cluster.spec.runDir, "-p", String(site.port), "-d", database];
}

/** The backup pipeline's shell text (exported for tests). */
export function dumpPipeline(site: LabSite, database: string, file: string): string {
  const dump = shellLine([pgBin("pg_dump"), ...socketArgs(site, database)]);
  return `set -o pipefail; ${dump} | gzip > ${shellQuote(file)}`;
}

/** The restore pipeline's shell text (exported for tests). */
export function loadPipeline(site: LabSite, database: string, file: string): string {
  const psql = shellLine([pgBin("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", ...socketArgs(site, database)]);
  return `set -o pipefail; gunzip -c ${shellQuote(file)} | ${psql} > /dev/null`;
}

/** pg_dump | gzip of the primary's database; returns the size of the .sql.gz. */
export async function runbookBackup(lab: Lab, file: string): Promise<{ bytes: number }> {
  await run("bash", ["-c", dumpPipeline(lab.site("primary"), lab.state.database, file)], {
    as: lab.user,
    errorCode: "BACKUP_FAILED",
    hint: "the runbook's pg_dump | gzip failed; see the message above",
  });
  return { bytes: statSync(file).size };
}

/**
 * A fresh cluster for the runbook's restore, with the roles the dump grants to (what
 * `pg_dumpall --globals-only` would bring): provisioned beforehand, like the secondary site.
 */
export async function provisionRunbookTarget(lab: Lab, name = "runbook"): Promise<LabSite> {
  const site = lab.addSite(name, "scratch");
  await site.cluster.init({ ...siteServerSettings(lab.ctx, site.configPath), archive_mode: "off" });
  await site.cluster.start();
  await site.cluster.psql("create role app login; create role verifier login in role pg_read_all_data, pg_monitor;");
  return site;
}

export interface RunbookRestore {
  createMs: number;
  loadMs: number;
  firstQueryMs: number;
  /** pg_database_size of the restored database. */
  bytes: number;
}

/** create database, gunzip -c | psql, then a first query: the runbook's restore until usable. */
export async function runbookRestore(lab: Lab, site: LabSite, file: string): Promise<RunbookRestore> {
  const database = lab.state.database;
  let t = performance.now();
  await site.cluster.psql(`create database ${database}`);
  const createMs = Math.round(performance.now() - t);
  t = performance.now();
  await run("bash", ["-c", loadPipeline(site, database, file)], {
    as: lab.user,
    errorCode: "RESTORE_FAILED",
    hint: "the runbook's gunzip | psql failed; see the message above",
  });
  const loadMs = Math.round(performance.now() - t);
  const usable = await untilUsable(() => lab.connect(site.name, database));
  return { createMs, loadMs, firstQueryMs: usable.ms, bytes: await databaseBytes(lab, site.name, database) };
}
