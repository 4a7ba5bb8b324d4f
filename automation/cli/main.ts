// The `dr` command line: parsing only. Each command calls one exported function from
// automation/commands with its dependencies; the result is printed as JSON (--json) or for
// people. Failures: one line, a hint line, a stable code, a non-zero exit.
import { Argument, Command, InvalidArgumentError, Option } from "commander";
import { clipLongWords } from "../core/clip";
import { completionScript } from "./completion";
import { DrError, exitFor, withContext } from "../core/errors";
import { exitStatusHelp } from "../core/exit-table";
import type { Deps, GlobalOptions } from "../commands/deps";
import { packageVersion } from "../system/package-root";
import { lazyFunctions } from "./lazy";
import { installSignalHandlers } from "./signals";
export { interruptedBy } from "../core/interrupt";

const { drillDestroy, drillList, drillReap, reapFailure, renderDrillList, renderReap } = lazyFunctions(() => require("../commands/drill-stacks") as typeof import("../commands/drill-stacks"));
const { backup, backupList, backupListFailure, backupManifest, backupVerify, backupVerifyFailure, renderListing, renderManifest, renderTaken, renderVerify } = lazyFunctions(() => require("../commands/backup") as typeof import("../commands/backup"));
const { showConfig, validateConfig } = lazyFunctions(() => require("../commands/config") as typeof import("../commands/config"));
const { labDown, labLoadStart, labLoadStop, labRemoveSite, labStatus, labUp, labStatusExitCode, renderLabStatus, renderLabUp } = lazyFunctions(() => require("../commands/lab") as typeof import("../commands/lab"));
const { demoExitCode, failoverDemo, labDrill, renderDemo } = lazyFunctions(() => require("../commands/lab-runs") as typeof import("../commands/lab-runs"));
const { leaseBreak, leaseShow, renderLease } = lazyFunctions(() => require("../commands/lease") as typeof import("../commands/lease"));
const { hostApply, renderHostApply } = lazyFunctions(() => require("../commands/host") as typeof import("../commands/host"));
const { drill, failover, planShow, renderPlan, renderRun, resume, runExitCode, runFailure } = lazyFunctions(() => require("../commands/recover") as typeof import("../commands/recover"));
const { renderReportList, renderReportShow, reportDocument, reportList, reportShow } = lazyFunctions(() => require("../commands/report") as typeof import("../commands/report"));
const { rehearsalFailure, renderRehearsal, rehearse } = lazyFunctions(() => require("../commands/rehearse") as typeof import("../commands/rehearse"));
const { incidentFailure, incidentIsolate, incidentPreserve, incidentRestore, renderIncidentAction } = lazyFunctions(() => require("../commands/incident") as typeof import("../commands/incident"));
const { recoverTable, renderRecoverTable } = lazyFunctions(() => require("../commands/recover-table") as typeof import("../commands/recover-table"));
const { checkCorruption, corruptionExitCode, corruptionRunExitCode, recoverCorruption, renderCorruptionReport, renderCorruptionRun } = lazyFunctions(() => require("../commands/corruption") as typeof import("../commands/corruption"));
const { renderRestore, restore } = lazyFunctions(() => require("../commands/restore") as typeof import("../commands/restore"));
const { analyzeCommand, healthCommand, renderAnalyze, renderHealth, renderStatistics, statisticsCommand, healthExitCode } = lazyFunctions(() => require("../commands/health") as typeof import("../commands/health"));
const { benchCommand, renderBench } = lazyFunctions(() => require("../bench/command") as typeof import("../bench/command"));
const { renderVerifySite, verifyFailure, verifySite } = lazyFunctions(() => require("../commands/verify") as typeof import("../commands/verify"));
const { renderStatus, status, statusExitCode } = lazyFunctions(() => require("../commands/status") as typeof import("../commands/status"));
const { switchover } = lazyFunctions(() => require("../commands/switchover") as typeof import("../commands/switchover"));
const { reprotect } = lazyFunctions(() => require("../commands/reprotect") as typeof import("../commands/reprotect"));
const { makeDeps, makeOutput } = lazyFunctions(() => require("../commands/deps") as typeof import("../commands/deps"));

