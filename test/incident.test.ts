// Scenario: a security incident on the lab, end to end (runbook §5), on real clusters, pgBackRest,
// the S3 store and DNS. Proves:
//   - dry runs of isolate and restore explain every step and change nothing;
//   - isolate: a session open before is terminated, new connections are refused (app and
//     superuser), the server keeps running, the original pg_hba.conf is kept as evidence;
//   - preserve: the evidence copy exists, every file's SHA-256 matches SHA256SUMS (recomputed
//     here), it holds what makes it consistent (backup_label, WAL), the custody record says who
//     took what and when, and a second preserve takes nothing new; a tablespace the attacker
//     made outside the data directory is copied too, its link listed in the manifest;
//   - restore with an injected verification failure: the run stops at the gate and DNS still
//     answers the compromised site;
//   - a second run for the incident, killed (SIGKILL) right after the gate, is finished by
//     `resume` without redoing a step, and without isolating, copying or rotating the
//     repository key again for the incident;
//   - the newest backup before the recovery point was tampered with (bytes flipped in the
//     store): it is refused and the next older clean one is used, and the run/report say so;
//   - the new site holds data up to incident time − margin only;
//   - the old app and superuser passwords and the old S3 key no longer work, the new ones do;
//   - DNS moved only after the gate (custody and step times), the chain of custody is intact;
//   - the attacker broke archiving and committed after a WAL switch: isolate's push of the WAL
//     written so far is bounded and recorded as not done; no archived commit lies after the
//     recovery point, so the restore goes to the end of the archived WAL, says so, and the RPO
//     (run and report) is measured from the last commit restored;
//   - `dr lab status` shows the new site as primary and the old one as isolated;
//   - on a site whose archiving works, isolate pushes the last commit into the repository first.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Client } from "pg";
import { spawnSync } from "node:child_process";
import { backup } from "../automation/commands/backup";
import { incidentIsolate, incidentPreserve, incidentRestore } from "../automation/commands/incident";
import { runnerDepsFor } from "../automation/commands/run-context";
import type { RunRecord } from "../automation/core/run-record";
import { resumeRun } from "../automation/plans/runner";
import type { LabSecrets } from "../automation/engines/local/secrets";
import { checkChain, readCustody } from "../automation/incident/custody";
import { securityPlan } from "../automation/plans/incident";
import { makeServiceDir } from "../automation/system/service-user";
import { renderMarkdown } from "../automation/report/markdown";
import { tamperWithBackupSet } from "./harness/damage";
import { archiveNow, startTestLab, type TestLab } from "./harness/lab";

const ID = "t1";
// `dr incident restore` as the CLI will call it (config from FP_DR_LAB_DIR), in a child process.
const CHILD = `const { makeDeps } = require("./automation/commands/deps.ts");
const { incidentRestore } = require("./automation/commands/incident.ts");
incidentRestore(makeDeps({ json: true }), { incidentId: "${ID}", margin: "3s", yes: true }).then((r) => console.log(r.status));`;
let t: TestLab;
let old: LabSecrets;
let incidentTime: string;
let targetTime: string;
let tampered: string;
let clean: string;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function mark(phase: string, n = 5): Promise<void> {
  const c = await t.lab.connect("primary");
  try {
    for (let i = 0; i < n; i++) await c.query("insert into public.incident_marks (phase) values ($1)", [phase]);
  } finally {
    await c.end();
  }
}

/** Logs in over the network; "refused" for a wrong password or pg_hba rejection. */
async function login(host: string, port: number, user: string, password: string): Promise<string> {
  const c = new Client({ host, port, user, password, database: t.lab.state.database, connectionTimeoutMillis: 5000 });
  c.on("error", () => undefined);
  try {
    await c.connect();
    await c.end();
    return "accepted";
  } catch (e) {
    return `refused: ${(e as Error).message}`;
  }
}

