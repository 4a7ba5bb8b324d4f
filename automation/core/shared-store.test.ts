// Proves both shared stores keep the conditional semantics the lease relies on:
//   - create succeeds once; a second create of the same key loses (undefined), never overwrites;
//   - replace succeeds only on the etag read; a stale etag loses;
//   - many writers racing on the same key in the same millisecond: exactly one wins
//     (file store: separate processes; S3: concurrent requests to a conditional-write double);
//   - keys that could escape the root or name object properties are refused;
//   - the S3 store's exact requests (method, key, conditional and encryption headers) are pinned;
//   - a store routed by prefix (the lab's: documents in an object store, the rest in files) keeps
//     all of the above, sends each key where it belongs, opens the documents' store only when a
//     document is touched, and refuses a conditional write to a document.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test, { after, before, describe } from "node:test";
import { existsSync } from "node:fs";
import { FileSharedStore } from "./file-store";
import { RoutedSharedStore } from "./routed-store";
import { S3Double } from "./s3-double";
import { S3SharedStore } from "./s3-store";
import type { SharedStore } from "./shared-store";

const dir = mkdtempSync(join(tmpdir(), "fp-dr-shared-"));
const double = new S3Double();
let endpoint = "";
before(async () => {
  endpoint = await double.start();
});
after(async () => {
  await double.stop();
  rmSync(dir, { recursive: true, force: true });
});

const s3 = (prefix = "fp-dr/", kmsKeyId?: string) =>
  new S3SharedStore({ bucket: "fp-dr-shared", region: "us-west-2", prefix, endpoint, kmsKeyId, credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "test-secret" } });

const stores: [string, () => SharedStore][] = [
  ["file", () => new FileSharedStore(join(dir, "files"))],
  ["s3", () => s3()],
  ["routed", () => routed().store],
];

/** The lab's arrangement over a directory and the S3 double; says when the documents' store was opened. */
function routed(sub = "routed") {
  let opened = 0;
  const docs = s3(`${sub}/`);
  const store = new RoutedSharedStore({
    conditional: new FileSharedStore(join(dir, sub)),
    documents: { where: docs.where, open: () => (opened++, docs) },
    documentPrefixes: ["runs"],
  });
  return { store, opened: () => opened };
}

for (const [name, make] of stores) {
  describe(`${name} store`, () => {
    test("create once, then only replace on the etag read", async () => {
      const store = make();
      const a = await store.create("lease/lab.json", '{"epoch":1}');
      assert.ok(a, "the first create wins");
      assert.equal(await store.create("lease/lab.json", '{"epoch":99}'), undefined, "a second create loses");
      const read = await store.get("lease/lab.json");
      assert.equal(read?.body, '{"epoch":1}', "and did not overwrite");
      const b = await store.replace("lease/lab.json", '{"epoch":2}', read!.etag);
      assert.ok(b);
      assert.equal(await store.replace("lease/lab.json", '{"epoch":3}', read!.etag), undefined, "a stale etag loses");
      assert.equal((await store.get("lease/lab.json"))?.body, '{"epoch":2}');
      assert.equal(await store.replace("lease/none.json", "x", b!.etag), undefined, "replacing what is not there loses");
      assert.equal(await store.get("lease/none.json"), undefined);
    });

    test("writers racing in the same millisecond: exactly one wins", async () => {
      const store = make();
      const wins = (await Promise.all(Array.from({ length: 8 }, (_, i) => store.create("race/one.json", `writer ${i}`)))).filter(Boolean);
      assert.equal(wins.length, 1);
      const base = (await store.get("race/one.json"))!;
      const replaced = (await Promise.all(Array.from({ length: 8 }, (_, i) => store.replace("race/one.json", `replacer ${i}`, base.etag)))).filter(Boolean);
      assert.equal(replaced.length, 1, "of 8 replaces on the same etag one wins");
    });

    test("put and list", async () => {
      const store = make();
      await store.put("runs/lab/drill-1.json", "{}");
      await store.put("runs/lab/drill-1/report.md", "# r");
      await store.put("runs/other/x.json", "{}");
      assert.deepEqual(await store.list("runs/lab/"), ["runs/lab/drill-1.json", "runs/lab/drill-1/report.md"]);
    });

    test("keys that could escape the root or name a property are refused", async () => {
      const store = make();
      for (const bad of ["../x", "lease/../../etc/passwd", "__proto__", "lease/__proto__", "/abs", "a//b", "A.json", "lease/x\"y.json", ""]) {
        await assert.rejects(store.get(bad), /invalid shared-store key/, bad);
        await assert.rejects(store.create(bad, "x"), /invalid shared-store key/, bad);
      }
    });
  });
}

