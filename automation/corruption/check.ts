// `check corruption` on a site: online through the engine's connection when the site answers,
// offline (pg_checksums over the data directory) when it is stopped or when asked. Both end in
// the same report: every damaged relation by name, what is wrong, index-only or table.
import type { ClientConfig } from "pg";
import type { DrConfig } from "../config/schema";
import { DrError } from "../core/errors";
import { countedBeforeRepair, type Repair } from "./repairs";
import type { Engine } from "../engines/engine";
import { Lab } from "../engines/local/lab";
import { serviceUser, type ServiceUser } from "../system/service-user";
import { checkOffline } from "./offline";
import { checkOnline, type OnlineOptions } from "./online";
import { adviceFor, classify, mergeFindings, type CorruptionReport } from "./report";

/** How to reach the site for a check: a connection, or its stopped data directory. */
export type CheckTarget = { site: string; mode: "online"; admin: ClientConfig } | { site: string; mode: "offline"; dataDir: string; user: ServiceUser };

export interface TargetOptions {
  /** Read the stopped data directory with pg_checksums even if it could be reached online. */
  offline?: boolean;
  /** A data directory on this host (running `dr` on a database host): offline check of it. */
  dataDir?: string;
}

/**
 * Online when the site answers (and --offline was not asked for). Offline needs the data
 * directory on this machine: the lab's, or --data-dir on a database host; an AWS site that does
 * not answer is checked on its host.
 */
export async function resolveCheckTarget(engine: Engine, config: DrConfig, site: string, opts: TargetOptions = {}): Promise<CheckTarget> {
  if (opts.dataDir) return { site, mode: "offline", dataDir: opts.dataDir, user: serviceUser(config.lab.serviceUser) };
  const probe = await engine.probe(site);
  if (probe.reachable && !opts.offline) return { site, mode: "online", admin: (await engine.endpoint(site)).admin };
  if (engine.name !== "local") {
    throw new DrError("SITE_UNREACHABLE", `site ${site} ${probe.reachable ? "is running" : `does not answer (${probe.error ?? "unreachable"})`}: its data directory can only be read on its host`, {
      hint: "on the database host: stop PostgreSQL cleanly, then `dr check corruption --data-dir /var/lib/postgresql/15/main`",
    });
  }
  const lab = Lab.open(config);
  const state = lab.site(site).cluster.state();
  if (state === "running") {
    throw new DrError("CLUSTER_RUNNING", `site ${site} is running: pg_checksums reads only a stopped data directory`, {
      hint: probe.reachable ? "drop --offline to check it online" : "it runs but does not answer: stop it cleanly (pg_ctl stop -m fast) first",
    });
  }
  if (state === "absent" || state === "empty") {
    throw new DrError("CORRUPTION_CHECK_FAILED", `site ${site} holds no cluster to check`, { hint: "check the site that serves (`dr lab status`)" });
  }
  return { site, mode: "offline", dataDir: lab.layout.dataDir(site), user: lab.user };
}

/** Runs the check and builds the report. Throws CORRUPTION_CHECK_FAILED when nothing could be read. */
export async function checkTarget(target: CheckTarget, opts: OnlineOptions & { repaired?: Repair } = {}): Promise<CorruptionReport> {
  const started = Date.now();
  const checkedAt = new Date(started).toISOString();
  let report: Omit<CorruptionReport, "classification" | "advice" | "complete"> & { info: string[] };
  if (target.mode === "online") {
    const r = await checkOnline(target.admin, opts);
    const warnings: string[] = [];
    if (!r.dataChecksums) warnings.push("data checksums are off on this cluster: damaged pages are found only where amcheck sees broken structure");
    report = {
      site: target.site,
      mode: "online",
      checkedAt,
      durationMs: 0,
      findings: mergeFindings(r.findings),
      scope: { databases: r.databases, tables: r.tables, indexes: r.indexes, sequences: r.sequences, dataChecksums: r.dataChecksums },
      notChecked: r.notChecked,
      checksumFailures: r.checksumFailures,
      warnings,
      info: [],
    };
    if (report.findings.length === 0 && r.checksumFailures.length > 0) {
      const n = r.checksumFailures.reduce((s, x) => s + x.count, 0);
      const last = r.checksumFailures.map((x) => x.lastAt).filter(Boolean).sort().pop() ?? "unknown";
      if (countedBeforeRepair(r.checksumFailures, opts.repaired)) report.info.push(`the server counted ${n} checksum failure(s) (last at ${last}), all before ${opts.repaired!.what} at ${opts.repaired!.at}: damage already repaired`);
      else warnings.push(`the server counted ${n} checksum failure(s) (last at ${last}) that no relation shows now: a damaged page may sit under a clean cached copy, or was rewritten since; check offline after a clean stop`);
    }
  } else {
    const r = await checkOffline(target.dataDir, target.user);
    if (r.refusal) {
      throw new DrError("CORRUPTION_CHECK_FAILED", `pg_checksums could not read ${target.dataDir}: ${r.refusal}`, {
        hint: /shut down/.test(r.refusal)
          ? "the cluster was not shut down cleanly (a crash or an immediate stop): start it so crash recovery completes and check it online, or stop it with -m fast and check again"
          : "see the message; an online check (amcheck) may still work",
      });
    }
    report = {
      site: target.site,
      mode: "offline",
      checkedAt,
      durationMs: 0,
      findings: mergeFindings(r.findings),
      scope: { databases: r.databases, ...r.relations, files: r.files, blocks: r.blocks, dataChecksums: true },
      notChecked: [],
      checksumFailures: [],
      warnings: [],
      info: [],
    };
  }
  const classification = classify(report.findings);
  const complete = report.notChecked.length === 0;
  const full: CorruptionReport = { ...report, classification, complete, advice: "", durationMs: Date.now() - started };
  full.advice = adviceFor(full);
  return full;
}
