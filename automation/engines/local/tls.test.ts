// Proves the lab PKI: the server certificate chains to the lab CA and names what pgBackRest
// checks (it matches repo-storage-host against DNS-type names only, so 127.0.0.1 is also a DNS
// name); the CA survives re-runs (clients keep trusting it); keys are private, the CA is not.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureLabCertificates } from "./tls";

const dir = mkdtempSync(join(tmpdir(), "fp-dr-tls-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("lab certificates", () => {
  it("issues a server certificate for the names, signed by the lab CA, with private keys", async () => {
    const c = await ensureLabCertificates({ dir, dnsNames: ["s3.lab.fp.internal", "127.0.0.1"] });
    assert.equal(c.caFile, join(dir, "ca.crt"));
    const ca = new X509Certificate(readFileSync(c.caFile));
    const leaf = new X509Certificate(readFileSync(c.certFile));
    assert.ok(ca.ca);
    assert.ok(leaf.verify(ca.publicKey));
    assert.equal(leaf.checkHost("s3.lab.fp.internal"), "s3.lab.fp.internal");
    assert.equal(leaf.checkIP("127.0.0.1"), "127.0.0.1");
    assert.match(leaf.subjectAltName ?? "", /DNS:127\.0\.0\.1/);
    assert.equal(statSync(c.caFile).mode & 0o777, 0o644);
    assert.equal(statSync(c.keyFile).mode & 0o777, 0o600);
    assert.equal(statSync(c.caKeyFile).mode & 0o777, 0o600);
  });

  it("is idempotent, and keeps the CA when the names change", async () => {
    const first = readFileSync(join(dir, "ca.crt"), "utf8");
    const leaf1 = readFileSync(join(dir, "tls", "server.crt"), "utf8");
    await ensureLabCertificates({ dir, dnsNames: ["s3.lab.fp.internal", "127.0.0.1"] });
    assert.equal(readFileSync(join(dir, "tls", "server.crt"), "utf8"), leaf1);
    const c = await ensureLabCertificates({ dir, dnsNames: ["s3.other.fp.internal"] });
    assert.equal(readFileSync(c.caFile, "utf8"), first);
    const leaf2 = new X509Certificate(readFileSync(c.certFile));
    assert.equal(leaf2.checkHost("s3.other.fp.internal"), "s3.other.fp.internal");
    assert.equal(leaf2.checkHost("s3.lab.fp.internal"), undefined);
  });
});