/** "lab drill", "backup full": the command as typed, without `dr`. */
function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

function positiveNumber(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("must be a positive number");
  return n;
}

function repoChoice(v: string): 1 | 2 | "all" {
  if (v === "1" || v === "2") return Number(v) as 1 | 2;
  if (v === "all") return "all";
  throw new InvalidArgumentError("must be 1 (primary region), 2 (offsite) or all");
}

function repoNumber(v: string): 1 | 2 {
  if (v === "1" || v === "2") return Number(v) as 1 | 2;
  throw new InvalidArgumentError("must be 1 (primary region) or 2 (offsite)");
}

let exitCode = 0;

/** The run a result is, or holds (the failover demo's). */
function runIdOf(result: unknown): string | undefined {
  const r = result as { runId?: string; run?: { runId?: string } };
  return r.runId ?? r.run?.runId;
}

interface Outcome<T> {
  verdict?: (r: T) => number;
  failure?: (r: T) => DrError | undefined;
  json?: (r: T) => unknown;
}

/**
 * Runs one command: build deps, call, print. `render` turns the result into text for people;
 * `verdict` may turn a successful result into a non-zero exit (health severities, objectives);
 * `failure` says when a result is a failure (a failed run, a verification that failed): it exits
 * with its error's class and --json prints the failure envelope with the document inside; `json`
 * picks the document --json prints (default: the result).
 */
function action<T>(fn: (deps: Deps, ...args: never[]) => Promise<T>, render: (r: T) => string, outcome: Outcome<T> = {}) {
  const { verdict, failure, json = (r: T) => r } = outcome;
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const g = cmd.optsWithGlobals() as GlobalOptions;
    const out = makeOutput(g);
    installSignalHandlers(out, commandPath(cmd));
    try {
      const deps = makeDeps(g, out);
      const positional = args.slice(0, -2);
      const opts = args[args.length - 2];
      const result = await (fn as (d: Deps, ...a: unknown[]) => Promise<T>)(deps, ...positional, opts);
      const failed = failure?.(result);
      if (failed && out.json) out.failure(failed, { runId: runIdOf(result), result: json(result) });
      else out.result(out.json ? json(result) : result, () => render(result));
      exitCode = failed ? failed.exitCode : verdict ? verdict(result) : 0;
    } catch (e) {
      const err = e instanceof DrError ? e : withContext(cmd.name(), e);
      out.failure(err);
      if (g.verbose && err.cause instanceof Error && err.cause.stack) process.stderr.write(err.cause.stack + "\n");
      exitCode = err.exitCode;
    }
  };
}

/** The options every recovery plan takes. */
function recoveryOptions(c: Command): Command {
  return c
    .option("--dry-run", "walk the plan's checks, print what would happen and the estimated RTO; change nothing")
    .option("--yes", "do not ask before destructive steps")
    .option("--force", "go past a failed verification gate (loud; recorded in the report)")
    .option("--full-gate", "run amcheck and the orphan check on the restored copy even when passing proofs were recorded with the backup");
}