before(async () => {
  t = await startTestLab();
  old = { ...t.lab.secrets };
  const c = await t.lab.connect("primary");
  await c.query("create table public.incident_marks (id bigint generated always as identity primary key, phase text not null, at timestamptz not null default clock_timestamp())");
  await c.end();
  // A: in every backup. Then an incremental (clean), B1, a newer incremental (tampered), B2.
  await mark("A");
  clean = (await backup(t.deps(), { type: "incr", repo: 2, reason: "clean" })).backups[0].set.label;
  await mark("B1");
  tampered = (await backup(t.deps(), { type: "incr", repo: 2, reason: "to be tampered with" })).backups[0].set.label;
  tamperWithBackupSet(t.lab, tampered);
  await mark("B2");
  // B2 is the last commit the repository will ever hold.
  await archiveNow(t.lab);
  // The recovery point lies after B2; the incident is 3 s after it.
  await sleep(1200);
  targetTime = new Date().toISOString();
  await sleep(1200);
  incidentTime = new Date(Date.parse(targetTime) + 3000).toISOString();
  // The attack: archiving broken first, then C committed after a WAL switch. The segment
  // holding C (the first commit after the recovery point) never reaches the repository, so
  // no archived commit lies beyond the recovery point: replay to it could never stop there.
  const attacker = await t.lab.connect("primary");
  try {
    await attacker.query("alter system set archive_command = '/bin/false'");
    await attacker.query("select pg_reload_conf()");
    await attacker.query("select pg_switch_wal()");
    for (let i = 0; i < 5; i++) await attacker.query("insert into public.incident_marks (phase) values ('C')");
  } finally {
    await attacker.end();
  }
  while (Date.now() < Date.parse(incidentTime)) await sleep(100);
  // After the incident: the attacker parks data in a tablespace outside the data directory.
  makeServiceDir(attackerDir(), t.lab.user);
  const a = await t.lab.connect("primary");
  try {
    await a.query(`create tablespace attacker_ts location '${attackerDir()}'`);
    await a.query("create table public.exfil (x text) tablespace attacker_ts; insert into public.exfil values ('staged')");
  } finally {
    await a.end();
  }
});

const attackerDir = () => join(t.dir, "attacker-ts");

after(async () => {
  delete process.env.FP_DR_FAULT;
  await t?.destroy();
});

