// Proves the ssm port-forward access against a real PostgreSQL 15 cluster. The AWS CLI cannot
// run here, so a stand-in `aws` (a small node script) does what Session Manager's port
// forwarding does on this machine: listen on the local port it is given and relay to the
// instance's port (here, the real cluster). Proves: the exact `aws ssm start-session` argument
// lists; open() returns only once the local port accepts (SQL through it works); a second open
// reuses the forwards; close() stops them; a forward that dies is SITE_UNREACHABLE with its
// error, a missing CLI DEPENDENCY_MISSING; what was opened is reported.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import { DrError } from "../../core/errors";
import { freePort, startScratchCluster, type ScratchCluster } from "../../postgres/scratch";
import { tempDir } from "../../../test/harness/temp-dir";
import type { SiteOutputs } from "../../../infra/outputs";
import { describeForward, ssmPortForwardAccess } from "./ssm-access";

let scratch: ScratchCluster;
let fakeAws: string;
let argvLog: string;

before(async () => {
  scratch = await startScratchCluster({}, "fp-dr-ssm-access-");
  const dir = tempDir("fp-dr-fake-aws-");
  argvLog = join(dir, "argv.log");
  fakeAws = join(dir, "aws");
  // Session Manager's port forward, on loopback: listen on localPortNumber, relay to the
  // "instance" (FAKE_SSM_HOST_PORT_<remote port>); FAKE_SSM_FAIL makes the session fail at once.
  writeFileSync(
    fakeAws,
    `#!${process.execPath}
const net = require("node:net");
const fs = require("node:fs");
const args = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(argvLog)}, JSON.stringify(args) + "\\n");
if (process.env.FAKE_SSM_FAIL) { console.error("An error occurred (TargetNotConnected) when calling the StartSession operation: i-0 is not connected."); process.exit(254); }
const p = JSON.parse(args[args.indexOf("--parameters") + 1]);
const target = Number(process.env["FAKE_SSM_HOST_PORT_" + p.portNumber[0]]);
net.createServer((c) => { const u = net.connect(target, "127.0.0.1"); c.pipe(u); u.pipe(c); u.on("error", () => c.destroy()); c.on("error", () => u.destroy()); })
  .listen(Number(p.localPortNumber[0]), "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
`,
    { mode: 0o755 },
  );
});

after(async () => {
  await scratch?.destroy();
});

const outputs = { instanceId: "i-0123456789abcdef0", region: "eu-west-1", endpoint: { host: "10.30.1.10", port: 5432 } } as unknown as SiteOutputs;

describe("ssm port forwards", () => {
  test("open: both forwards started with the exact arguments, SQL through the local port, reused, then closed", { timeout: 60_000 }, async () => {
    const ports = { ssh: await freePort(), postgres: await freePort(), via: "ssm" as const };
    const env = { FAKE_SSM_HOST_PORT_22: String(scratch.cluster.spec.port), FAKE_SSM_HOST_PORT_5432: String(scratch.cluster.spec.port) };
    const told: string[] = [];
    const access = ssmPortForwardAccess({ command: fakeAws, env, readyTimeoutMs: 10_000, onOpened: (f) => told.push(describeForward(f)) });
    const at = await access.open("secondary", outputs, ports);
    assert.deepEqual(at, { host: "127.0.0.1", port: ports.postgres });
    const argv = readFileSync(argvLog, "utf8").trim().split("\n").map((l) => JSON.parse(l) as string[]);
    assert.deepEqual(argv, [22, 5432].map((remote) => [
      "ssm", "start-session", "--region", "eu-west-1", "--target", "i-0123456789abcdef0", "--document-name", "AWS-StartPortForwardingSession",
      "--parameters", JSON.stringify({ portNumber: [String(remote)], localPortNumber: [String(remote === 22 ? ports.ssh : ports.postgres)] }),
    ]));
    const c = new Client({ ...scratch.connection(), host: at.host, port: at.port });
    await c.connect();
    assert.equal((await c.query("select 1 as one")).rows[0].one, 1);
    await c.end();
    assert.deepEqual(access.opened().map((f) => [f.site, f.remotePort, f.localPort]), [["secondary", 22, ports.ssh], ["secondary", 5432, ports.postgres]]);
    assert.equal(told.length, 2);
    assert.match(told[1], new RegExp(`^opened ssm port forward for secondary: 127\\.0\\.0\\.1:${ports.postgres} → i-0123456789abcdef0:5432 \\(eu-west-1, pid \\d+\\)$`));
    await access.open("secondary", outputs, ports);
    assert.equal(told.length, 2, "reused forwards are not reported again");
    assert.equal(readFileSync(argvLog, "utf8").trim().split("\n").length, 2, "a second open reuses the live forwards");
    await access.close("secondary");
    assert.deepEqual(access.opened(), []);
    const after = new Client({ ...scratch.connection(), host: "127.0.0.1", port: ports.postgres, connectionTimeoutMillis: 2000 });
    await assert.rejects(after.connect(), /ECONNREFUSED|timeout/);
  });

  test("a session that fails is SITE_UNREACHABLE with its error; a missing CLI is DEPENDENCY_MISSING", { timeout: 30_000 }, async () => {
    const ports = { ssh: await freePort(), postgres: await freePort(), via: "ssm" as const };
    const failing = ssmPortForwardAccess({ command: fakeAws, env: { FAKE_SSM_FAIL: "1" }, readyTimeoutMs: 5000 });
    await assert.rejects(failing.open("secondary", outputs, ports), (e: unknown) => e instanceof DrError && e.code === "SITE_UNREACHABLE" && /TargetNotConnected/.test(e.message) && /exit 254/.test(e.message));
    const missing = ssmPortForwardAccess({ command: "/nonexistent/aws" });
    await assert.rejects(missing.open("secondary", outputs, ports), (e: unknown) => e instanceof DrError && e.code === "DEPENDENCY_MISSING" && /session-manager plugin/.test(e.hint ?? ""));
  });
});
