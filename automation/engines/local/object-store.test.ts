// Proves the lab's offsite store is one the real pgBackRest (2.45, as the service user) can use
// with TLS verification on: stanza-create, check (archive-push), a full backup, repo-ls and
// repo-get all go through it; a wrong CA and an unknown access key are refused; the stored
// object files can be found on disk (small files of a set inside bundle objects, a large
// relation on its own); a stopped store fails the probe with STORE_UNREACHABLE.
// It also holds the lab's shared documents (a bucket of their own, reached by the S3 store class
// used on AWS), and it ignores If-None-Match and If-Match on PUT: pinned here, since that is why
// the lab's lease and control state stay in files (shared-store.ts).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cluster } from "../../postgres/cluster";
import { isDrError } from "../../core/errors";
import { run, type RunResult } from "../../system/exec";
import { makeServiceDir, serviceUser } from "../../system/service-user";
import { daemonStatus } from "./daemon";
import {
  listStoredObjects,
  objectStoreInfo,
  objectStorePathOf,
  pgbackrestRepoOptions,
  probeObjectStore,
  startObjectStore,
  stopObjectStore,
  OBJECT_STORE_ACCESS_KEY,
  OBJECT_STORE_SECRET_KEY,
  type ObjectStoreInfo,
} from "./object-store";
import { ensureLabCertificates } from "./tls";
import { parseConfig } from "../../core/load-config";
import { S3SharedStore } from "../../core/s3-store";
import { LAB_SHARED_BUCKET } from "./object-store";
import { openLabSharedStore } from "./shared-store";

const user = serviceUser();
const root = mkdtempSync(join(tmpdir(), "fp-dr-s3-"));
// Where a lab at `root` keeps it (LabLayout), so the lab's shared store can be opened on it.
const storeDir = join(root, "objectstore");
const pgDir = join(root, "pg");
const conf = join(root, "pgbackrest.conf");
const stanza = "lab";
let cluster: Cluster | undefined;
let info: ObjectStoreInfo;
let started2: string | undefined;
/** The data directory's path of a relation too large to be bundled (base/<db>/<file>). */
let bigFile = "";

function pgbackrest(args: string[], env: Record<string, string> = {}, okCodes: number[] = []): Promise<RunResult> {
  return run("pgbackrest", [`--config=${conf}`, "--log-level-console=warn", "--log-level-stderr=off", ...args], { as: user, env, okCodes, timeoutMs: 60_000 });
}

function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolvePromise(port));
    });
  });
}

