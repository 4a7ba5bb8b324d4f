// Proves that the rendered files are accepted by the real programs that will read them on the
// host: PostgreSQL 15 (initdb with the rendered initdb options, `postgres -C` on a scratch
// cluster that includes the rendered postgresql.conf, then a real start with the rendered
// pg_hba.conf and TLS), pgBackRest 2.45 (parses the rendered pgbackrest.conf and reports both
// repositories; a deliberately broken copy is rejected, so the check is not vacuous), and
// systemd (the rendered units and calendars). Server programs refuse root, so they run as the
// service user and the scratch directory is theirs.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createServer } from "node:net";
import { CommandFailed, pgBin, run } from "../../automation/system/exec";
import { serviceUser, type ServiceUser } from "../../automation/system/service-user";
import { parseStackConfig, rawFromStackFile } from "../config/load";
import { sampleHostSpec } from "../testing/sample-host-spec";
import { hostPaths, type HostSpec } from "./host-spec";
import { renderPgbackrestConf } from "./pgbackrest-conf";
import { archiveTimeoutSeconds, renderCreateclusterConf, renderPgHba, renderPostgresqlConf } from "./postgresql-conf";
import { renderUnits } from "./systemd";

let user: ServiceUser;
let scratch: string;

function ownFile(path: string, content: string, mode = 0o600): void {
  writeFileSync(path, content, { mode });
  chmodSync(path, mode);
  if (user.switched) chownSync(path, user.uid, user.gid);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === "object" && addr ? addr.port : 0));
    });
  });
}

before(async () => {
  user = serviceUser();
  scratch = mkdtempSync("/tmp/fp-dr-render-");
  if (user.switched) chownSync(scratch, user.uid, user.gid);
  chmodSync(scratch, 0o700);
  // A throwaway self-signed pair stands in for Debian's snakeoil certificate (ssl = on makes
  // even `postgres -C` load it).
  const { certFile, keyFile } = scratchSpec().ssl!;
  await run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=fp-dr-test", "-keyout", keyFile, "-out", certFile]);
  for (const f of [keyFile, certFile]) {
    chmodSync(f, 0o600);
    if (user.switched) chownSync(f, user.uid, user.gid);
  }

  // One scratch cluster for the tests below, initialised with the rendered initdb options and
  // including the rendered postgresql.conf last, as Debian's add_include does.
  const spec = scratchSpec();
  const data = join(scratch, "data");
  const initdbOptions = /^initdb_options = '(.*)'$/m.exec(renderCreateclusterConf())?.[1];
  assert.ok(initdbOptions, "createcluster.conf names initdb options");
  await run(pgBin("initdb"), ["-D", data, "-U", "postgres", "--auth=peer", "--no-sync", ...initdbOptions.split(/\s+/)], { as: user });
  const ours = join(scratch, "fp-dr.conf");
  const hba = join(scratch, "pg_hba.conf");
  ownFile(ours, renderPostgresqlConf(spec).split(hostPaths.pgHba).join(hba), 0o644);
  ownFile(hba, renderPgHba(spec), 0o644);
  appendFileSync(join(data, "postgresql.conf"), `\ninclude '${ours}'\n`);
});

