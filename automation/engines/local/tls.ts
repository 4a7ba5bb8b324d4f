// The lab's own small PKI: one CA and one server certificate per lab, made with the `openssl`
// CLI. The object store serves the server certificate and pgBackRest verifies it against the
// CA file (TLS verification stays on in the lab, as on AWS). The CA certificate is world
// readable (pgBackRest runs as the service user); private keys are 0600 and stay with root.
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isIP } from "node:net";
import { DrError } from "../../core/errors";
import { run } from "../../system/exec";

export interface LabCertificateRequest {
  /** Directory that receives `ca.crt` (and a private `tls/` folder for keys and the server cert). */
  dir: string;
  /** DNS names the server certificate is valid for (the first is its common name). */
  dnsNames: string[];
  /** IP addresses the server certificate is valid for (default 127.0.0.1). */
  ipAddresses?: string[];
  /** Validity in days (default 825, the longest many TLS clients accept for a leaf). */
  days?: number;
}

export interface LabCertificates {
  /** The CA certificate clients trust (mode 0644). */
  caFile: string;
  /** The CA's private key (mode 0600). */
  caKeyFile: string;
  /** The server certificate (PEM). */
  certFile: string;
  /** The server's private key (mode 0600). */
  keyFile: string;
  /** The names and addresses in the server certificate's subjectAltName. */
  dnsNames: string[];
  ipAddresses: string[];
}

/**
 * Makes (or reuses) the lab CA and a server certificate for the requested names. Idempotent:
 * an existing CA is kept; the server certificate is remade only when the names change or the
 * files are missing, so clients that already trust `ca.crt` keep working across restarts.
 */
export async function ensureLabCertificates(req: LabCertificateRequest): Promise<LabCertificates> {
  const dnsNames = req.dnsNames.map((n) => n.toLowerCase());
  const ipAddresses = req.ipAddresses ?? ["127.0.0.1"];
  if (dnsNames.length === 0) throw new DrError("USAGE", "a server certificate needs at least one dns name");
  for (const ip of ipAddresses) if (!isIP(ip)) throw new DrError("USAGE", `not an ip address: ${ip}`);
  const days = req.days ?? 825;
  const tlsDir = join(req.dir, "tls");
  mkdirSync(req.dir, { recursive: true });
  mkdirSync(tlsDir, { recursive: true, mode: 0o700 });
  chmodSync(tlsDir, 0o700);
  const files: LabCertificates = {
    caFile: join(req.dir, "ca.crt"),
    caKeyFile: join(tlsDir, "ca.key"),
    certFile: join(tlsDir, "server.crt"),
    keyFile: join(tlsDir, "server.key"),
    dnsNames,
    ipAddresses,
  };
  const hint = "check that the openssl command line tool is installed (Debian package openssl)";
  const openssl = (args: string[]) => run("openssl", args, { errorCode: "DEPENDENCY_MISSING", hint, timeoutMs: 60_000 });

  // 1. the CA: kept if present, so a restart does not invalidate what clients trust
  if (!existsSync(files.caFile) || !existsSync(files.caKeyFile)) {
    rmSync(files.certFile, { force: true });
    await openssl([
      "req", "-x509", "-new", "-nodes",
      "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
      "-keyout", files.caKeyFile, "-out", files.caFile,
      "-days", "3650", "-subj", "/O=fp-dr lab/CN=fp-dr lab CA",
      "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
      "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    ]);
  }
  chmodSync(files.caKeyFile, 0o600);
  chmodSync(files.caFile, 0o644);

  // 2. the server certificate, signed by the CA, remade when the requested names change
  const fingerprint = createHash("sha256").update(JSON.stringify({ dnsNames, ipAddresses, ca: readFileSync(files.caFile, "utf8") })).digest("hex");
  const stamp = join(tlsDir, "server.request");
  const current = existsSync(stamp) ? readFileSync(stamp, "utf8").trim() : "";
  if (current !== fingerprint || !existsSync(files.certFile) || !existsSync(files.keyFile)) {
    const csr = join(tlsDir, "server.csr");
    const ext = join(tlsDir, "server.ext");
    const san = [...dnsNames.map((n) => `DNS:${n}`), ...ipAddresses.map((ip) => `IP:${ip}`)].join(",");
    writeFileSync(
      ext,
      [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=serverAuth",
        `subjectAltName=${san}`,
        "",
      ].join("\n"),
    );
    await openssl([
      "req", "-new", "-nodes",
      "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
      "-keyout", files.keyFile, "-out", csr, "-subj", `/O=fp-dr lab/CN=${dnsNames[0]}`,
    ]);
    await openssl([
      "x509", "-req", "-in", csr, "-CA", files.caFile, "-CAkey", files.caKeyFile,
      "-set_serial", `0x${createHash("sha1").update(`${Date.now()}-${Math.random()}`).digest("hex").slice(0, 16)}`,
      "-days", String(days), "-sha256", "-extfile", ext, "-out", files.certFile,
    ]);
    rmSync(csr, { force: true });
    rmSync(ext, { force: true });
    writeFileSync(stamp, fingerprint + "\n");
  }
  chmodSync(files.keyFile, 0o600);
  chmodSync(files.certFile, 0o644);

  // 3. prove the chain before anyone relies on it
  await openssl(["verify", "-CAfile", files.caFile, files.certFile]);
  return files;
}
