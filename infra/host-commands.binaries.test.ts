// Proves that the pgBackRest arguments the restore script renders (restoreArguments) do what
// each mode promises, with the real pgBackRest 2.45 and PostgreSQL 15: a scratch cluster
// archives into a posix repository, takes a full backup, then commits row 1, a target time,
// row 2, a restore point (name and LSN), row 3. Restored with the rendered arguments, each copy
// is started and asked: "pause" stops read-only at the time / LSN / restore point with exactly
// the rows before it; "promote" opens at the restore point; "standby" replays to the end of the
// archive and stays read-only. Server programs refuse root, so they run as the service user.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pgBin, run } from "../automation/system/exec";
import { serviceUser, type ServiceUser } from "../automation/system/service-user";
import { restoreArguments, type RestoreRequestSpec } from "./host-commands";

let user: ServiceUser;
let scratch: string;
let conf: string;
let sock: string;
let nextPort = 0;
const source = { port: 0, data: "" };
const marks = { time: "", lsn: "", name: "fp-dr-drill-20250901t040000z-ab12" };

const as = () => ({ as: user, timeoutMs: 120_000 });
const sh = (script: string) => run("bash", ["-euo", "pipefail", "-c", script], as());
const sql = async (port: number, query: string) => (await run("psql", ["-h", sock, "-p", String(port), "-XAtq", "-d", "postgres", "-c", query], as())).stdout.trim();

function ownDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chmodSync(path, 0o700);
  if (user.switched) chownSync(path, user.uid, user.gid);
}

before(async () => {
  user = serviceUser();
  scratch = mkdtempSync("/tmp/fp-dr-restore-real-");
  ownDir(scratch);
  sock = join(scratch, "sock");
  for (const d of ["sock", "repo", "log"]) ownDir(join(scratch, d));
  // Ports from the pid, away from the lab's and the default 5432.
  nextPort = 41000 + (process.pid % 1000) * 10;
  source.port = nextPort++;
  source.data = join(scratch, "source");
  conf = join(scratch, "pgbackrest.conf");
  writeFileSync(conf, `[global]\nrepo1-path=${scratch}/repo\nrepo1-retention-full=2\nlog-path=${scratch}/log\nlock-path=${sock}\nstart-fast=y\n\n[fp]\npg1-path=${source.data}\npg1-port=${source.port}\npg1-socket-path=${sock}\n`, { mode: 0o644 });
  if (user.switched) chownSync(conf, user.uid, user.gid);

  await run(pgBin("initdb"), ["-D", source.data, "-A", "trust", "-U", user.name, "--no-sync"], as());
  await sh(`cat >> ${source.data}/postgresql.conf <<'EOF'
port = ${source.port}
unix_socket_directories = '${sock}'
listen_addresses = ''
wal_level = replica
archive_mode = on
archive_command = 'pgbackrest --config=${conf} --stanza=fp archive-push %p'
EOF`);
  await run(pgBin("pg_ctl"), ["-D", source.data, "-l", join(scratch, "source.log"), "-w", "start"], as());
  await run("pgbackrest", [`--config=${conf}`, "--stanza=fp", "stanza-create"], as());
  await run("pgbackrest", [`--config=${conf}`, "--stanza=fp", "--type=full", "backup"], as());
  // pgBackRest picks the newest set that stopped before the target time, to the second.
  await sql(source.port, "select pg_sleep(1.1)");
  await sql(source.port, "create table t (i int); insert into t values (1)");
  await sql(source.port, "select pg_sleep(0.3)");
  marks.time = await sql(source.port, `select to_char(clock_timestamp() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);
  await sql(source.port, "select pg_sleep(0.3)");
  await sql(source.port, "insert into t values (2)");
  marks.lsn = await sql(source.port, `select pg_create_restore_point('${marks.name}')`);
  await sql(source.port, "insert into t values (3)");
  // Everything archived (the segment holding row 3 included), then the source goes away.
  // (No ".ready" status file left: pg_stat_archiver's last file need not be the highest.)
  await sql(source.port, "select pg_switch_wal()");
  const pending = () => sql(source.port, "select count(*) from pg_ls_archive_statusdir() where name like '%.ready'");
  for (let i = 0; i < 200 && (await pending()) !== "0"; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await pending(), "0", "everything archived before the source goes away");
  await run(pgBin("pg_ctl"), ["-D", source.data, "-w", "-m", "fast", "stop"], as());
});

after(async () => {
  // A setup that failed half way may have left the source running.
  await run(pgBin("pg_ctl"), ["-D", source.data, "-w", "-m", "immediate", "stop"], as()).catch(() => undefined);
  rmSync(scratch, { recursive: true, force: true });
});

/** Restores with the rendered arguments into a new directory, starts it, reports its state. */
async function restoreAndAsk(name: string, request: Omit<RestoreRequestSpec, "stanza" | "requestId" | "repo" | "allowOverwrite">, until?: (rows: string) => boolean) {
  const data = join(scratch, name);
  ownDir(data);
  const port = nextPort++;
  const args = restoreArguments({ stanza: "fp", requestId: name, repo: 1, allowOverwrite: false, ...request });
  await run("pgbackrest", [`--config=${conf}`, `--pg1-path=${data}`, "--log-level-console=warn", ...args], as());
  await sh(`echo "port = ${port}" >> ${data}/postgresql.auto.conf`);
  await run(pgBin("pg_ctl"), ["-D", data, "-l", join(scratch, `${name}.log`), "-w", "-t", "60", "start"], as());
  try {
    const ask = async () => {
      const [inRecovery, pause, rows] = (await sql(port, "select pg_is_in_recovery(), case when pg_is_in_recovery() then pg_get_wal_replay_pause_state() else '' end, (select string_agg(i::text, ',' order by i) from t)")).split("|");
      return { inRecovery: inRecovery === "t", paused: pause === "paused", rows };
    };
    let state = await ask();
    // Replay (or reaching the target) takes a moment after the server accepts connections.
    for (let i = 0; i < 100 && (until ? !until(state.rows) : state.inRecovery && !state.paused); i++) {
      await new Promise((r) => setTimeout(r, 100));
      state = await ask();
    }
    return state;
  } finally {
    await run(pgBin("pg_ctl"), ["-D", data, "-w", "-m", "fast", "stop"], as());
  }
}

test("pause at a point in time: read-only, paused, only what was committed before it", async () => {
  assert.deepEqual(await restoreAndAsk("at-time", { mode: "pause", targetTime: marks.time }), { inRecovery: true, paused: true, rows: "1" });
});

test("pause at an LSN and at a named restore point: read-only, paused, exactly the rows before the point", async () => {
  assert.deepEqual(await restoreAndAsk("at-lsn", { mode: "pause", targetLsn: marks.lsn }), { inRecovery: true, paused: true, rows: "1,2" });
  assert.deepEqual(await restoreAndAsk("at-name", { mode: "pause", targetName: marks.name }), { inRecovery: true, paused: true, rows: "1,2" });
});

test("promote at a restore point opens for writes by itself", async () => {
  assert.deepEqual(await restoreAndAsk("promoted", { mode: "promote", targetName: marks.name }), { inRecovery: false, paused: false, rows: "1,2" });
});

test("standby replays to the end of the archive and stays read-only", async () => {
  assert.deepEqual(await restoreAndAsk("standby", { mode: "standby" }, (rows) => rows === "1,2,3"), { inRecovery: true, paused: false, rows: "1,2,3" });
});
