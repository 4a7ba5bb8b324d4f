// Scenario: the secondary as a warm standby (standby.enabled), on one shared lab. Proves:
//   - `dr lab up` builds the secondary from the offsite repository as a standby that streams,
//     and upgrades an older lab (empty secondary, no replication secret);
//   - with the stream cut (pg_hba rejects its role, walsender terminated) it keeps replaying
//     from the offsite archive, and streams again once allowed;
//   - `dr status` exit codes follow the standby's lag across the configured thresholds;
//   - `dr failover` picks promotion for a usable standby, and the restore path (saying why)
//     when its lag is over the limit or with --from-backup;
//   - switchover to the standby and back under the write load: the demotion token replayed
//     before promotion, no acknowledged commit lost, no rebuild, the original topology back;
//     killed right after the promotion, `dr resume` finishes it without promoting again;
//   - failover by promotion under the write load: the target is never fenced, the source comes
//     from the recorded topology (not DNS), every acknowledged commit is accounted for;
//   - a drill restores into its throwaway site without disturbing the standby;
//   - a real failover that falls back to the restore path, its report saying why: the standby's
//     data directory is gone.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { backupManifest } from "../automation/commands/backup";
import { lsnBytes } from "../automation/backups/archive";
import { drill, failover } from "../automation/commands/recover";
import { reprotect } from "../automation/commands/reprotect";
import { status, statusExitCode, type DrStatus } from "../automation/commands/status";
import { switchover } from "../automation/commands/switchover";
import { verifySite } from "../automation/commands/verify";
import { Lab } from "../automation/engines/local/lab";
import { bringUpLab } from "../automation/engines/local/lab-up";
import { missingAcks, readAcks, startLoad, stopLoad } from "../automation/engines/local/load";
import { FENCE_MARKER } from "../automation/engines/local/markers";
import { REPLICATION_ROLE, slotName, standbyState } from "../automation/engines/local/standby";
import { lsnDiff, waitForState, waitUntilReplayed } from "../automation/postgres/recovery-state";
import { drAsync } from "./harness/cli";
import { archiveNow, startTestLab, type TestLab } from "./harness/lab";

let t: TestLab;
// Small thresholds, so that lag crosses them in seconds: warning above 3 s, critical above 6 s,
// and a failover restores instead of promoting above 3 s.
const settings = { standby: { enabled: true, streaming: true, maxLag: "3s", warnLag: "3s", catchUpTimeout: "60s" }, alerts: { replicationLag: "6s" } };
let configFile: string;

before(async () => {
  t = await startTestLab(settings);
  configFile = join(t.dir, "dr.config.yaml");
  writeFileSync(configFile, JSON.stringify({ ...settings, lab: { dir: t.dir, scale: 0.05 } }));
});
after(async () => {
  await t?.destroy();
});

const hbaReject = `host    replication  ${REPLICATION_ROLE}  0.0.0.0/0  reject`;

/** Cuts (or restores) the stream: pg_hba refuses the replication role, its walsender is ended. */
async function cutStream(lab: Lab, cut: boolean): Promise<void> {
  const path = join(lab.layout.dataDir("primary"), "pg_hba.conf");
  const lines = readFileSync(path, "utf8").split("\n").filter((l) => l !== hbaReject);
  writeFileSync(path, (cut ? [hbaReject, ...lines] : lines).join("\n"));
  const c = await lab.connect("primary", "postgres");
  try {
    await c.query("select pg_reload_conf()");
    if (cut) await c.query("select pg_terminate_backend(pid) from pg_stat_replication where usename = $1", [REPLICATION_ROLE]);
  } finally {
    await c.end();
  }
}

async function writeAndSwitch(lab: Lab, primary = "primary"): Promise<string> {
  const c = await lab.connect(primary);
  try {
    await c.query("insert into fp_dr.heartbeat (at, writer) values (clock_timestamp(), 'standby test')");
    return (await c.query("select pg_current_wal_lsn()::text l")).rows[0].l;
  } finally {
    await c.end();
  }
}