test("routed store: documents to the object store, the rest to files, the object store opened only for documents", async () => {
  const { store, opened } = routed("routing");
  assert.equal(store.where, `runs/ in s3://fp-dr-shared/routing/, the rest in ${join(dir, "routing")}`);
  assert.ok(await store.create("lease/lab.json", "{}"));
  assert.ok(await store.get("control/lab.json").then(() => true));
  assert.equal(opened(), 0, "the lease and control state never open the documents' store");
  assert.ok(existsSync(join(dir, "routing", "lease", "lab.json")));
  await store.put("runs/lab/drill-1.json", "{}");
  assert.equal(opened(), 1);
  assert.ok(double.objects.has("fp-dr-shared/routing/runs/lab/drill-1.json"));
  assert.ok(!existsSync(join(dir, "routing", "runs")), "no document in the directory");
  await assert.rejects(store.create("runs/lab/drill-2.json", "{}"), /conditional write to runs\/lab\/drill-2\.json in s3:\/\/fp-dr-shared\/routing\/, which cannot honour it/);
  await assert.rejects(store.replace("runs/lab/drill-1.json", "{}", "x"), /which cannot honour it/);
});

test("file store: separate processes racing to create one key: exactly one wins", async () => {
  const root = join(dir, "procs");
  const code = `const { FileSharedStore } = require(${JSON.stringify(join(__dirname, "file-store.ts"))});
    const at = Number(process.argv[1]);
    setTimeout(async () => { const w = await new FileSharedStore(${JSON.stringify(root)}).create("lease/lab.json", String(process.pid)); process.stdout.write(w ? "won" : "lost"); }, Math.max(0, at - Date.now()));`;
  const at = Date.now() + 1500; // all start their create in the same millisecond
  const results = await Promise.all(
    Array.from({ length: 6 }, () => new Promise<string>((resolve) => {
      const p = spawn(process.execPath, ["--import", "tsx", "-e", code, String(at)], { stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      p.stdout.on("data", (c) => (out += c));
      p.on("close", () => resolve(out));
    })),
  );
  assert.equal(results.filter((r) => r === "won").length, 1, results.join(","));
  assert.equal(results.filter((r) => r === "lost").length, 5);
});

test("s3 store: the exact requests are pinned", async () => {
  double.requests.length = 0;
  const store = s3("team/fp-dr/", "alias/fp-dr-shared");
  const c = await store.create("lease/production.json", "{}");
  await store.create("lease/production.json", "{}");
  await store.replace("lease/production.json", "{\"epoch\":2}", c!.etag);
  await store.get("lease/production.json");
  await store.put("runs/production/drill-1.json", "{}");
  await store.list("runs/production/");
  assert.deepEqual(
    double.requests.map((r) => [r.method, r.path, r.query, r.ifNoneMatch ?? "", r.ifMatch ? "etag" : "", r.sse ?? "", r.sseKey ?? ""]),
    [
      ["PUT", "/fp-dr-shared/team/fp-dr/lease/production.json", "", "*", "", "aws:kms", "alias/fp-dr-shared"],
      ["PUT", "/fp-dr-shared/team/fp-dr/lease/production.json", "", "*", "", "aws:kms", "alias/fp-dr-shared"],
      ["PUT", "/fp-dr-shared/team/fp-dr/lease/production.json", "", "", "etag", "aws:kms", "alias/fp-dr-shared"],
      ["GET", "/fp-dr-shared/team/fp-dr/lease/production.json", "", "", "", "", ""],
      ["PUT", "/fp-dr-shared/team/fp-dr/runs/production/drill-1.json", "", "", "", "aws:kms", "alias/fp-dr-shared"],
      ["GET", "/fp-dr-shared/", "list-type&prefix", "", "", "", ""],
    ],
  );
  assert.equal(double.requests[2].ifMatch, c!.etag, "the replace names the etag the create returned");
});

test("s3 store: a store that stops answering fails within its bound, naming the store", async () => {
  const stalled = new S3Double();
  stalled.stallMs = 30_000;
  const ep = await stalled.start();
  try {
    const store = new S3SharedStore({ bucket: "fp-dr-shared", region: "us-west-2", prefix: "", endpoint: ep, timeoutMs: 500, credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "test-secret" } });
    const started = Date.now();
    await assert.rejects(store.get("lease/lab.json"), (e: Error & { code?: string }) => e.code === "STORE_UNREACHABLE" && /s3:\/\/fp-dr-shared\//.test(e.message) && !/test-secret/.test(e.message));
    assert.ok(Date.now() - started < 10_000, `bounded (${Date.now() - started} ms)`);
  } finally {
    await stalled.stop();
  }
});

test("s3 store: a store that refuses connections is named with the socket's error, in well under its bound", async () => {
  const store = new S3SharedStore({ bucket: "fp-dr-shared", region: "us-west-2", prefix: "fp-dr/", endpoint: "http://127.0.0.1:9", timeoutMs: 3_000, credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "test-secret" } });
  const started = Date.now();
  await assert.rejects(store.put("runs/lab/drill-1.json", "{}"), /^DrError: the shared store s3:\/\/fp-dr-shared\/fp-dr\/ did not answer writing runs\/lab\/drill-1\.json: ECONNREFUSED \(no status\)$/);
  assert.ok(Date.now() - started < 2_000, `${Date.now() - started} ms`);
});
