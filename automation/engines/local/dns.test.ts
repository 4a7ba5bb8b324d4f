// Proves the lab DNS server on real sockets: it answers the zone over UDP (node's resolver, as
// the toolkit's clients ask) and TCP; a swap is a zone write that the next query sees and that
// waitForAnswer observes; unknown names are NXDOMAIN → DNS_FAILED; a broken zone file keeps the
// last good zone; start and stop are idempotent; a kill -9 leaves a stale pid that status
// detects, and a restart keeps the port clients were configured with.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Resolver } from "node:dns/promises";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import DNS from "dns2";
import { isDrError } from "../../core/errors";
import { dnsStatus, readZone, resolveAddresses, resolveName, setRecord, startDns, stopDns, waitForAnswer, writeZone, type DnsInfo } from "./dns";

const dir = mkdtempSync(join(tmpdir(), "fp-dr-dns-"));
const NAME = "db.fp.internal";
let dns: DnsInfo;

before(async () => {
  dns = await startDns({ dir, records: { [NAME]: "127.0.10.1", "s3.lab.fp.internal": { A: "127.0.0.1", ttl: 30 } } });
});

after(async () => {
  await stopDns(dir).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe("lab dns", () => {
  it("answers the zone through node's resolver, authoritatively, and start is idempotent", async () => {
    assert.equal(await resolveName(NAME, { port: dns.port }), "127.0.10.1");
    assert.equal(await resolveName("S3.Lab.FP.Internal.", { port: dns.port }), "127.0.0.1");
    const r = new Resolver({ timeout: 1000, tries: 1 });
    r.setServers([`127.0.0.1:${dns.port}`]);
    assert.deepEqual(await r.resolve4(NAME, { ttl: true }), [{ address: "127.0.10.1", ttl: 1 }]);
    // A known name without that record type is NODATA, not NXDOMAIN.
    await assert.rejects(r.resolve6(NAME), (e: NodeJS.ErrnoException) => e.code === "ENODATA");

    const again = await startDns({ dir });
    assert.equal(again.pid, dns.pid);
    assert.equal(again.port, dns.port);
    assert.deepEqual(dnsStatus(dir), { running: true, host: "127.0.0.1", port: dns.port, pid: dns.pid, stale: undefined });
  });

  it("answers over TCP on the same port", async () => {
    const resolve = DNS.TCPClient({ dns: "127.0.0.1", port: dns.port });
    const res = await resolve(NAME, "A");
    assert.equal(res.answers[0]?.address, "127.0.10.1");
    assert.equal(res.header.aa, 1);
  });

  it("sees a swap (setRecord) on the next query, and waitForAnswer observes it", async () => {
    setRecord(dir, NAME, "127.0.10.2");
    assert.equal(readZone(dir)[NAME].A, "127.0.10.2");
    const seen = await waitForAnswer(NAME, "127.0.10.2", { port: dns.port, timeoutMs: 5_000 });
    assert.equal(seen.address, "127.0.10.2");
    assert.ok(seen.waitedMs < 5_000);
    setRecord(dir, NAME, "127.0.10.1");
    assert.equal(await resolveName(NAME, { port: dns.port }), "127.0.10.1");
  });

  it("maps an unknown name (NXDOMAIN) to DNS_FAILED", async () => {
    await assert.rejects(
      resolveName("nothing.fp.internal", { port: dns.port }),
      (e) => isDrError(e, "DNS_FAILED") && e.details?.reason === "nxdomain" && /does not exist/.test(e.message) && Boolean(e.hint),
    );
  });

  it("bounds waitForAnswer: DNS_FAILED with the last answer when the swap never comes", async () => {
    const t0 = Date.now();
    await assert.rejects(
      waitForAnswer(NAME, "127.0.10.9", { port: dns.port, timeoutMs: 600 }),
      (e) => isDrError(e, "DNS_FAILED") && e.details?.reason === "timeout" && /127\.0\.10\.1/.test(e.message),
    );
    assert.ok(Date.now() - t0 < 3_000);
  });

  it("refuses invalid records, and keeps the last good zone when the file is broken", async () => {
    assert.throws(() => setRecord(dir, NAME, "not-an-address"), (e) => isDrError(e, "CONFIG_INVALID"));
    writeFileSync(join(dir, "zone.json"), "{ half a file");
    assert.equal(await resolveName(NAME, { port: dns.port }), "127.0.10.1");
    assert.throws(() => setRecord(dir, NAME, "127.0.10.2"), (e) => isDrError(e, "CONFIG_INVALID")); // never drops names it cannot read
    writeZone(dir, { [NAME]: { A: "127.0.10.1", ttl: 1 } });
    assert.equal(await resolveName(NAME, { port: dns.port }), "127.0.10.1");
  });

  it("detects a stale pid after kill -9; restart keeps the port", async () => {
    process.kill(dns.pid, "SIGKILL");
    for (let i = 0; i < 100 && dnsStatus(dir).running; i++) await new Promise((r) => setTimeout(r, 20));
    const status = dnsStatus(dir);
    assert.equal(status.running, false);
    assert.equal(status.stale, true);
    await assert.rejects(resolveName(NAME, { port: dns.port, timeoutMs: 500 }), (e) => isDrError(e, "DNS_FAILED"));
    const back = await startDns({ dir });
    assert.equal(back.port, dns.port);
    assert.notEqual(back.pid, dns.pid);
    assert.equal(await resolveName(NAME, { port: back.port }), "127.0.10.1");
    dns = back;
  });

  it("stops cleanly and idempotently; a stopped server is DNS_FAILED for clients", async () => {
    await stopDns(dir);
    await stopDns(dir);
    assert.equal(dnsStatus(dir).running, false);
    await assert.rejects(resolveAddresses(NAME, { port: dns.port, timeoutMs: 500 }), (e) => isDrError(e, "DNS_FAILED") && ["refused", "timeout"].includes(String(e.details?.reason)));
  });
});