describe("warm standby", () => {
  test("dr lab up builds the secondary from the offsite repository as a streaming standby", async () => {
    const lab = t.lab;
    const s = await standbyState(lab);
    assert.equal(s.role, "standby");
    assert.equal(s.source, "stream");
    assert.equal(s.streamingFrom, lab.site("primary").address);
    const auto = readFileSync(join(lab.layout.dataDir("secondary"), "postgresql.auto.conf"), "utf8");
    assert.match(auto, /restore_command = 'pgbackrest .*--repo=2 archive-get/, "archive-get from the offsite repository");
    const lsn = await writeAndSwitch(lab);
    await waitUntilReplayed(lab.site("secondary").cluster.connection("postgres"), lsn, 10_000);
    // The proofs a backup records run on the streaming standby, and cover the data it replayed.
    const m = await backupManifest(t.deps(), { reason: "proofs on the standby" });
    assert.deepEqual([m.proofs.ok, m.proofs.site, m.proofs.role], [true, "secondary", "standby"], JSON.stringify(m.proofs));
    assert.ok(lsnBytes(m.proofs.coversLsn) >= lsnBytes(lsn), `covers ${m.proofs.coversLsn} ≥ ${lsn}`);
    assert.deepEqual(m.proofs.checks.map((x) => [x.kind, x.ok]), [["amcheck", true], ["orphans", true]]);
    // Running `dr lab up` again on a lab with a standby changes nothing and keeps it streaming.
    await bringUpLab(t.config);
    assert.equal((await standbyState(t.lab)).source, "stream");
    const secrets = JSON.parse(readFileSync(lab.layout.secretsFile, "utf8"));
    assert.ok(secrets.replicationPassword.length >= 16, "the replication role has its own secret");
    // The walreceiver reads it from a 0600 passfile: no setting, log or command line holds it.
    for (const file of [join(lab.layout.dataDir("secondary"), "fp-dr.conf"), join(lab.layout.dataDir("secondary"), "postgresql.auto.conf"), lab.site("secondary").cluster.logFile, lab.site("primary").cluster.logFile]) {
      assert.ok(!readFileSync(file, "utf8").includes(secrets.replicationPassword), `${file} holds no replication password`);
    }
  });

  test("an older lab (an empty secondary, no replication secret) is upgraded by dr lab up", async () => {
    let lab = t.lab;
    // What a lab built before the standby looks like: the secondary an empty directory, secrets.json without the role's password.
    await lab.site("secondary").cluster.stop("immediate");
    rmSync(lab.layout.dataDir("secondary"), { recursive: true, force: true });
    const secrets = JSON.parse(readFileSync(lab.layout.secretsFile, "utf8"));
    const oldPassword = secrets.replicationPassword;
    delete secrets.replicationPassword;
    writeFileSync(lab.layout.secretsFile, JSON.stringify(secrets), { mode: 0o600 });
    await bringUpLab(t.config);
    lab = t.lab;
    assert.notEqual(lab.secrets.replicationPassword, undefined);
    assert.notEqual(lab.secrets.replicationPassword, oldPassword, "a new secret, set on the role");
    const s = await standbyState(lab);
    assert.equal(s.role, "standby");
    assert.equal(s.source, "stream", "streams with the new secret");
  });

  test("with the stream cut it keeps replaying from the offsite archive, and streams again when allowed", async () => {
    const lab = t.lab;
    const standby = lab.site("secondary").cluster.connection("postgres");
    await cutStream(lab, true);
    try {
      await waitForState(standby, "the stream breaking", (s) => s.source === "archive", 15_000);
      const lsn = await writeAndSwitch(lab);
      await archiveNow(lab);
      const s = await waitUntilReplayed(standby, lsn, 30_000);
      assert.equal(s.source, "archive", "replayed without a stream");
      // Not streaming: the proofs run on the primary.
      const m = await backupManifest(t.deps(), { reason: "proofs without a stream" });
      assert.deepEqual([m.proofs.ok, m.proofs.site, m.proofs.role], [true, "primary", "primary"]);
    } finally {
      await cutStream(lab, false);
    }
    await waitForState(standby, "the stream coming back", (s) => s.source === "stream", 20_000);
  });

  test("a drill restores into its throwaway site and leaves the standby alone: in recovery, streaming, replay advancing, its slot the same", async () => {
    const lab = t.lab;
    const query = async (site: string, sql: string, params: unknown[] = []) => {
      const c = await lab.connect(site, "postgres");
      try {
        return (await c.query(sql, params)).rows;
      } finally {
        await c.end();
      }
    };
    const slot = () => query("primary", "select slot_name, slot_type, active, restart_lsn::text from pg_replication_slots where slot_name = $1", [slotName("secondary")]);
    const receiver = async () => (await query("secondary", "select pid from pg_stat_wal_receiver where status = 'streaming'"))[0]?.pid;
    const slotBefore = await slot();
    const receiverBefore = await receiver();
    const stateBefore = await standbyState(lab);
    assert.ok(receiverBefore, "streaming before the drill");
    const run = await drill(t.deps(), { yes: true });
    assert.equal(run.status, "succeeded", `${run.error?.message}\n${t.captured.join("")}`);
    const stateAfter = await standbyState(t.lab);
    assert.equal(stateAfter.role, "standby");
    assert.equal(stateAfter.source, "stream");
    assert.equal(await receiver(), receiverBefore, "the same walreceiver: the stream never broke");
    const slotAfter = await slot();
    assert.deepEqual(slotAfter.map((r) => [r.slot_name, r.slot_type, r.active]), slotBefore.map((r) => [r.slot_name, r.slot_type, r.active]), "the slot is the same, still in use");
    assert.ok(lsnDiff(slotAfter[0].restart_lsn, slotBefore[0].restart_lsn) >= 0, "the slot only moved forward");
    const lsn = await writeAndSwitch(t.lab);
    const replayed = await waitUntilReplayed(t.lab.site("secondary").cluster.connection("postgres"), lsn, 10_000);
    assert.ok(lsnDiff(replayed.replayLsn, stateBefore.replayLsn) > 0, "replay advanced past the drill");
  });
});

/** Commits on the primary and waits until the standby replayed it; returns when that commit happened. */
async function commitReplayed(lab: Lab): Promise<number> {
  const lsn = await writeAndSwitch(lab);
  const s = await waitUntilReplayed(lab.site("secondary").cluster.connection("postgres"), lsn, 10_000);
  return Date.parse(s.lastReplayAt!);
}

async function setReplayPaused(lab: Lab, paused: boolean, standby = "secondary"): Promise<void> {
  const c = await lab.connect(standby, "postgres");
  try {
    await c.query(paused ? "select pg_wal_replay_pause()" : "select pg_wal_replay_resume()");
  } finally {
    await c.end();
  }
}

describe("dr status", () => {
  test("exit 0 with the standby streaming, 1 then 2 as its lag crosses the thresholds, 0 again once it caught up", async () => {
    const lab = t.lab;
    const ok = await status(t.deps());
    assert.equal(statusExitCode(ok), 0, JSON.stringify(ok.findings));
    assert.deepEqual(ok.sites.map((s) => [s.site, s.role]), [["primary", "primary"], ["secondary", "standby"]]);
    assert.equal(ok.sites[1].standby?.source, "stream");
    assert.equal(ok.rpoNow.seconds, 0, ok.rpoNow.basis);
    assert.equal(ok.service.site, "primary");
    assert.ok(ok.repos.every((r) => r.reachable && r.newestSet && r.window), "newest backup and window per repository");

    const replayedAt = await commitReplayed(lab);
    await setReplayPaused(lab, true);
    const seen: [number, number][] = [];
    try {
      await writeAndSwitch(lab);
      // Poll until the lag is past the critical threshold; every verdict must match the lag it reports.
      for (let last: DrStatus | undefined; !last || (last.sites[1].standby?.lagSeconds ?? 0) <= 7; ) {
        last = await status(t.deps());
        const lag = last.sites[1].standby!.lagSeconds!;
        assert.ok(lag > 0 && Math.abs(lag - (Date.parse(last.checkedAt) - replayedAt) / 1000) < 0.5, `lag ${lag} is the age of the last replayed commit`);
        seen.push([lag, statusExitCode(last)]);
        if (lag > 6) assert.equal(statusExitCode(last), 2, JSON.stringify(last.findings));
        else if (lag > 3) assert.equal(statusExitCode(last), 1, JSON.stringify(last.findings));
        if (lag < 2.5) assert.equal(statusExitCode(last), 0, JSON.stringify(last.findings));
        await new Promise((r) => setTimeout(r, 500));
      }
      assert.ok(seen.some(([, c]) => c === 1) && seen.some(([, c]) => c === 2), `saw ${JSON.stringify(seen)}`);
      // The command line says the same with its exit code.
      const cli = await drAsync(t.dir, ["status", "--json"], { FP_DR_CONFIG: configFile });
      assert.equal(cli.code, 2, cli.stderr);
      assert.equal(JSON.parse(cli.stdout).verdict, "critical");

      // A failover now would not promote a standby this far behind: it says it would restore, and why.
      const dry = await failover(t.deps(), { scenario: "datacenter", dryRun: true });
      assert.equal(dry.facts.path, "restore");
      assert.match(String(dry.facts.pathReason), /secondary is .* behind, over the limit of 3s/);
      assert.ok(dry.notes.some((n) => /restore path: .*over the limit/.test(n)));
      assert.ok(dry.steps.some((s) => s.id === "restore"), "the restore plan");
    } finally {
      await setReplayPaused(lab, false);
    }
    await commitReplayed(lab);
    assert.equal(statusExitCode(await status(t.deps())), 0);
  });
});

describe("switchover", () => {
  test("to the standby and back under the write load: no acknowledged commit lost, no rebuild, the original topology back", async () => {
    let lab = t.lab;
    const inode = (site: string) => statSync(join(lab.layout.dataDir(site), "PG_VERSION")).ino;
    const inodes = { primary: inode("primary"), secondary: inode("secondary") };
    await startLoad(lab, { fresh: true });
    const downtimes: number[] = [];
    try {
      for (const to of ["secondary", "primary"]) {
        await new Promise((r) => setTimeout(r, 1500));
        const run = await switchover(t.deps(), { to, yes: true });
        assert.equal(run.status, "succeeded", `${run.error?.message}\n${t.captured.join("")}`);
        const from = to === "secondary" ? "primary" : "secondary";
        const f = run.facts as { token: { lsn: string }; tokenReplayed: { replayLsn: string }; shutdownAt: string; demoted: { source: string } };
        assert.ok(lsnDiff(f.tokenReplayed.replayLsn, f.token.lsn) > 0, "the standby replayed past the demotion token before promotion");
        assert.equal(f.demoted.source, "stream", `${from} streams from ${to}`);
        assert.equal(await t.lab.activeSite(), to);
        // Write downtime: last commit acknowledged before the shutdown → first one after it.
        await new Promise((r) => setTimeout(r, 1000));
        const acks = readAcks(t.lab);
        const cut = Date.parse(f.shutdownAt);
        const lastBefore = acks.filter((a) => a.at.getTime() <= cut).pop()!;
        const firstAfter = acks.find((a) => a.at.getTime() > cut);
        assert.ok(firstAfter, "the load writes again, through the service name, on the new primary");
        downtimes.push(firstAfter.at.getTime() - lastBefore.at.getTime());
      }
    } finally {
      await stopLoad(t.lab);
    }
    lab = t.lab;
    const acks = readAcks(lab);
    assert.deepEqual(await missingAcks(lab, "primary", acks), [], "every acknowledged commit is on the primary: none lost in two switchovers");
    assert.deepEqual({ primary: inode("primary"), secondary: inode("secondary") }, inodes, "neither site was rebuilt");
    const st = await status(t.deps());
    assert.deepEqual(st.sites.map((s) => [s.site, s.role, s.standby?.source]), [["primary", "primary", undefined], ["secondary", "standby", "stream"]]);
    assert.equal(st.service.site, "primary");
    t.captured.push(`switchover: ${acks.length} commits acknowledged, 0 lost; write downtime ${downtimes.join(" ms, ")} ms\n`);
    console.log(t.captured[t.captured.length - 1]);
  });
});

describe("switchover, killed and resumed", () => {
  test("killed right after the promotion: dr resume finishes it without promoting again; then back", async () => {
    const env = { FP_DR_CONFIG: configFile };
    const killed = await drAsync(t.dir, ["switchover", "--to", "secondary", "--yes", "--json"], { ...env, FP_DR_FAULT: "kill-after:promote" });
    assert.equal(killed.signal, "SIGKILL", killed.stderr);
    const runId = readdirSync(join(t.dir, "journal")).filter((f) => /^switchover-.*\.json$/.test(f)).sort().pop()!.replace(/\.json$/, "");
    const resumed = await drAsync(t.dir, ["resume", runId, "--json"], env);
    assert.equal(resumed.code, 0, resumed.stderr + resumed.stdout.slice(0, 2000));
    const run = JSON.parse(resumed.stdout) as { status: string; notes: string[]; steps: { id: string; attempts: number }[] };
    assert.equal(run.status, "succeeded");
    assert.ok(run.notes.some((n) => n.startsWith("resumed at")));
    assert.deepEqual(Object.fromEntries(run.steps.map((s) => [s.id, s.attempts])), { "pre-check": 1, shutdown: 1, token: 1, promote: 1, "swap-dns": 1, "first-write": 1, demote: 1, report: 1 });
    const st = await status(t.deps());
    assert.deepEqual(st.sites.map((s) => [s.site, s.role, s.standby?.source]), [["secondary", "primary", undefined], ["primary", "standby", "stream"]]);
    assert.equal(st.service.site, "secondary");
    const back = await switchover(t.deps(), { to: "primary", yes: true });
    assert.equal(back.status, "succeeded", back.error?.message);
  });
});

describe("failover by promotion", () => {
  test("a dry run picks promotion for a usable standby, and restore with --from-backup", async () => {
    const dry = await failover(t.deps(), { scenario: "datacenter", dryRun: true });
    assert.equal(dry.status, "succeeded", dry.error?.message);
    assert.equal(dry.facts.path, "promote");
    assert.deepEqual(dry.steps.map((s) => s.id), ["assess", "fence", "catch-up", "gate", "promote", "swap-dns", "first-write", "post-checks", "report"]);
    assert.match(dry.steps[0].detail!, /path: promote secondary/);
    const forced = await failover(t.deps(), { scenario: "datacenter", dryRun: true, fromBackup: true });
    assert.equal(forced.facts.path, "restore");
    assert.match(String(forced.facts.pathReason), /--from-backup/);
  });

  test("under the write load, with DNS already answering the standby: the primary is fenced, the standby promoted, no acknowledged commit lost", async () => {
    let lab = t.lab;
    // The O(size) checks run ahead of time on the standby (amcheck runs on a hot standby); the
    // failover's gate shows their result and age instead of repeating them.
    const verified = await verifySite(t.deps(), { site: "secondary", noSource: true });
    assert.ok(verified.ok, JSON.stringify(verified.checks.filter((c) => !c.ok)));
    await startLoad(lab, { fresh: true });
    await new Promise((r) => setTimeout(r, 1500));
    const outageAt = new Date().toISOString();
    process.kill(lab.site("primary").cluster.postmasterPid()!, "SIGKILL");
    // Automatic DNS failover (or a confused operator) already points the service name at the
    // standby: the plan must still take its source from the recorded topology.
    await lab.pointServiceAt("secondary");
    const run = await failover(t.deps(), { scenario: "datacenter", yes: true, outageAt });
    await new Promise((r) => setTimeout(r, 1500));
    lab = t.lab;
    await stopLoad(lab);
    assert.equal(run.status, "succeeded", `${run.error?.message}\n${t.captured.join("")}`);
    const f = run.facts as { sourceSite: string; targetSite: string; path: string; fence: { site: string }; catchUp: unknown };
    assert.equal(f.path, "promote");
    assert.equal(f.sourceSite, "primary");
    assert.equal(f.fence.site, "primary", "the old primary was fenced");
    assert.ok(existsSync(join(lab.layout.dataDir("primary"), FENCE_MARKER)));
    assert.ok(!existsSync(join(lab.layout.dataDir("secondary"), FENCE_MARKER)), "the target is never fenced");
    assert.equal((await standbyState(lab)).role, "primary");
    assert.equal(await lab.activeSite(), "secondary");
    assert.ok(run.verification?.ok && run.verification.checks.length >= 4, "the O(1) gate ran");
    assert.match(run.steps.find((s) => s.id === "gate")!.detail!, /last full verification \d+(\.\d+)?s ago: passed/);
    assert.equal((run.facts as { standbyVerification?: { ok: boolean } }).standbyVerification?.ok, true);

    const acks = readAcks(lab);
    const before = acks.filter((a) => a.at.getTime() <= Date.parse(outageAt));
    const lost = await missingAcks(lab, "secondary", before);
    assert.ok(before.length > 5, `the load committed before the outage (${before.length})`);
    assert.equal(lost.length, 0, `acknowledged commits lost: ${JSON.stringify(lost)}`);
    assert.ok(acks.some((a) => a.at.getTime() > Date.parse(run.facts.firstWriteAt as string)), "the load writes to the new primary through the service name");
    assert.ok(run.measurements.rto.achieved! < 30, `RTO ${run.measurements.rto.achieved}`);
    t.captured.push(`promotion failover: RTO ${run.measurements.rto.achieved}s, RPO ${run.measurements.rpo.achieved}s; steps ${run.steps.map((s) => `${s.id} ${s.durationMs}ms`).join(", ")}\n`);
    console.log(t.captured[t.captured.length - 1]);

    // Nothing protects the new primary yet: dr status says so (critical).
    const after = await status(t.deps());
    assert.equal(after.sites[0].site, "secondary");
    assert.equal(after.sites[0].role, "primary");
    assert.equal(after.sites[1].role, "fenced");
    assert.equal(statusExitCode(after), 2);
  });
});

/** The run's Markdown report (what an operator reads afterwards). */
function markdownReport(runId: string): string {
  return readFileSync(join(t.dir, "reports", runId, "report.md"), "utf8");
}

describe("fallback to the restore path (real run)", () => {
  // After the promotion above: secondary is the primary, primary fenced. Reprotect makes the old
  // primary a standby again, so the failover below has a standby it declines to promote.
  test("a standby whose data directory is gone: the failover restores into the site, and the report says why", async () => {
    const rp = await reprotect(t.deps(), { yes: true });
    assert.equal(rp.status, "succeeded", `${rp.error?.message}\n${t.captured.join("")}`);
    let lab = t.lab;
    assert.equal((await standbyState(lab, "primary")).role, "standby");
    await lab.site("primary").cluster.stop("immediate");
    rmSync(lab.layout.dataDir("primary"), { recursive: true, force: true });
    const run = await failover(t.deps(), { scenario: "datacenter", yes: true });
    assert.equal(run.status, "succeeded", `${run.error?.message}\n${t.captured.join("")}`);
    assert.equal(run.facts.path, "restore", String(run.facts.pathReason));
    assert.equal(run.facts.targetSite, "primary");
    assert.match(String(run.facts.pathReason), /primary/);
    assert.ok(run.steps.some((s) => s.id === "restore" && s.status === "done"), "restored");
    assert.match(markdownReport(run.runId), /restore path: .*primary/);
    lab = t.lab;
    assert.equal(await lab.activeSite(), "primary");
    assert.equal((await standbyState(lab, "primary")).role, "primary");
    assert.ok(!existsSync(join(lab.layout.dataDir("primary"), FENCE_MARKER)), "the target is never fenced");
  });
});

describe("fallback to the restore path after a role change (real run)", () => {
  // After the run above the primary site is a primary again, restored and promoted: its
  // pg_last_xact_replay_timestamp() still answers with the last commit it replayed before, which
  // once made a paused standby read as 0 s behind. Reprotect makes secondary its standby.
  test("a standby further behind than standby.maxLag: the failover restores instead of promoting, and says why", async () => {
    const rp = await reprotect(t.deps(), { yes: true });
    assert.equal(rp.status, "succeeded", `${rp.error?.message}\n${t.captured.join("")}`);
    const lab = t.lab;
    assert.equal((await standbyState(lab, "secondary")).role, "standby");
    await waitUntilReplayed(lab.site("secondary").cluster.connection("postgres"), await writeAndSwitch(lab, "primary"), 20_000);
    await setReplayPaused(lab, true, "secondary");
    await writeAndSwitch(lab, "primary");
    await new Promise((r) => setTimeout(r, 4500)); // past maxLag (3 s)
    const st = await status(t.deps());
    const lag = st.sites.find((s) => s.site === "secondary")!.standby!.lagSeconds!;
    assert.ok(lag > 3, `dr status reads the paused standby as ${lag}s behind`);
    const run = await failover(t.deps(), { scenario: "datacenter", yes: true });
    assert.equal(run.status, "succeeded", `${run.error?.message}\n${t.captured.join("")}`);
    assert.equal(run.facts.path, "restore", String(run.facts.pathReason));
    assert.equal(run.facts.targetSite, "secondary");
    assert.match(String(run.facts.pathReason), /the standby secondary is .* behind, over the limit of 3s \(standby\.maxLag\)/);
    assert.ok(run.steps.some((s) => s.id === "restore" && s.status === "done"), "restored");
    assert.match(markdownReport(run.runId), /restore path: .*over the limit/);
    assert.equal(await t.lab.activeSite(), "secondary");
    const c = await t.lab.connectService();
    await c.query("insert into fp_dr.heartbeat (at, writer) values (now(), 'after the fallback')");
    await c.end();
  });
});