describe("security incident on the lab", () => {
  let failed: RunRecord;
  let run: RunRecord;

  test("dry runs change nothing", async () => {
    const iso = await incidentIsolate(t.deps(), { site: "primary", incidentId: ID, incidentTime, dryRun: true });
    assert.match(iso.detail, /reject-all/);
    const plan = await incidentRestore(t.deps(), { site: "primary", incidentId: ID, incidentTime, margin: "3s", dryRun: true });
    assert.equal(plan.status, "succeeded", JSON.stringify(plan.error));
    assert.ok(plan.steps.every((s) => s.status === "skipped" && s.detail), "every step explained");
    assert.equal(existsSync(join(t.dir, "incidents", ID)), false, "no incident opened");
    assert.doesNotMatch(readFileSync(join(t.lab.layout.dataDir("primary"), "pg_hba.conf"), "utf8"), /ISOLATED/);
  });

  test("isolate: the open session is terminated, new connections are refused, the server keeps running", async () => {
    const site = t.lab.site("primary");
    const pidBefore = site.cluster.postmasterPid();
    const victim = new Client({ host: site.address, port: site.port, user: "app", password: old.appPassword, database: t.lab.state.database });
    victim.on("error", () => undefined);
    await victim.connect();
    const victimPid = (await victim.query("select pg_backend_pid() p")).rows[0].p as number;

    const r = await incidentIsolate(t.deps(), { site: "primary", incidentId: ID, incidentTime, yes: true });
    assert.equal(r.isolation?.outcome, "isolated", r.detail);
    assert.ok(r.isolation!.terminated.some((s) => s.pid === victimPid && s.user === "app"), "the app's session is listed as terminated");
    await assert.rejects(victim.query("select 1"), "the session open before isolation is gone");
    await victim.end().catch(() => undefined);

    assert.match(await login(site.address, site.port, "app", old.appPassword), /pg_hba\.conf rejects/);
    assert.match(await login(site.address, site.port, t.lab.user.name, old.superuserPassword), /pg_hba\.conf rejects/);
    assert.equal(site.cluster.state(), "running", "the server keeps running (memory kept for forensics)");
    assert.equal(site.cluster.postmasterPid(), pidBefore, "the same postmaster");
    const original = readFileSync(join(r.dir, "isolation", "primary", "pg_hba.conf.original"), "utf8");
    assert.match(original, /scram-sha-256/, "the original pg_hba.conf is kept as evidence");
    // Before archiving went off, what was written was pushed (bounded): the attacker broke
    // archiving, so the push is recorded as not done, in the result and the chain of custody.
    const push = r.isolation!.walPush!;
    assert.equal(push.archived, false, push.detail);
    assert.ok(push.waitedMs >= 9000 && push.waitedMs < 20_000, `bounded wait: ${push.waitedMs} ms`);
    assert.match(r.detail, /NOT pushed/);
    const entry = readCustody(r.dir)!.entries.find((e) => e.action === "isolate")!;
    assert.equal((entry.data as { walPush: { archived: boolean } }).walPush.archived, false, "custody records the push");
  });

  test("preserve: the evidence copy matches its SHA-256 sums; custody says who took what, when", async () => {
    const r = await incidentPreserve(t.deps(), { incidentId: ID });
    assert.equal(r.reused, false);
    const p = r.preservation!;
    assert.ok(p.files > 100, `${p.files} files`);
    assert.ok(p.backup, "an online copy with its WAL range");
    const root = p.location;
    for (const f of ["data/PG_VERSION", "data/global/pg_control", "data/backup_label", "data/pg_hba.conf", "logs/server/postgresql.log"]) assert.ok(existsSync(join(root, f)), `${f} is in the copy`);
    // The attacker's tablespace: the link kept as a link and listed, its content copied and summed.
    const manifest = JSON.parse(readFileSync(join(root, "MANIFEST.json"), "utf8")) as { links: { path: string; target: string; contentAt?: string }[] };
    const ts = manifest.links.find((l) => l.target === attackerDir());
    assert.ok(ts && /^data\/pg_tblspc\/\d+$/.test(ts.path) && ts.contentAt === `tablespaces/${ts.path.split("/").pop()}`, JSON.stringify(manifest.links));
    assert.equal(readlinkSync(join(root, ts.path)), attackerDir());
    const tsFiles = readFileSync(join(root, "SHA256SUMS"), "utf8").split("\n").filter((l) => l.includes(`  ${ts.contentAt}/PG_15_`));
    assert.ok(tsFiles.length > 0, "the tablespace's relation files are in the sums");
    assert.match(p.consistency, new RegExp(`tablespaces ${ts.path.split("/").pop()} are copied under tablespaces/ .* repoint them`), "whoever starts a working copy is told the links still point at the live tablespace");
    // Recompute every digest here, independently of the code that wrote them.
    const lines = readFileSync(join(root, "SHA256SUMS"), "utf8").trim().split("\n");
    assert.equal(lines.length, p.files);
    for (const line of lines) {
      const [sum, path] = line.split("  ");
      assert.equal(createHash("sha256").update(readFileSync(join(root, path))).digest("hex"), sum, path);
    }
    const custody = readCustody(r.dir)!;
    assert.deepEqual(custody.entries.map((e) => e.action), ["open", "isolate", "preserve"]);
    const entry = custody.entries[2];
    assert.ok(entry.by.user && entry.by.host && entry.at, "who and when");
    assert.equal(entry.evidence![0].sha256, createHash("sha256").update(readFileSync(join(root, "SHA256SUMS"))).digest("hex"), "custody pins the sums file");
    assert.equal(custody.incident.incidentTime, incidentTime);
    assert.equal(checkChain(custody).ok, true);

    const again = await incidentPreserve(t.deps(), { incidentId: ID });
    assert.equal(again.reused, true, "a second preserve takes nothing new");
  });

  test("restore with an injected verification failure: stops at the gate, DNS untouched", async () => {
    process.env.FP_DR_FAULT = "fail-in:verify";
    try {
      failed = await incidentRestore(t.deps(), { incidentId: ID, margin: "3s", yes: true });
    } finally {
      delete process.env.FP_DR_FAULT;
    }
    assert.equal(failed.status, "failed");
    const status = Object.fromEntries(failed.steps.map((s) => [s.id, s.status]));
    assert.equal(status.verify, "failed");
    assert.equal(status["swap-dns"], "skipped");
    assert.equal(status["rotate-database"], "skipped");
    assert.equal(await t.lab.activeSite(), "primary", "the service name still answers the (isolated) primary");
    assert.match(failed.steps.find((s) => s.id === "isolate")!.detail!, /already/, "isolate was not redone");
    assert.match(failed.steps.find((s) => s.id === "preserve")!.detail!, /already/, "nor the copy");
  });

  test("killed right after the gate, `resume` finishes the run; nothing done before is redone", async () => {
    // A second run for the incident, in a child process that SIGKILLs itself after verify.
    const child = spawnSync(process.execPath, ["--import", "tsx", "-e", CHILD], {
      cwd: join(__dirname, ".."),
      env: { ...process.env, FP_DR_LAB_DIR: t.dir, FP_DR_STANDBY: "false", FP_DR_FAULT: "kill-after:verify", NODE_TEST_CONTEXT: "" },
      encoding: "utf8",
      timeout: 120_000,
    });
    assert.equal(child.signal, "SIGKILL", child.stderr);
    const runId = readdirSync(join(t.dir, "journal")).filter((f) => f.startsWith("security-") && f.endsWith(".json")).map((f) => f.slice(0, -5)).filter((id) => id !== failed.runId).sort().pop()!;
    run = await resumeRun(runId, () => securityPlan, await runnerDepsFor(t.deps()));
    assert.equal(run.status, "succeeded", JSON.stringify(run.error));
    assert.ok(run.notes.some((n) => n.startsWith("resumed at")));
    for (const s of run.steps) assert.equal(s.attempts, 1, `${s.id} ran ${s.attempts} times`);
    for (const id of ["isolate", "preserve", "rotate-repository"]) assert.match(run.steps.find((s) => s.id === id)!.detail!, /already/, `${id} was not redone for the incident`);
    const f = run.facts as { excludedSets?: string[]; restore?: { set: string }; targetSite?: string };
    assert.equal(f.targetSite, `incident-${ID}`);
    assert.deepEqual(f.excludedSets, [tampered], "the tampered set was refused");
    assert.equal(f.restore?.set, clean, "the next older clean set was used");
    assert.ok(run.notes.some((n) => n.includes(tampered) && /failed pgBackRest verify/.test(n)), "the run says so");
    assert.ok(renderMarkdown(run).includes(tampered), "and so does the report");
    assert.equal(run.measurements.rpo.pass, true);
    // The clean set's backup recorded passing proofs; after an incident they are not trusted: amcheck ran on the copy.
    assert.match(run.verification!.checks.find((c) => /^amcheck/.test(c.name))!.detail, /^run on the copy \(after a security incident the source's own proofs are not trusted\)/);

    const c = await t.lab.connect(f.targetSite!);
    const phases = (await c.query<{ phase: string; n: number }>("select phase, count(*)::int n from public.incident_marks group by phase order by phase")).rows;
    const b2 = (await c.query<{ at: Date }>("select max(at) at from public.incident_marks where phase = 'B2'")).rows[0].at;
    await c.end();
    assert.deepEqual(phases, [{ phase: "A", n: 5 }, { phase: "B1", n: 5 }, { phase: "B2", n: 5 }], "rows before the recovery point present, rows after it absent");

    // No commit after the recovery point was archived: the restore went to the end of the
    // archived WAL (the newest point before the incident it reaches), said so, and measured the RPO from it.
    const point = (run.facts as { recoveryPoint?: { kind: string; lastArchivedCommitAt?: string } }).recoveryPoint!;
    assert.equal(point.kind, "end-of-archive");
    const lastArchived = Date.parse(point.lastArchivedCommitAt!);
    assert.ok(lastArchived >= b2.getTime() && lastArchived < Date.parse(targetTime), `last archived commit ${point.lastArchivedCommitAt}: after B2 (${b2.toISOString()}), before the recovery point ${targetTime}`);
    assert.match(run.steps.find((s) => s.id === "assess")!.detail!, /END OF THE ARCHIVED WAL/);
    assert.ok(run.notes.some((n) => /holds no commit after the recovery point.*RPO measured from it/.test(n)), run.notes.join("\n"));
    const restored = (run.facts as { restoredLastCommitAt?: string }).restoredLastCommitAt!;
    assert.equal(restored, point.lastArchivedCommitAt, "the restored copy ends with the last archived commit");
    assert.match(run.steps.find((s) => s.id === "restore")!.detail!, new RegExp(`last commit ${restored.replace(/[.]/g, "\\.")}`));
    const rpo = run.measurements.rpo.achieved!;
    assert.ok(Math.abs(rpo - (Date.parse(incidentTime) - lastArchived) / 1000) < 0.01, `RPO ${rpo} s = incident time − last restored commit`);
    // The report carries the measured RPO (not "not measured") and the restored point's last commit.
    const md = renderMarkdown(run);
    assert.match(md, /\*\*RPO\*\* achieved \d/);
    assert.ok(md.includes(restored), "the report names the restored point's last commit");
  });

  test("the old credentials no longer work, the new ones do", async () => {
    const site = t.lab.site(`incident-${ID}`);
    const now = t.lab.secrets;
    for (const [user, was, is] of [["app", old.appPassword, now.appPassword], [t.lab.user.name, old.superuserPassword, now.superuserPassword], ["verifier", old.verifierPassword, now.verifierPassword]] as const) {
      assert.notEqual(was, is, `${user} has a new password`);
      assert.match(await login(site.address, site.port, user, was), /password authentication failed/, `old ${user} password refused`);
      assert.equal(await login(site.address, site.port, user, is), "accepted", `new ${user} password accepted`);
    }
    // The application's path: the service name, the app role, the new password.
    const app = await t.lab.connectService();
    await app.query("insert into fp_dr.heartbeat (at, writer) values (now(), 'after the incident')");
    await app.end();

    assert.notEqual(now.s3AccessKey, old.s3AccessKey);
    // The compromised site's pgbackrest.conf still holds the old key (it was withheld): refused.
    const stolen = await t.lab.site("primary").pgbackrest.info({ repo: 2 });
    assert.match(JSON.stringify(stolen.repo), /InvalidAccessKeyId/);
    const fresh = await site.pgbackrest.info({ repo: 2 });
    assert.equal(fresh.repo.find((r) => r.key === 2)?.status.code, 0, "the new key reads the repository");
  });

  test("DNS moved only after the gate; the chain of custody is complete and intact", async () => {
    assert.equal(await t.lab.activeSite(), `incident-${ID}`);
    const step = (id: string) => run.steps.find((s) => s.id === id)!;
    assert.ok(Date.parse(step("swap-dns").startedAt!) >= Date.parse(step("verify").finishedAt!), "swap after verify");
    assert.ok(Date.parse(step("swap-dns").startedAt!) >= Date.parse(step("rotate-database").finishedAt!), "swap after the rotation");
    const custody = readCustody(join(t.dir, "incidents", ID))!;
    const actions = custody.entries.map((e) => e.action);
    // The failed run's restore, then the second run's (killed, resumed) assessment, restore, gate, … close.
    assert.deepEqual(actions, ["open", "isolate", "preserve", "rotate-repository", "assess", "restore", "assess", "restore", "verify", "open-for-writes", "rotate-database", "swap-dns", "close"]);
    const restore = custody.entries.filter((e) => e.action === "restore").pop()!;
    assert.deepEqual((restore.data as { excludedSets: string[] }).excludedSets, [tampered], "custody names the refused set");
    assert.equal(checkChain(custody).ok, true);
    assert.ok(run.notes.some((n) => n.startsWith("chain of custody")));
    const assess = custody.entries.filter((e) => e.action === "assess").pop()!;
    assert.match(assess.summary, /no commit after the recovery point/, "custody says where the restore went and why");
  });

  test("lab status: the roles follow what happened (the new site is the primary, the old one isolated)", async () => {
    const status = await t.lab.status();
    const roles = Object.fromEntries(status.sites.map((x) => [x.name, x.role]));
    assert.equal(roles[`incident-${ID}`], "primary");
    assert.equal(roles.primary, "isolated");
    assert.equal(status.sites.find((x) => x.name === "primary")!.builtAs, "primary", "what it was built as is kept");
  });

  test("isolate pushes the WAL already written before it turns archiving off", async () => {
    const site = `incident-${ID}`;
    const c = await t.lab.connect(site, t.lab.state.database);
    const written = (await c.query<{ at: Date }>("insert into public.incident_marks (phase) values ('D') returning clock_timestamp() at")).rows[0].at;
    await c.end();
    const r = await incidentIsolate(t.deps(), { site, incidentId: "t2", incidentTime: new Date().toISOString(), yes: true });
    assert.equal(r.isolation?.walPush?.archived, true, r.detail);
    assert.match(readCustody(r.dir)!.entries.find((e) => e.action === "isolate")!.summary, /pushed to the repositories/);
    // The commit made just before isolation is in the repository, read back from the archived WAL.
    const engine = (await runnerDepsFor(t.deps())).engine;
    const archived = await engine.lastArchivedCommit(2, (await engine.catalog(2)).segments);
    assert.ok(Date.parse(archived.commit!.at) >= written.getTime(), `last archived commit ${archived.commit?.at}, D written ${written.toISOString()}`);
  });
});