export function buildProgram(): Command {
  const program = new Command("dr")
    .description("fp-dr: disaster recovery for the financial planning database (pgBackRest + PostgreSQL 15)")
    .option("-c, --config <file>", "configuration file (default ./dr.config.yaml, else the embedded lab default)")
    .option("--json", "print one JSON document on stdout: the command's own, or on failure { error: { code, message, hint, exit }, runId?, result? }")
    .option("-v, --verbose", "more detail, stack traces on failure")
    .option("-q, --quiet", "only the result, warnings and errors: no step lines")
    .option("--no-color", "no colour (also when NO_COLOR is set)")
    .version(packageVersion(), "-V, --version", "print the version of dr")
    .exitOverride()
    // the global options are listed in every subcommand's help, where an operator looks
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      // commander's own errors quote the offending argument too
      writeErr: (text) => process.stderr.write(clipLongWords(text)),
      // a usage error reads like every other failure: error[CODE]: one line, then the hint (main)
      outputError: (text, write) => write(text.replace(/^error: /, "error[USAGE]: ")),
    })
    .addHelpText(
      "after",
      `
Examples:
  $ dr lab up                      build the local lab: two sites, offsite S3 store, DNS, first backup
  $ dr backup incr --reason "before release 4.2"
  $ dr backup list --json
  $ dr restore --to secondary      restore the latest offsite backup to the secondary site
  $ dr health                      exit 0 ok, 1 warning, 2 critical

${exitStatusHelp()}`,
    );

  const config = program.command("config").description("show or validate the configuration");
  config
    .command("show")
    .description("print the effective configuration (defaults filled in, no secrets)")
    .addHelpText("after", "\nExample:\n  $ dr config show --json")
    .action(action(showConfig, (r) => r.yaml));
  config
    .command("validate")
    .argument("[file]", "file to check (default: the one dr would use)")
    .description("check a configuration file; lists every problem with its field path")
    .addHelpText("after", "\nExample:\n  $ dr config validate dr.config.yaml")
    .action(action(validateConfig, (r) => `${r.source}: valid`));

  const lab = program.command("lab").description("the local DR lab (embedded default): real clusters, S3 store and DNS on loopback");
  lab
    .command("up")
    .description("build or start the lab and leave a first full backup in the offsite store")
    .option("--scale <n>", "sample database scale: 1 ≈ 50 MB, 20 ≈ 1 GB, 200 ≈ 10 GB", positiveNumber)
    .option("--skip-backup", "do not take the first full backups")
    .addHelpText("after", "\nExamples:\n  $ dr lab up\n  $ dr lab up --scale 20")
    .action(action(labUp, renderLabUp));
  lab
    .command("rehearse")
    .description("the main job: lab up, backup, restore the offsite backup to the secondary, verify it")
    .option("--scale <n>", "sample database scale when the lab is built", positiveNumber)
    .addHelpText("after", "\nExamples:\n  $ npm start\n  $ dr lab rehearse --scale 20 --json")
    .action(action(rehearse, renderRehearsal, { failure: rehearsalFailure }));
  lab
    .command("drill")
    .description("the main job: lab up if needed, write load on the primary, a full DR drill")
    .option("--scale <n>", "sample database scale when the lab is built", positiveNumber)
    .addHelpText("after", "\nExamples:\n  $ npm run drill\n  $ dr lab drill --json")
    .action(action(labDrill, renderRun, { verdict: runExitCode, failure: runFailure }));
  lab
    .command("failover-demo")
    .description("under continuous writes: kill the primary, fail over to the secondary, account for every commit")
    .option("--scale <n>", "sample database scale when the lab is built", positiveNumber)
    .addHelpText("after", "\nExample:\n  $ npm run failover:demo")
    .action(action(failoverDemo, renderDemo, { verdict: demoExitCode, failure: (d) => runFailure(d.run) }));
  const load = lab.command("load").description("the lab's write load: a heartbeat committed every 100 ms through the service name");
  load
    .command("start")
    .description("start the write load (follows DNS, like the application)")
    .option("--fresh", "forget the acknowledged commits of an earlier load")
    .addHelpText("after", "\nExample:\n  $ dr lab load start --fresh")
    .action(action(labLoadStart, (r) => `write load running (pid ${r.pid})`));
  load
    .command("stop")
    .description("stop the write load")
    .addHelpText("after", "\nExample:\n  $ dr lab load stop")
    .action(action(labLoadStop, (r) => `write load stopped; ${r.acknowledged} commits acknowledged`));
  lab
    .command("status")
    .description("sites, which one the service name answers with, object store and DNS; exit 2 on split brain or a fenced site running")
    .addHelpText("after", "\nExample:\n  $ dr lab status --json")
    .action(action(labStatus, renderLabStatus, { verdict: labStatusExitCode }));
  lab
    .command("down")
    .description("stop every lab process; --purge also deletes the lab directory and its backups")
    .option("--purge", "remove the lab directory (backups included)")
    .addHelpText("after", "\nExamples:\n  $ dr lab down\n  $ dr lab down --purge")
    .action(action(labDown, (r) => `lab ${r.dir} stopped${r.purged ? " and removed" : ""}`));
  lab
    .command("remove-site")
    .argument("<site>", "a scratch or drill site (`dr lab status` lists leftover ones)")
    .option("--yes", "do not ask before removing it")
    .description("stop and delete a scratch or drill site; never the primary, the secondary, the one the service name serves, or one a live run holds")
    .addHelpText("after", "\nExample:\n  $ dr lab remove-site drill-20261206t172000z --yes")
    .action(action(labRemoveSite, (r) => `removed ${r.removed}`));

  const bk = program.command("backup").description("pgBackRest backups of the primary, to the site's and the offsite repository");
  for (const type of ["full", "diff", "incr"] as const) {
    bk.command(type)
      .description(`${type} backup (start-fast), tagged with who and why`)
      .addOption(new Option("--repo <n>", "1 (primary region), 2 (offsite) or all").argParser(repoChoice).default("all"))
      .option("--reason <text>", "why (recorded with the set)")
      .addHelpText("after", `\nExamples:\n  $ dr backup ${type}\n  $ dr backup ${type} --repo 2 --reason "before schema migration"`)
      .action(action((d, o: { repo: 1 | 2 | "all"; reason?: string }) => backup(d, { type, ...o }), renderTaken));
  }
  bk.command("list")
    .description("sets, restorable window, RPO of the newest archived WAL, retention compliance")
    .addOption(new Option("--repo <n>", "1, 2 or all").argParser(repoChoice).default("all"))
    .addHelpText("after", "\nExample:\n  $ dr backup list --repo 2 --json")
    .action(action(backupList, renderListing, { failure: backupListFailure }));
  bk.command("manifest")
    .description("record the schema and exact row counts the next backup's restore is verified against (dr backup does it itself)")
    .option("--reason <text>", "label of the manifest", "before a backup")
    .addHelpText("after", '\nExamples:\n  $ dr backup manifest\n  $ dr backup manifest --reason "before the scheduled full backup" --json    (a host\'s backup timer)')
    .action(action(backupManifest, renderManifest));
  bk.command("verify")
    .description("pgBackRest verify: checksums of every file, WAL continuity; a verdict per set")
    .addOption(new Option("--repo <n>", "1, 2 or all").argParser(repoChoice).default("all"))
    .option("--set <label>", "verify one set only")
    .addHelpText("after", "\nExample:\n  $ dr backup verify --repo 2")
    .action(action(backupVerify, renderVerify, { failure: backupVerifyFailure }));

  program
    .command("restore")
    .description("restore latest, a set, or a point in time to a site or a scratch cluster")
    .option("--set <label>", "backup set (default: the newest that reaches the target)")
    .option("--target-time <time>", "point in time (ISO 8601 with zone)")
    .option("--target-lsn <lsn>", "WAL position, e.g. 0/3000060")
    .option("--target-name <name>", "restore point made with pg_create_restore_point()")
    .option("--to <site>", "destination site (default: secondary)")
    .option("--scratch", "restore into a new throwaway cluster")
    .option("--database <name>", "restore this database only")
    .addOption(new Option("--repo <n>", "1 (primary region) or 2 (offsite); default 2, or 1 for the primary").argParser(repoNumber))
    .option("--dry-run", "check feasibility and print the plan; change nothing")
    .option("--overwrite", "allowed to stop the destination and restore over it (delta)")
    .option("--yes", "do not ask before restoring over a site's data (--overwrite)")
    .option("--open", "open for writes (promote) after recovery")
    .option("--verify-first", "verify the whole set before copying it, also into an empty destination (there the set is otherwise read once: checked file by file as it is restored, verified whole only if the restore fails)")
    .addHelpText(
      "after",
      `
Examples:
  $ dr restore --dry-run
  $ dr restore --to secondary --open
  $ dr restore --to secondary --overwrite --yes
  $ dr restore --scratch --target-time "2026-11-26T03:14:00Z" --database financial_planning`,
    )
    .action(action(restore, renderRestore));

  program
    .command("recover-table")
    .description("rows deleted by mistake: restore a copy to just before, diff by primary key, write the missing rows back (--apply)")
    .requiredOption("--table <schema.table>", "the table the rows were deleted from")
    .option("--before <time>", "the rows were still there at this time (ISO 8601 with zone)")
    .option("--audit", "find the moment in the application's audit log (default unless --before)")
    .option("--since <time>", "search the audit log from this time (default: recovery.audit.lookback ago; ISO 8601 with zone)")
    .option("--keys <k1,k2>", "the DELETE of these keys (audit log key column)")
    .option("--apply", "write the missing rows back (default: preview only)")
    .option("--revert-changed", "also revert rows changed since the recovery point (UPDATEs count in the audit search)")
    .option("--include-dependents", "also write back missing rows of tables referencing it (foreign keys, parents first)")
    .option("--keep-copy", "keep the restored copy afterwards: the --apply after a preview reuses it while it is still exact, instead of restoring again")
    .addOption(new Option("--repo <n>", "1 (site's own, default on the lab) or 2 (default on pulumi)").argParser(repoNumber))
    .option("--yes", "do not ask before writing")
    .option("--dry-run", "walk the checks, change nothing")
    .addHelpText("after", "\nExamples:\n  $ dr recover-table --table app.households --keep-copy    (preview; the copy stays)\n  $ dr recover-table --table app.households --apply --include-dependents --yes    (reuses it while exact)")
    .action(action(recoverTable, renderRecoverTable, { verdict: runExitCode, failure: runFailure }));

  const incident = program.command("incident").description("security incident / ransomware (runbook §5): isolate, preserve, restore");
  const incidentTarget = (c: Command) =>
    c
      .option("--site <name>", "the compromised site (default: the one the service name answers with)")
      .option("--incident-id <id>", "names the incident (evidence, custody record, new site)");
  const incidentOptions = (c: Command) => incidentTarget(c).option("--yes", "do not ask before destructive steps").option("--dry-run", "walk the checks, change nothing");
  incidentOptions(incident.command("isolate").description("cut the site off (all connections refused, sessions ended) without destroying evidence"))
    .addHelpText("after", "\nExample:\n  $ dr incident isolate --incident-id sec-42 --yes")
    .action(action(incidentIsolate, renderIncidentAction, { failure: incidentFailure }));
  incidentOptions(incident.command("preserve").description("forensic copy of the data directory and logs, SHA-256 of every file, chain of custody"))
    .option("--manual-evidence <what>", "record evidence taken by hand (AWS: the EBS snapshot ids)")
    .addHelpText("after", "\nExample:\n  $ dr incident preserve --incident-id sec-42")
    .action(action(incidentPreserve, renderIncidentAction, { failure: incidentFailure }));
  incidentTarget(
    recoveryOptions(incident.command("restore").description("newest verified recovery point before the incident → a new site; rotate credentials; verify; swap DNS")),
  )
    .option("--incident-time <time>", "when the attacker got in (ISO 8601 with zone)")
    .option("--margin <duration>", "recover to this long before the incident time", "30m")
    .option("--manual <action=what...>", "record a step done by hand (preserve, rotate-repository, rotate-database)")
    .addHelpText("after", "\nExamples:\n  $ dr incident restore --incident-id sec-42 --incident-time 2026-11-26T02:10:00Z --dry-run\n  $ dr incident restore --incident-id sec-42 --incident-time 2026-11-26T02:10:00Z --yes")
    .action(action(incidentRestore, renderRun, { verdict: runExitCode, failure: runFailure }));

  program
    .command("check")
    .description("integrity checks")
    .command("corruption")
    .description("read every page (checksums) and check every btree index; names the damaged relations")
    .option("--site <name>", "site to check (default: the one the service name answers with)")
    .option("--offline", "the site is stopped: pg_checksums on its data directory")
    .option("--data-dir <path>", "check this stopped data directory (on a host)")
    .option("--parent-check", "also amcheck's parent/root-descend check (heavier locks)")
    .addHelpText("after", "\nExamples:\n  $ dr check corruption\n  $ dr check corruption --site secondary --offline --json")
    .action(action(checkCorruption, renderCorruptionReport, { verdict: corruptionExitCode }));
  const recover = program.command("recover").description("incident recoveries (runbook §2)");
  recoveryOptions(
    recover
      .command("corruption")
      .description("detect; REINDEX when only indexes are damaged, else restore a clean site, verify, swap (never pg_resetwal)")
      .option("--site <name>", "the damaged site (default: the one the service name answers with)")
      .option("--to <site>", "restore into this site (default: the other of primary/secondary)")
      .option("--reindex", "rebuild damaged indexes when they are the only damage")
      .option("--target-time <time>", "restore to before a bad write instead of the end of WAL (ISO 8601 with zone)")
      .option("--outage-at <time>", "when the damage was noticed (RPO is measured from it; ISO 8601 with zone)"),
  )
    .addHelpText("after", "\nExamples:\n  $ dr recover corruption --dry-run\n  $ dr recover corruption --reindex --yes")
    .action(action(recoverCorruption, renderCorruptionRun, { verdict: corruptionRunExitCode, failure: runFailure }));

  program
    .command("status")
    .description("DR posture: each site's role, the standby's source and lag, RPO now, backups, DNS, last drill; exit 0 ok, 1 warning, 2 critical")
    .addHelpText("after", "\nExamples:\n  $ dr status\n  $ dr status --json")
    .action(action(status, renderStatus, { verdict: statusExitCode }));

  program
    .command("verify")
    .description("the gate: compare a restored site with its source; amcheck, orphans, invariants")
    .option("--site <name>", "the restored site (default: secondary)")
    .option("--against <name>", "the source site (default: primary)")
    .option("--no-source", "structural checks and invariants only (the source is gone)")
    .addHelpText("after", "\nExamples:\n  $ dr verify\n  $ dr verify --site scratch-lx2k1 --json")
    .action(action((d, o: { site?: string; against?: string; source: boolean }) => verifySite(d, { site: o.site, against: o.against, noSource: !o.source }), renderVerifySite, { failure: verifyFailure }));

  recoveryOptions(
    program
      .command("failover")
      .description("fail over: promote the warm standby when it is usable (assess, fence, catch up, gate, promote), else restore (bring up, restore, verify); then swap DNS, first write, post-checks, report")
      .addOption(new Option("--scenario <name>", "datacenter (offsite repo, standby region) or hardware (replacement host, site repo)").choices(["datacenter", "hardware"]).makeOptionMandatory())
      .option("--target-time <time>", "restore to this point in time instead of the end of the archived WAL (ISO 8601 with zone)")
      .option("--outage-at <time>", "when the outage began (RPO is measured from it; default: now; ISO 8601 with zone)")
      .option("--from-backup", "restore from the offsite repository even when the standby could be promoted"),
  )
    .addHelpText("after", "\nExamples:\n  $ dr failover --scenario datacenter --dry-run\n  $ dr failover --scenario datacenter --yes --outage-at 2026-11-26T03:02:00Z")
    .action(action(failover, renderRun, { verdict: runExitCode, failure: runFailure }));
  program
    .command("switchover")
    .description("planned role change with zero data loss: clean shutdown, demotion token, promote the standby, DNS, old primary back as a standby")
    .requiredOption("--to <site>", "the standby to promote")
    .option("--dry-run", "walk the pre-checks and print the plan; change nothing")
    .option("--yes", "do not ask before destructive steps")
    .addHelpText("after", "\nExamples:\n  $ dr switchover --to secondary --dry-run\n  $ dr switchover --to secondary --yes")
    .action(action(switchover, renderRun, { verdict: runExitCode, failure: runFailure }));
  program
    .command("reprotect")
    .description("after a failover: rebuild the old primary as a standby of the new one (pg_rewind, else delta restore); its fence goes once it is one")
    .option("--site <site>", "the site to rebuild (default: the fenced one)")
    .option("--dry-run", "walk the pre-checks and print the plan; change nothing")
    .option("--yes", "do not ask before destructive steps")
    .addHelpText("after", "\nExamples:\n  $ dr reprotect --dry-run\n  $ dr reprotect --yes")
    .action(action(reprotect, renderRun, { verdict: runExitCode, failure: runFailure }));
  const drillCommand = recoveryOptions(program.command("drill").description("monthly DR drill: restore offsite into a throwaway site, verify, measure, destroy"))
    .addHelpText("after", "\nExamples:\n  $ npm run drill\n  $ dr drill --json\n  $ dr drill list\n  $ dr drill destroy 20250901t040000z")
    .action(action(drill, renderRun, { verdict: runExitCode, failure: runFailure }));
  drillCommand.command("list").description("drill sites left in the backend, with their expiry (pulumi engine)").action(action(drillList, renderDrillList));
  drillCommand
    .command("destroy")
    .argument("<id>", "the drill id (drill-<id>), from `dr drill list`")
    .description("destroy a drill site and remove its stack; run it again after a failed destroy")
    .action(action(drillDestroy, (r) => `drill-${r.destroyed} destroyed`));
  drillCommand.command("reap").description("destroy every drill site past its expiry (scheduled beside the drill on AWS)").action(action(drillReap, renderReap, { failure: reapFailure }));
  program
    .command("resume")
    .argument("<run-id>", "a run that was interrupted or failed (`dr report list`)")
    .option("--yes", "do not ask before destructive steps")
    .option("--force", "go past a failed verification gate (recorded)")
    .description("continue a run from its journal; finished steps are not redone")
    .addHelpText("after", "\nExample:\n  $ dr resume datacenter-20261126t030215z-3f2a")
    .action(action(resume, renderRun, { verdict: runExitCode, failure: runFailure }));
  program
    .command("plan")
    .description("recovery plans")
    .command("show")
    .argument("<scenario>", "datacenter, hardware or drill")
    .description("print the steps of a recovery plan")
    .addHelpText("after", "\nExample:\n  $ dr plan show datacenter")
    .action(action(planShow, renderPlan));
  const host = program.command("host").description("a site's host: its configuration files rendered from the config and applied");
  host
    .command("apply")
    .description("render the host's files (server settings, pg_hba, pgbackrest.conf, systemd timers), write what changed, reload PostgreSQL, report")
    .option("--site <name>", "lab site (default primary)")
    .option("--spec <file>", "on a site's AWS host: the host spec the stack publishes (the host-apply SSM document passes it)")
    .option("--dry-run", "show what would change; change nothing")
    .option("--no-restart", "leave a restart a changed setting needs for later (reported)")
    .addHelpText("after", "\nExamples:\n  $ dr host apply --site primary --dry-run\n  $ dr host apply --spec /etc/fp-dr/host-spec.json --json")
    .action(action(hostApply, renderHostApply));
  const lease = program.command("lease").description("the environment's lease: one run at a time, across machines");
  lease
    .command("show")
    .description("who holds the lease (run, user@host, pid, epoch, expiry)")
    .addHelpText("after", "\nExample:\n  $ dr lease show --json")
    .action(action(leaseShow, renderLease));
  lease
    .command("break")
    .description("release a dead holder's lease before it expires; its run stops at its next step")
    .option("--yes", "confirm: the holder's machine is gone")
    .addHelpText("after", "\nExample:\n  $ dr lease break --yes")
    .action(action(leaseBreak, renderLease));

  const report = program.command("report").description("run reports (JSON, Markdown, HTML with a timeline)");
  report
    .command("list")
    .description("every run, newest first, with RTO/RPO against the objectives")
    .addHelpText("after", "\nExample:\n  $ dr report list --json")
    .action(action(reportList, renderReportList));
  report
    .command("show")
    .argument("<run-id>", "the run")
    .addOption(new Option("--format <f>", "md, json or html (--json prints the report's JSON document whatever the format)").choices(["md", "json", "html"]))
    .description("print a run's report")
    .addHelpText("after", "\nExamples:\n  $ dr report show drill-20261126t040000z-1a2b\n  $ dr report show <run-id> --format html > report.html")
    .action(action(reportShow, renderReportShow, { json: reportDocument }));

  program
    .command("health")
    .description("runbook health check; exit 0 ok/info, 1 warning, 2 critical")
    .option("--site <name>", "site to check (default: the one the service name answers with)")
    .option("--publish", "publish the metrics to CloudWatch (PutMetricData; on AWS hosts)")
    .addHelpText("after", "\nExamples:\n  $ dr health\n  $ dr health --site secondary --json")
    .action(action(healthCommand, renderHealth, { verdict: healthExitCode }));
  program
    .command("analyze")
    .description("runbook analyze: sizes, bloat, scans, cache hits, unused and missing indexes, orphans")
    .option("--site <name>", "site to analyze")
    .addHelpText("after", "\nExample:\n  $ dr analyze --json")
    .action(action(analyzeCommand, renderAnalyze));
  program
    .command("statistics")
    .description("runbook statistics: ANALYZE every table and report")
    .option("--site <name>", "site")
    .addHelpText("after", "\nExample:\n  $ dr statistics")
    .action(action(statisticsCommand, renderStatistics));

  program
    .command("bench")
    .description("benchmark: runbook pg_dump/psql vs pgBackRest vs raw copy, side by side (not a test)")
    .option("--scale <n>", "database scale (default 20 ≈ 1 GB)", positiveNumber)
    .option("--scales <list>", "a sweep: the whole benchmark once per scale, e.g. 1,20,80; prints RTO and seconds per GB per step against size", (v: string) => v.split(",").map((x) => positiveNumber(x.trim())))
    .option("--keep", "keep the benchmark lab afterwards")
    .option("--tune", "also restore under a matrix of pgBackRest settings (compress-type, process-max, buffer-size)")
    .addHelpText("after", "\nExamples:\n  $ npm run bench\n  $ dr bench --scale 4 --json\n  $ dr bench --tune\n  $ dr bench --scales 1,20,80")
    .action(action(benchCommand, renderBench));

  program
    .command("completion")
    .addArgument(new Argument("<shell>", "bash or zsh").choices(["bash", "zsh"]))
    .description("print a shell completion script for dr")
    .addHelpText("after", "\nExamples:\n  $ source <(dr completion bash)\n  $ dr completion zsh > \"${fpath[1]}/_dr\"")
    .action((shell: "bash" | "zsh") => {
      process.stdout.write(completionScript(program, shell));
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    const code = (e as { code?: string; exitCode?: number }).code;
    if (code === "commander.helpDisplayed" || code === "commander.version" || code === "commander.help") return 0;
    // commander already printed its one-line message; add the hint line and the stable code
    const hint = "run `dr --help` or `dr <command> --help`";
    process.stderr.write(`hint: ${hint}\n`);
    // --json asked for one document: the failure envelope, as every other failure
    if (argv.includes("--json")) {
      const message = ((e as Error).message ?? "").replace(/^error: /, "").split("\n")[0];
      makeOutput({ json: true }).failure(new DrError("USAGE", message, { hint }));
    }
    return exitFor("USAGE");
  }
  return exitCode;
}
