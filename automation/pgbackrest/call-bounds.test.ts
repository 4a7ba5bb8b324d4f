// Proves: a catalogue read (pgbackrest info) against an object store that accepts connections and
// never answers (a hung store, a black-holed network) ends within seconds and says the repository
// cannot be read, naming the store (what health reports on a site's own host, where no probe runs
// first), instead of pgBackRest's four tries of the configuration's 20 s io-timeout.
// Real pgBackRest, real S3 code path; the store is a TCP listener that never writes.
import assert from "node:assert/strict";
import { chownSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { tempDir } from "../../test/harness/temp-dir";
import { serviceUser } from "../system/service-user";
import { Pgbackrest } from "./client";
import { unreadableRepos } from "./info";

test("info against a hung store ends within seconds, the repository unreadable", async () => {
  const sockets: Socket[] = [];
  const hung = createServer((s) => void sockets.push(s));
  await new Promise<void>((r) => hung.listen(0, "127.0.0.1", r));
  const port = (hung.address() as { port: number }).port;
  const dir = tempDir("fp-dr-bounds-");
  const user = serviceUser();
  const configPath = join(dir, "pgbackrest.conf");
  // as the lab and the hosts write it: io-timeout 20 s for backups and restores
  writeFileSync(
    configPath,
    [
      "[global]",
      "repo1-type=s3",
      "repo1-s3-endpoint=127.0.0.1",
      `repo1-storage-port=${port}`,
      "repo1-s3-bucket=fp-dr",
      "repo1-s3-region=us-east-1",
      "repo1-s3-key=test",
      "repo1-s3-key-secret=test",
      "repo1-s3-uri-style=path",
      "repo1-storage-verify-tls=n",
      "repo1-path=/repo",
      "io-timeout=20",
      `log-path=${dir}`,
      `lock-path=${dir}`,
      "log-level-file=off",
      "[hung]",
      `pg1-path=${join(dir, "pg")}`,
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  chownSync(dir, user.uid, user.gid);
  chownSync(configPath, user.uid, user.gid);
  const pgb = new Pgbackrest({ configPath, stanza: "hung", user });
  const started = Date.now();
  try {
    const outcome = await pgb.info({ repo: 1 }).then(
      (info) => ({ ok: info.repo?.every((r) => r.status.code === 0) ?? false, detail: JSON.stringify(info.repo ?? info.status), unreadable: unreadableRepos(info) }),
      (e: Error) => ({ ok: false, detail: e.message, unreadable: [] }),
    );
    const ms = Date.now() - started;
    assert.equal(outcome.ok, false, `a hung store read as healthy: ${outcome.detail}`);
    assert.ok(ms < 20_000, `pgbackrest info took ${ms} ms against a hung store`);
    assert.ok(sockets.length > 0, "pgBackRest did reach the store");
    // what health reports on a host, where no probe runs first: the repository, and the store by address
    assert.deepEqual(outcome.unreadable.map((u) => u.repo), [1], outcome.detail);
    assert.match(outcome.unreadable[0].message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    console.log(`pgbackrest info against a hung store: ${ms} ms (${sockets.length} connections): ${outcome.detail}`);
  } finally {
    for (const s of sockets) s.destroy();
    hung.close();
  }
});