/** GET over HTTPS to the store, verified by the lab CA for the endpoint name. */
function httpsGet(path: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const req = httpsRequest(
      { host: info.host, port: info.port, path, servername: info.endpoint, ca: readFileSync(info.caFile), agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const body = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode === 200) resolvePromise(body);
          else reject(new Error(`http ${res.statusCode}: ${body}`));
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

before(async () => {
  makeServiceDir(root, user, 0o755);
  info = await startObjectStore({ dir: storeDir });
  // A tiny cluster whose WAL and backups go to repo1 = the lab store (and nowhere else).
  const port = await freePort();
  makeServiceDir(pgDir, user, 0o755);
  cluster = new Cluster({ dataDir: join(pgDir, "data"), runDir: join(pgDir, "run"), host: "127.0.0.1", port, user });
  const repo = pgbackrestRepoOptions(info, 1, "/test");
  const lines = [
    "[global]",
    ...Object.entries(repo).map(([k, v]) => `${k}=${v}`),
    `log-path=${join(pgDir, "log")}`,
    `lock-path=${join(pgDir, "lock")}`,
    "start-fast=y",
    "compress-type=lz4",
    // As in every pgbackrest.conf fp-dr writes: small files bundled, large ones stored on their own.
    "repo1-bundle=y",
    `[${stanza}]`,
    `pg1-path=${cluster.spec.dataDir}`,
    `pg1-port=${port}`,
    `pg1-socket-path=${cluster.spec.runDir}`,
    "",
  ];
  writeFileSync(conf, lines.join("\n"), { mode: 0o600 });
  if (user.switched) chownSync(conf, user.uid, user.gid);
  for (const d of ["log", "lock"]) makeServiceDir(join(pgDir, d), user);
  await cluster.init({ archive_mode: "on", archive_command: `pgbackrest --config=${conf} --stanza=${stanza} archive-push %p`, wal_level: "replica" });
  await cluster.start();
});

after(async () => {
  // Daemons and the cluster go even when a test failed.
  await cluster?.stop("immediate").catch(() => undefined);
  await stopObjectStore(storeDir).catch(() => undefined);
  if (started2) await stopObjectStore(started2).catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
});

describe("lab object store", () => {
  it("answers a TLS request verified by the lab CA, and start is idempotent", async () => {
    await probeObjectStore(info);
    assert.equal(info.accessKey, OBJECT_STORE_ACCESS_KEY);
    assert.equal(info.secretKey, OBJECT_STORE_SECRET_KEY);
    assert.equal(info.endpoint, "s3.lab.fp.internal");
    assert.equal(info.host, "127.0.0.1");
    assert.ok(info.port > 0);
    const again = await startObjectStore({ dir: storeDir });
    assert.equal(again.pid, info.pid);
    assert.equal(again.port, info.port);
    const state = objectStoreInfo(storeDir);
    assert.equal(state?.running, true);
    assert.equal(state?.pid, info.pid);
    // The CA is readable by the service user (pgBackRest reads it as that user).
    await run("test", ["-r", info.caFile], { as: user });
  });

  it("ignores If-None-Match: * and If-Match on PUT: a lost race would overwrite (if this fails, the store honours them)", async () => {
    const raw = new S3SharedStore({
      bucket: LAB_SHARED_BUCKET,
      prefix: "conditions/",
      region: info.region,
      endpoint: `https://${info.host}:${info.port}`,
      tls: { ca: readFileSync(info.caFile), servername: info.endpoint },
      credentials: { accessKeyId: info.accessKey, secretAccessKey: info.secretKey },
    });
    const first = await raw.create("lease/lab.json", '{"epoch":1}');
    assert.ok(first);
    // On AWS the second create is a 412 (undefined) and the first body stays.
    assert.ok(await raw.create("lease/lab.json", '{"epoch":2}'), "s3rver honours If-None-Match now: the lab's lease could move to its object store");
    assert.equal((await raw.get("lease/lab.json"))?.body, '{"epoch":2}', "the second create overwrote the first");
    // On AWS a replace on an etag that was never the object's is a 412 (undefined).
    assert.ok(await raw.replace("lease/lab.json", '{"epoch":3}', '"00000000000000000000000000000000"'), "s3rver honours If-Match now");
    assert.equal((await raw.get("lease/lab.json"))?.body, '{"epoch":3}', "a replace on a wrong etag overwrote");
  });

  it("holds the lab's shared documents in their own bucket; the lease stays in the lab directory's files", async () => {
    const shared = openLabSharedStore(parseConfig({ lab: { dir: root } }));
    assert.equal(shared.where, `runs/ in s3://${LAB_SHARED_BUCKET}/fp-dr/, the rest in ${join(root, "shared")}`);
    const journal = JSON.stringify({ runId: "drill-1", steps: Array.from({ length: 20 }, (_, i) => ({ id: `step-${i}`, status: "done" })) });
    const started = process.hrtime.bigint();
    await shared.put("runs/lab/drill-1.json", journal);
    const firstMs = Number(process.hrtime.bigint() - started) / 1e6;
    const again = process.hrtime.bigint();
    await shared.put("runs/lab/drill-1.json", journal);
    const nextMs = Number(process.hrtime.bigint() - again) / 1e6;
    console.log(`a journal copy to the lab's object store: ${firstMs.toFixed(0)} ms the first (client and TLS set up), ${nextMs.toFixed(1)} ms the next`);
    assert.deepEqual(listStoredObjects(storeDir, LAB_SHARED_BUCKET, "fp-dr/runs/").map((o) => o.key), ["fp-dr/runs/lab/drill-1.json"]);
    assert.equal((await shared.get("runs/lab/drill-1.json"))?.body, journal);
    assert.deepEqual(await shared.list("runs/lab/"), ["runs/lab/drill-1.json"]);
    assert.ok(!existsSync(join(root, "shared", "runs")), "no document in the directory");
    // The lease: a file, created once; a conditional write to a document is refused.
    assert.ok(await shared.create("lease/lab.json", '{"epoch":1}'));
    assert.equal(await shared.create("lease/lab.json", '{"epoch":2}'), undefined, "the second create loses");
    assert.equal(readFileSync(join(root, "shared", "lease", "lab.json"), "utf8"), '{"epoch":1}');
    await assert.rejects(shared.create("runs/lab/drill-1.json", "{}"), /conditional write to runs\/lab\/drill-1\.json in s3:\/\/fp-dr-shared\/fp-dr\/, which cannot honour it/);
    // An incident rotates the store's key mid-run (same port): the open store writes with the new key.
    await startObjectStore({ dir: storeDir, port: info.port, accessKey: "FPDRLABROTATEDKEY1", secretKey: "rotated-secret-not-checked" });
    try {
      await shared.put("runs/lab/drill-1/report.md", "# report");
      assert.deepEqual(await shared.list("runs/lab/"), ["runs/lab/drill-1.json", "runs/lab/drill-1/report.md"]);
    } finally {
      info = await startObjectStore({ dir: storeDir, port: info.port, accessKey: OBJECT_STORE_ACCESS_KEY, secretKey: OBJECT_STORE_SECRET_KEY });
    }
  });

  it("serves real pgBackRest over verified TLS: stanza-create, check, full backup, repo-ls, repo-get", async () => {
    // A relation above the 2 MiB bundle limit (~3.5 MB), so one file of the set is an object of its own.
    await cluster!.psql("create table big as select g, md5(g::text) h from generate_series(1, 60000) g");
    bigFile = (await cluster!.psql("select pg_relation_filepath('big')")).stdout.trim();
    await pgbackrest([`--stanza=${stanza}`, "stanza-create"]);
    await pgbackrest([`--stanza=${stanza}`, "check"]);
    await pgbackrest([`--stanza=${stanza}`, "--type=full", "backup"]);
    const infoJson = JSON.parse((await pgbackrest([`--stanza=${stanza}`, "--output=json", "info"])).stdout) as Array<{ backup: Array<{ type: string }>; status: { code: number } }>;
    assert.equal(infoJson[0].status.code, 0);
    assert.equal(infoJson[0].backup.length, 1);
    assert.equal(infoJson[0].backup[0].type, "full");

    const ls = await pgbackrest(["--repo=1", "repo-ls", `backup/${stanza}`]);
    assert.match(ls.stdout, /backup\.info/);
    const got = await pgbackrest(["--repo=1", "repo-get", `backup/${stanza}/backup.info`]);
    assert.match(got.stdout, /\[backup:current\]/);

    // The object files are on disk where objectStorePathOf says (tests of other issues tamper with them).
    const file = objectStorePathOf(storeDir, info.bucket, `test/backup/${stanza}/backup.info`);
    assert.ok(existsSync(file), file);
    assert.equal(readFileSync(file, "utf8"), got.stdout);
    const stored = listStoredObjects(storeDir, info.bucket, `test/backup/${stanza}/`);
    // Small files (PG_VERSION, the catalogs) are inside bundle objects; the large relation is on its own.
    const keys = stored.map((o) => o.key).join("\n");
    assert.ok(stored.some((o) => /\/\d{8}-\d{6}F\/bundle\/\d+$/.test(o.key)), keys);
    assert.ok(!stored.some((o) => o.key.endsWith("/pg_data/PG_VERSION.lz4")), keys);
    assert.ok(stored.some((o) => o.key.endsWith(`/pg_data/${bigFile}.lz4`)), `${bigFile}\n${keys}`);
    assert.ok(listStoredObjects(storeDir, info.bucket, `test/archive/${stanza}/`).some((o) => /\/[0-9A-F]{24}-[0-9a-f]{40}\.lz4$/.test(o.key)));
    for (const o of stored) assert.equal(objectStorePathOf(storeDir, info.bucket, o.key), o.path);
  });

  it("pages long listings (ListObjectsV2 continuation tokens work) and pgBackRest verify passes", async () => {
    // pgBackRest lists 1000 keys per page; s3rver's tokens need DES (legacy provider). Pages of
    // 10: a bundled set is a few dozen objects.
    const keys: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const q = `list-type=2&max-keys=10&prefix=test/${token ? `&continuation-token=${encodeURIComponent(token)}` : ""}`;
      const body = await httpsGet(`/${info.bucket}?${q}`);
      keys.push(...[...body.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1]));
      token = /<NextContinuationToken>([^<]+)<\/NextContinuationToken>/.exec(body)?.[1];
      pages++;
    } while (token && pages < 100);
    const onDisk = listStoredObjects(storeDir, info.bucket, "test/");
    assert.ok(pages > 1, `expected several pages, got ${pages}`);
    assert.deepEqual([...keys].sort(), onDisk.map((o) => o.key));
    await pgbackrest([`--stanza=${stanza}`, "verify"]);
  });

  it("locates the live bytes of a stored object: flipping one makes pgBackRest verify report it", async () => {
    const victim = listStoredObjects(storeDir, info.bucket, `test/backup/${stanza}/`).find((o) => o.key.endsWith(`/pg_data/${bigFile}.lz4`));
    assert.ok(victim);
    const bytes = readFileSync(victim.path);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(victim.path, bytes);
    // Note: pgBackRest 2.45 verify exits 0 even then; the verdict is in its output.
    const res = await run("pgbackrest", [`--config=${conf}`, `--stanza=${stanza}`, "--log-level-console=info", "verify"], { as: user, timeoutMs: 60_000 });
    assert.match(res.stdout, new RegExp(`invalid checksum '[^']*/pg_data/${bigFile}\\.lz4'`));
    assert.match(res.stdout, /status: error/);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(victim.path, bytes);
  });

  it("refuses a client that trusts another CA (TLS verification is real)", async () => {
    const other = await ensureLabCertificates({ dir: join(root, "other-ca"), dnsNames: ["s3.lab.fp.internal", "127.0.0.1"] });
    makeServiceDir(join(root, "other-ca"), user, 0o755);
    // pgBackRest retries a failed TLS handshake until io-timeout (default 60 s): keep it short.
    const res = await pgbackrest(["--repo=1", "--io-timeout=2", `--repo1-storage-ca-file=${other.caFile}`, "repo-ls"], {}, [95]);
    assert.equal(res.code, 95, res.stderr);
    assert.match(res.stdout + res.stderr, /unable to verify certificate/);
    await assert.rejects(probeObjectStore({ ...info, caFile: other.caFile }), (e) => isDrError(e, "STORE_UNREACHABLE") && e.details?.reason === "tls");
  });

  it("refuses an unknown access key id (but cannot check secrets: see object-store.ts)", async () => {
    const res = await pgbackrest(["--repo=1", "repo-ls"], { PGBACKREST_REPO1_S3_KEY: "NOT-A-LAB-KEY" }, [39]);
    assert.equal(res.code, 39);
    assert.match(res.stdout + res.stderr, /403/);
    await assert.rejects(probeObjectStore({ ...info, accessKey: "NOT-A-LAB-KEY" }), (e) => isDrError(e, "STORE_UNREACHABLE") && e.details?.reason === "http" && e.details?.status === 403);
  });

  it("accepts custom credentials (and then refuses S3RVER); pgBackRest's deprecated repo-s3-host/-port/-ca-file spellings work too", async () => {
    const dir2 = join(root, "store2");
    started2 = dir2;
    const custom = await startObjectStore({ dir: dir2, bucket: "fp-dr-custom", accessKey: "FPDRLABKEY", secretKey: "lab-secret-not-checked" });
    assert.equal(custom.accessKey, "FPDRLABKEY");
    assert.notEqual(custom.port, info.port);
    const conf2 = join(root, "pgbackrest-custom.conf");
    const lines = [
      "[global]",
      "repo1-type=s3",
      "repo1-path=/",
      `repo1-s3-bucket=${custom.bucket}`,
      `repo1-s3-endpoint=${custom.endpoint}`,
      `repo1-s3-region=${custom.region}`,
      `repo1-s3-key=${custom.accessKey}`,
      `repo1-s3-key-secret=${custom.secretKey}`,
      "repo1-s3-uri-style=path",
      `repo1-s3-host=${custom.host}`,
      `repo1-s3-port=${custom.port}`,
      `repo1-s3-ca-file=${custom.caFile}`,
      "repo1-s3-verify-tls=y",
      `log-path=${join(pgDir, "log")}`,
      `lock-path=${join(pgDir, "lock")}`,
      "",
    ];
    writeFileSync(conf2, lines.join("\n"), { mode: 0o600 });
    if (user.switched) chownSync(conf2, user.uid, user.gid);
    const ok = await run("pgbackrest", [`--config=${conf2}`, "--repo=1", "repo-ls"], { as: user, timeoutMs: 30_000 });
    assert.equal(ok.code, 0);
    const refused = await run("pgbackrest", [`--config=${conf2}`, "--repo=1", "repo-ls"], { as: user, timeoutMs: 30_000, okCodes: [39], env: { PGBACKREST_REPO1_S3_KEY: "S3RVER" } });
    assert.equal(refused.code, 39);
    await stopObjectStore(dir2);
  });

  it("names a missing bucket, and gives up on a store that accepts but never answers within its bound", async () => {
    await assert.rejects(probeObjectStore({ ...info, bucket: "no-such-bucket" }), (e) => isDrError(e, "STORE_UNREACHABLE") && e.details?.reason === "no-bucket" && /bucket no-such-bucket does not exist/.test(e.message));
    const silent = createServer(() => undefined); // takes the connection, never says a word
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const started = Date.now();
    try {
      await assert.rejects(probeObjectStore({ ...info, port: (silent.address() as AddressInfo).port }, 500), (e) => isDrError(e, "STORE_UNREACHABLE") && e.details?.reason === "timeout");
    } finally {
      silent.close();
    }
    assert.ok(Date.now() - started < 3_000, `${Date.now() - started} ms`);
  });

  it("fails the probe with STORE_UNREACHABLE once stopped; stop is idempotent; restart keeps port and data", async () => {
    await stopObjectStore(storeDir);
    await stopObjectStore(storeDir);
    assert.equal(objectStoreInfo(storeDir)?.running, false);
    await assert.rejects(probeObjectStore(info), (e) => isDrError(e, "STORE_UNREACHABLE") && e.details?.reason === "refused" && /dr lab up/.test(e.hint ?? ""));
    const res = await pgbackrest(["--repo=1", "--io-timeout=1", "repo-ls"], {}, [49]);
    assert.equal(res.code, 49); // HostConnectError: connection refused

    const back = await startObjectStore({ dir: storeDir });
    assert.equal(back.port, info.port);
    assert.notEqual(back.pid, info.pid);
    const got = await pgbackrest(["--repo=1", "repo-get", `backup/${stanza}/backup.info`]);
    assert.match(got.stdout, /\[backup:current\]/);
    info = back;
  });

  it("detects a stale pid after kill -9 and starts again", async () => {
    process.kill(info.pid, "SIGKILL");
    for (let i = 0; i < 50 && daemonStatus(storeDir, "object-store").running; i++) await new Promise((r) => setTimeout(r, 50));
    const status = daemonStatus(storeDir, "object-store");
    assert.equal(status.running, false);
    assert.equal(status.stale, true);
    assert.equal(objectStoreInfo(storeDir)?.running, false);
    await assert.rejects(probeObjectStore(info), (e) => isDrError(e, "STORE_UNREACHABLE"));
    await stopObjectStore(storeDir); // a stale pid file is not an error
    info = await startObjectStore({ dir: storeDir });
    await probeObjectStore(info);
  });
});
