// The engine's default SQL side and region probe, for real: a PostgreSQL 15 scratch cluster
// stands in for a restored site (reached the way the engine reaches one, through an endpoint's
// admin settings), and a loopback listener for a region's API endpoint. Proves probe, the wait
// for recovery (promote, pause and standby goals, and its bound), promotion (from a pause
// too), and that an unreachable site or region is reported, not thrown.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { chownSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { DrError } from "../../core/errors";
import { freePort, startScratchCluster, type ScratchCluster } from "../../postgres/scratch";
import type { SiteEndpoint } from "../engine";
import { pgSiteDatabase, tcpRegionProbe } from "./access";

let scratch: ScratchCluster;
let endpoint: SiteEndpoint;
const db = pgSiteDatabase({ pollMs: 100 });

before(async () => {
  scratch = await startScratchCluster({ track_commit_timestamp: "on" }, "fp-dr-pulumi-access-");
  const c = scratch.connection();
  endpoint = { site: "secondary", admin: c, app: c, address: "10.30.1.20", port: 5432 };
  await scratch.cluster.psql("create table t(x int); insert into t values (1)");
});

after(async () => {
  await scratch?.destroy();
});

test("a primary: probed as primary, the promote goal is already reached, promote leaves it alone", async () => {
  const probe = await db.probe(endpoint);
  assert.equal(probe.reachable, true);
  assert.equal(probe.mode, "primary");
  assert.ok(probe.lastCommitAt, "last commit time (track_commit_timestamp)");
  const r = await db.waitForRecovery(endpoint, { mode: "promote", timeoutMs: 5000 });
  assert.match(r.replayLsn ?? "", /^[0-9A-F]+\/[0-9A-F]+$/);
  await db.promote(endpoint);
  assert.equal((await db.probe(endpoint)).mode, "primary");
});

test("a standby: caught up once it waits for WAL that no source has, promote and pause goals time out, a pause is seen, then promotion opens it", async () => {
  const { cluster } = scratch;
  await cluster.stop("fast");
  const signal = join(cluster.spec.dataDir, "standby.signal");
  writeFileSync(signal, "");
  if (cluster.spec.user.switched) chownSync(signal, cluster.spec.user.uid, cluster.spec.user.gid);
  await cluster.start();

  assert.equal((await db.probe(endpoint)).mode, "standby");
  const caughtUp = await db.waitForRecovery(endpoint, { mode: "standby", timeoutMs: 20_000 });
  assert.match(caughtUp.replayLsn ?? "", /^[0-9A-F]+\/[0-9A-F]+$/);
  await assert.rejects(db.waitForRecovery(endpoint, { mode: "promote", timeoutMs: 300 }), (e: unknown) => e instanceof DrError && e.code === "RECOVERY_TIMEOUT");
  // Replaying but not paused: the pause goal (a restore to a target) is not reached.
  await assert.rejects(db.waitForRecovery(endpoint, { mode: "pause", timeoutMs: 300 }), (e: unknown) => e instanceof DrError && e.code === "RECOVERY_TIMEOUT");
  // Paused (as at a recovery target with --target-action=pause): reached, still read-only.
  await scratch.cluster.psql("select pg_wal_replay_pause()");
  const paused = await db.waitForRecovery(endpoint, { mode: "pause", timeoutMs: 20_000 });
  assert.match(paused.replayLsn ?? "", /^[0-9A-F]+\/[0-9A-F]+$/);
  assert.equal((await db.probe(endpoint)).mode, "standby");

  // Promotion ends the pause too and opens it.
  await db.promote(endpoint);
  assert.equal((await db.probe(endpoint)).mode, "primary");
  const rows = await scratch.cluster.psql("select count(*) from t");
  assert.match(rows.stdout, /1/);
});

test("an unreachable site is a probe result, not an exception", async () => {
  const port = await freePort();
  const probe = await db.probe({ ...endpoint, admin: { ...endpoint.admin, port, connectionTimeoutMillis: 2000 } });
  assert.equal(probe.reachable, false);
  assert.ok(probe.error);
});

test("region probe: a listening endpoint answers, a closed one does not", async () => {
  const server: Server = createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const open = (server.address() as { port: number }).port;
  const closed = await freePort();
  try {
    const up = await tcpRegionProbe(2000, () => ({ host: "127.0.0.1", port: open }))("eu-west-1");
    assert.equal(up.reachable, true, up.detail);
    const down = await tcpRegionProbe(2000, () => ({ host: "127.0.0.1", port: closed }))("eu-central-1");
    assert.equal(down.reachable, false);
    assert.match(down.detail, /ECONNREFUSED/);
  } finally {
    server.close();
  }
});