after(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** The host's spec with paths moved into the scratch directory (nothing else changes). */
function scratchSpec(overrides: Partial<HostSpec> = {}): HostSpec {
  return sampleHostSpec({ ssl: { certFile: join(scratch, "server.crt"), keyFile: join(scratch, "server.key") }, ...overrides });
}

test("initdb accepts the rendered initdb options, and postgres -C reads the rendered settings", async () => {
  const spec = scratchSpec();
  const data = join(scratch, "data");
  const show = async (name: string) => (await run(pgBin("postgres"), ["-C", name, "-D", data], { as: user })).stdout.trim();
  assert.equal(await show("data_checksums"), "on");
  assert.equal(await show("wal_level"), "replica");
  assert.equal(await show("archive_mode"), "on");
  assert.equal(await show("archive_command"), "pgbackrest --stanza=fp archive-push %p");
  assert.equal(await show("archive_timeout"), String(archiveTimeoutSeconds(spec.objectives)));
  assert.equal(await show("shared_preload_libraries"), "pg_stat_statements");
  assert.equal(await show("password_encryption"), "scram-sha-256");
  assert.equal(await show("hba_file"), join(scratch, "pg_hba.conf"));
  assert.equal(await show("log_min_duration_statement"), "30000");

  // A misspelt setting would be refused the same way: the check has teeth.
  const broken = join(scratch, "broken.conf");
  ownFile(broken, "wal_levle = replica\n", 0o644);
  const brokenData = join(scratch, "data-broken");
  await run(pgBin("initdb"), ["-D", brokenData, "-U", "postgres", "--auth=peer", "--no-sync"], { as: user });
  appendFileSync(join(brokenData, "postgresql.conf"), `\ninclude '${broken}'\n`);
  await assert.rejects(run(pgBin("postgres"), ["-C", "wal_level", "-D", brokenData], { as: user }), (e: unknown) => {
    assert.ok(e instanceof CommandFailed);
    assert.match(e.result.stderr, /unrecognized configuration parameter "wal_levle"/);
    return true;
  });
});

test("PostgreSQL starts with the rendered settings, pg_hba.conf and TLS, and both extensions load", async () => {
  const data = join(scratch, "data");
  const port = await freePort();
  // Only what must differ on this machine: a free loopback port, a scratch socket, no real archiving.
  const overrides = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${scratch} -c archive_command=/bin/true`;
  await run(pgBin("pg_ctl"), ["-D", data, "-l", join(scratch, "server.log"), "-o", overrides, "-w", "-t", "30", "start"], { as: user, timeoutMs: 60_000 });
  try {
    const psql = async (sql: string) =>
      (await run(pgBin("psql"), ["-h", scratch, "-p", String(port), "-U", "postgres", "-d", "postgres", "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql], { as: user })).stdout.trim();
    assert.equal(await psql("select count(*) from pg_hba_file_rules where error is not null"), "0");
    assert.ok(Number(await psql("select count(*) from pg_hba_file_rules where type = 'hostssl'")) > 0);
    assert.equal(await psql("show ssl"), "on");
    assert.equal(await psql("show data_checksums"), "on");
    await psql("create extension pg_stat_statements");
    await psql("create extension amcheck");
    assert.equal(await psql("select count(*) from pg_extension where extname in ('amcheck','pg_stat_statements')"), "2");
  } finally {
    await run(pgBin("pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"], { as: user, okCodes: [1] });
  }
});

/** Exit codes are asserted by each test, not by run(). */
const anyExitCode = Array.from({ length: 255 }, (_, i) => i + 1);

/** Runs `pgbackrest info` on a config file; pgBackRest parses and validates every option first. */
async function pgbackrestInfo(conf: string) {
  return run(
    "pgbackrest",
    [`--config=${conf}`, "--stanza=fp", "--log-level-console=warn", "--log-level-stderr=warn", "--log-level-file=off", `--lock-path=${scratch}`, "--io-timeout=3", "info", "--output=json"],
    { as: user, okCodes: anyExitCode, timeoutMs: 60_000 },
  );
}

test("pgBackRest accepts the rendered pgbackrest.conf: every option valid, both S3 repositories, encrypted", async () => {
  const spec = scratchSpec();
  const conf = join(scratch, "pgbackrest.conf");
  ownFile(conf, renderPgbackrestConf(spec), 0o640);
  const r = await pgbackrestInfo(conf);
  // Parsing succeeded: exit 0, no warning about the file; the repositories themselves are
  // unreachable from here (no AWS), which pgBackRest reports per repository, not as a config error.
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /WARN|ERROR/, r.stderr);
  const info = JSON.parse(r.stdout) as { name: string; cipher: string; repo: { key: number; cipher: string }[] }[];
  assert.equal(info[0].name, "fp");
  assert.equal(info[0].cipher, "aes-256-cbc");
  assert.deepEqual(info[0].repo.map((x) => [x.key, x.cipher]), [
    [1, "aes-256-cbc"],
    [2, "aes-256-cbc"],
  ]);
});

test("the pgBackRest check has teeth: an invalid value and an unknown option are both caught", async () => {
  const good = renderPgbackrestConf(scratchSpec());
  const badValue = join(scratch, "bad-value.conf");
  ownFile(badValue, good.replace("repo1-s3-key-type=auto", "repo1-s3-key-type=instance"), 0o640);
  const r1 = await pgbackrestInfo(badValue);
  assert.notEqual(r1.code, 0);
  assert.match(r1.stderr, /ERROR: \[032\]: 'instance' is not allowed for 'repo1-s3-key-type' option/);

  const unknown = join(scratch, "unknown.conf");
  ownFile(unknown, good.replace("expire-auto=n", "expire-auto=n\nrepo1-s3-bukket=x"), 0o640);
  const r2 = await pgbackrestInfo(unknown);
  assert.match(r2.stderr, /WARN: configuration file contains invalid option 'repo1-s3-bukket'/);
});

test("the shipped stack files' pgBackRest tuning and retention are accepted too", async () => {
  for (const name of ["primary", "secondary"]) {
    const cfg = parseStackConfig(rawFromStackFile(readFileSync(join(__dirname, "..", "..", `Pulumi.${name}.yaml`), "utf8")));
    const spec = scratchSpec({ pgbackrest: cfg.pgbackrest, repo1: { ...scratchSpec().repo1, retention: cfg.repository.retention } });
    const conf = join(scratch, `pgbackrest-${name}.conf`);
    ownFile(conf, renderPgbackrestConf(spec), 0o640);
    const r = await pgbackrestInfo(conf);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /WARN|ERROR/, `${name}: ${r.stderr}`);
  }
});

test("a drill's pgbackrest.conf is accepted too and names a single repository", async () => {
  const conf = join(scratch, "pgbackrest-drill.conf");
  ownFile(conf, renderPgbackrestConf(scratchSpec({ role: "drill", writer: false, repo2: undefined })), 0o640);
  const r = await pgbackrestInfo(conf);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /WARN|ERROR/);
  const info = JSON.parse(r.stdout) as { repo: { key: number }[] }[];
  assert.deepEqual(info[0].repo.map((x) => x.key), [1]);
});

test("systemd accepts the rendered units and every OnCalendar expression", async () => {
  const spec = scratchSpec();
  const dir = mkdtempSync(join(scratch, "units-"));
  const units = renderUnits(spec);
  assert.ok(units.length >= 10);
  for (const u of units) writeFileSync(join(dir, u.name), u.content);
  const r = await run("systemd-analyze", ["verify", ...units.map((u) => join(dir, u.name))], { okCodes: [1] });
  // The only complaints allowed: programs the bootstrap installs later (dr, our scripts).
  const installedLater = [hostPaths.event, hostPaths.isWriter, "/usr/local/bin/dr"];
  const problems = (r.stderr + r.stdout)
    .split("\n")
    .filter((l) => l.trim())
    .filter((l) => !installedLater.some((p) => l.includes(`Command ${p} is not executable`)));
  assert.deepEqual(problems, []);
  for (const u of units.filter((x) => x.name.endsWith(".timer"))) {
    const calendar = /^OnCalendar=(.*)$/m.exec(u.content)![1];
    await run("systemd-analyze", ["calendar", calendar]);
  }
});
