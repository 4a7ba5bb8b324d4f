// Proves what the host is told at boot, without booting one: archive_timeout follows the
// tightest RPO, WAL goes through pgBackRest to repo1 (this region) and repo2 (the other),
// checksums are chosen at initdb, the timers follow the shared schedules, the passphrase is
// in exactly one root-only file, the scripts are valid bash, the `dr` config is one the real
// dr schema accepts, and the whole user data fits EC2's limit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { gunzipSync } from "node:zlib";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../../test/harness/temp-dir";
import { parse } from "yaml";
import { objectives as objectivesSchema, pgbackrestTuning } from "../../automation/config/common";
import { drConfigSchema } from "../../automation/config/schema";
import { shellQuote } from "../../automation/core/shell-words";
import { sampleHostSpec } from "../testing/sample-host-spec";
import { cipherPassPlaceholder, hostPaths } from "./host-spec";
import { renderPgbackrestConf } from "./pgbackrest-conf";
import { archiveTimeoutSeconds, renderCreateclusterConf, renderPgHba, renderPostgresqlConf } from "./postgresql-conf";
import { dataDevicePath, renderBootstrap, renderEventScript, renderInstallPgbackrestConfScript, renderIsWriterScript } from "./scripts";
import { backupUnit, renderUnits } from "./systemd";
import { renderCloudConfig, renderDrConfig, renderFiles, renderUserDataBase64, userDataLimitBytes } from "./user-data";

/** "key = value" / "key=value" lines of a rendered file as a map (last one wins, like the parsers). */
function settings(text: string, sep: "=" | " = "): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#") || line.startsWith("[")) continue;
    const i = line.indexOf(sep.trim());
    out.set(line.slice(0, i).trim(), line.slice(i + 1).split("\t")[0].trim());
  }
  return out;
}

test("archive_timeout is half the smallest RPO, within [60 s, 1 h]", () => {
  // Runbook: accidental deletion has the tightest RPO, 15 minutes.
  assert.equal(archiveTimeoutSeconds(objectivesSchema.parse({})), 450);
  assert.equal(archiveTimeoutSeconds(objectivesSchema.parse({ deletion: { rto: "1h", rpo: "1m" } })), 60);
  const loose = Object.fromEntries(["corruption", "hardware", "datacenter", "security", "deletion"].map((n) => [n, { rto: "24h", rpo: "12h" }]));
  assert.equal(archiveTimeoutSeconds(objectivesSchema.parse(loose)), 3600);
});

test("postgresql.conf archives every WAL segment through pgBackRest on a writer", () => {
  const conf = settings(renderPostgresqlConf(sampleHostSpec()), " = ");
  assert.equal(conf.get("wal_level"), "replica");
  assert.equal(conf.get("archive_mode"), "on");
  assert.equal(conf.get("archive_command"), "'pgbackrest --stanza=fp archive-push %p'");
  assert.equal(conf.get("archive_timeout"), "450");
  assert.equal(conf.get("ssl"), "on");
  assert.equal(conf.get("password_encryption"), "'scram-sha-256'");
  assert.equal(conf.get("shared_preload_libraries"), "'pg_stat_statements'");
  assert.equal(conf.get("log_min_duration_statement"), "30000");
  assert.equal(conf.get("hba_file"), `'${hostPaths.pgHba}'`);
});

test("a drill host never archives into the production repositories", () => {
  const conf = settings(renderPostgresqlConf(sampleHostSpec({ role: "drill", writer: false, repo2: undefined })), " = ");
  assert.equal(conf.get("archive_mode"), "off");
  assert.doesNotMatch(conf.get("archive_command") ?? "", /pgbackrest/);
});

test("data checksums are chosen at initdb and our settings are included by every new cluster", () => {
  const cc = renderCreateclusterConf();
  assert.match(cc, /^initdb_options = '--data-checksums'$/m);
  assert.match(cc, new RegExp(`^add_include = '${hostPaths.postgresqlConf}'$`, "m"));
  assert.match(cc, /^create_main_cluster = false$/m);
});

test("pg_hba.conf admits only TLS + SCRAM over the network, from the listed ranges", () => {
  const hba = renderPgHba(sampleHostSpec({ clientCidrs: ["10.10.0.0/16"] }));
  const rules = hba.split("\n").filter((l) => l && !l.startsWith("#"));
  assert.ok(rules.length > 0);
  const network = rules.filter((r) => !r.startsWith("local"));
  assert.ok(network.length > 0);
  for (const r of network) {
    const columns = r.trim().split(/\s+/);
    assert.equal(columns[0], "hostssl", r);
    assert.equal(columns[columns.length - 1], "scram-sha-256", r);
    assert.doesNotMatch(r, /0\.0\.0\.0\/0|::\/0/);
  }
  assert.ok(!rules.some((r) => /\btrust\b/.test(r)), "no trust authentication anywhere");
  assert.ok(rules.some((r) => r.includes("fp_app") && r.includes("10.10.0.0/16")));
});

test("pgbackrest.conf: repo1 is this region's bucket, repo2 the other region's, both encrypted, no auto-expire", () => {
  const spec = sampleHostSpec();
  const conf = settings(renderPgbackrestConf(spec), "=");
  assert.equal(conf.get("repo1-s3-bucket"), spec.repo1.bucket);
  assert.equal(conf.get("repo1-s3-region"), "eu-central-1");
  assert.equal(conf.get("repo1-s3-endpoint"), "s3.eu-central-1.amazonaws.com");
  assert.equal(conf.get("repo2-s3-bucket"), spec.repo2!.bucket);
  assert.equal(conf.get("repo2-s3-region"), "eu-west-1");
  for (const n of [1, 2]) {
    assert.equal(conf.get(`repo${n}-type`), "s3");
    assert.equal(conf.get(`repo${n}-s3-key-type`), "auto");
    assert.equal(conf.get(`repo${n}-cipher-type`), "aes-256-cbc");
    assert.equal(conf.get(`repo${n}-cipher-pass`), cipherPassPlaceholder, "the bootstrap fills in the escrowed passphrase");
    assert.equal(conf.get(`repo${n}-retention-full`), "7");
  }
  assert.equal(conf.get("expire-auto"), "n");
  assert.equal(conf.get("archive-async"), "y");
  assert.equal(conf.get("pg1-path"), hostPaths.dataDir);
});

test("pgbackrest.conf bundles small files in both repositories, unless pgbackrest.repoBundle is off", () => {
  const on = settings(renderPgbackrestConf(sampleHostSpec()), "=");
  for (const n of [1, 2]) assert.equal(on.get(`repo${n}-bundle`), "y", `repo${n}`);
  const off = settings(renderPgbackrestConf(sampleHostSpec({ pgbackrest: pgbackrestTuning.parse({ repoBundle: false }) })), "=");
  assert.ok(![...off.keys()].some((k) => k.endsWith("-bundle")), [...off.keys()].join(" "));
});

test("a drill's pgbackrest.conf reads one repository and pushes nothing", () => {
  const conf = settings(renderPgbackrestConf(sampleHostSpec({ role: "drill", writer: false, repo2: undefined })), "=");
  assert.ok(conf.has("repo1-s3-bucket"));
  assert.ok(![...conf.keys()].some((k) => k.startsWith("repo2-")));
  assert.equal(conf.has("archive-async"), false);
});

test("the escrowed passphrase goes into pgbackrest.conf literally, owner-only; a multi-line one is refused (it would inject options)", () => {
  const dir = tempDir("fp-dr-install-conf-");
  const staged = join(dir, "pgbackrest.conf.staged");
  const target = join(dir, "pgbackrest.conf");
  const script = join(dir, "install");
  writeFileSync(script, renderInstallPgbackrestConfScript(), { mode: 0o700 });
  writeFileSync(staged, renderPgbackrestConf(sampleHostSpec()), { mode: 0o600 });
  const owner = spawnSync("id", ["-un"], { encoding: "utf8" }).stdout.trim();
  // Characters that sed, bash's pattern substitution (& in bash 5.2) or quoting would mangle.
  const pass = `a&b\\c/d'e"f$g*h?[i]&&`;
  const r = spawnSync(script, [staged, target, owner], { input: `${pass}\n`, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout + r.stderr, "", "the script prints nothing (no secret in the bootstrap log)");
  const conf = settings(readFileSync(target, "utf8"), "=");
  for (const n of [1, 2]) assert.equal(conf.get(`repo${n}-cipher-pass`), pass);
  assert.equal(statSync(target).mode & 0o777, 0o640);
  const twoLines = spawnSync(script, [staged, target, owner], { input: "abc\nrepo1-type=posix\n", encoding: "utf8" });
  assert.equal(twoLines.status, 1);
  assert.match(twoLines.stderr, /single line/);
  const none = spawnSync(script, [staged, target, owner], { input: "", encoding: "utf8" });
  assert.equal(none.status, 1);
  assert.match(none.stderr, /no repository passphrase/);
  // Unencrypted repositories: no placeholder, nothing read.
  writeFileSync(staged, renderPgbackrestConf(sampleHostSpec({ cipherPassSecret: undefined })));
  assert.equal(spawnSync(script, [staged, target, owner], { input: "", encoding: "utf8" }).status, 0);
  assert.ok(!readFileSync(target, "utf8").includes("cipher-pass"));
});

test("timers follow the shared schedules; backups and maintenance run only on the writer and publish their events", () => {
  const spec = sampleHostSpec();
  const units = new Map(renderUnits(spec).map((u) => [u.name, u.content]));
  const calendar = (id: string) => /OnCalendar=(.*)/.exec(units.get(`fp-dr-${id}.timer`) ?? "")?.[1];
  for (const repo of [1, 2]) {
    assert.equal(calendar(`backup-full-repo${repo}`), spec.schedules.fullBackup);
    assert.equal(calendar(`backup-incr-repo${repo}`), spec.schedules.incrementalBackup);
    assert.equal(calendar(`expire-repo${repo}`), spec.schedules.expire);
  }
  assert.equal(calendar("verify-repo1"), spec.schedules.verify);
  assert.equal(calendar("health"), spec.schedules.healthPublish);
  assert.equal(calendar("maintenance"), spec.maintenanceSchedule);
  assert.match(units.get("fp-dr-health.service")!, /^ExecStart=\/usr\/local\/bin\/dr health --publish --site primary$/m);
  // Each backup first records the manifest its restore is verified against; a failure there never stops the backup.
  for (const [id, kind] of [["backup-full-repo1", "full"], ["backup-incr-repo2", "incremental"]]) {
    const unit = units.get(`fp-dr-${id}.service`)!;
    assert.match(unit, new RegExp(`^ExecStartPre=-/usr/local/bin/dr backup manifest --reason "before the scheduled ${kind} backup"$`, "m"));
    assert.match(unit, /^Environment=FP_DR_CONFIG=\/etc\/fp-dr\/dr\.config\.yaml$/m);
    assert.ok(unit.indexOf("ExecCondition=") < unit.indexOf("ExecStartPre=") && unit.indexOf("ExecStartPre=") < unit.indexOf("ExecStart="), "writer check, then manifest, then backup");
  }
  for (const id of ["backup-full-repo1", "backup-full-repo2", "backup-incr-repo1", "backup-incr-repo2", "expire-repo1", "expire-repo2", "maintenance"]) {
    assert.match(units.get(`fp-dr-${id}.service`)!, new RegExp(`^ExecCondition=${hostPaths.isWriter}$`, "m"));
  }
  assert.doesNotMatch(units.get("fp-dr-verify-repo1.service")!, /ExecCondition=/, "the standby verifies its own region's repository too");
  assert.match(units.get("fp-dr-backup-full-repo2.service")!, /^ExecStartPost=\S+fp-dr-event BackupCompleted$/m);
  assert.match(units.get("fp-dr-maintenance.service")!, /^ExecStartPost=\S+fp-dr-event MaintenanceCompleted$/m);
});

test("every repository gets its own backups and expire; verify reads only this region's repository", () => {
  const execs = (spec: ReturnType<typeof sampleHostSpec>) =>
    renderUnits(spec)
      .flatMap((u) => u.content.split("\n"))
      .filter((l) => l.startsWith("ExecStart=") && l.includes("pgbackrest"))
      .map((l) => l.slice("ExecStart=".length))
      .sort();
  const lock = "/usr/bin/flock /run/lock/fp-dr-pgbackrest.lock /usr/bin/pgbackrest --stanza=fp";
  assert.deepEqual(execs(sampleHostSpec()), [
    `${lock} --repo=1 --type=full backup`,
    `${lock} --repo=1 --type=incr backup`,
    `${lock} --repo=1 expire`,
    `${lock} --repo=2 --type=full backup`,
    `${lock} --repo=2 --type=incr backup`,
    `${lock} --repo=2 expire`,
    "/usr/bin/pgbackrest --stanza=fp --repo=1 verify",
  ]);
  // No command line without --repo: pgBackRest would take repo1 alone and starve the offsite copy.
  for (const line of execs(sampleHostSpec())) assert.match(line, / --repo=[12] /);
  // The unit the failover's post-checks start exists under that name.
  const names = renderUnits(sampleHostSpec()).map((u) => u.name);
  for (const t of ["full", "incr"] as const) assert.ok(names.includes(backupUnit(t, 1)) && names.includes(backupUnit(t, 2)), backupUnit(t, 1));
  // A site with one repository has no repo2 jobs.
  assert.ok(!execs(sampleHostSpec({ repo2: undefined })).some((l) => l.includes("--repo=2")));
});

test("a drill host only publishes health: no backups, verification or maintenance", () => {
  const names = renderUnits(sampleHostSpec({ role: "drill", writer: false, repo2: undefined, site: "drill-x" })).map((u) => u.name);
  assert.deepEqual(names, ["fp-dr-health.service", "fp-dr-health.timer"]);
});

test("the scripts are valid bash and the event script only publishes catalogue events", () => {
  const spec = sampleHostSpec();
  for (const [name, text] of [
    ["bootstrap", renderBootstrap(spec)],
    ["bootstrap (secondary)", renderBootstrap(sampleHostSpec({ role: "secondary", site: "secondary" }))],
    ["event", renderEventScript(spec)],
    ["is-writer", renderIsWriterScript()],
  ]) {
    const r = spawnSync("bash", ["-n"], { input: text, encoding: "utf8" });
    assert.equal(r.status, 0, `${name}: ${r.stderr}`);
  }
  const event = renderEventScript(spec);
  assert.match(event, /--namespace FpDr /);
  assert.ok(event.includes(` --dimensions ${shellQuote("Environment=production,Site=primary")}\n`), event);
  const r = spawnSync("bash", ["-c", event.replace(/^exec aws[\s\S]*$/m, "echo ok"), "fp-dr-event", "DropTables"], { encoding: "utf8" });
  assert.equal(r.status, 2);
  const boot = renderBootstrap(spec);
  assert.ok(boot.includes(dataDevicePath("vol-0123456789abcdef0")));
  assert.ok(boot.includes("/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0"));
  assert.match(boot, /stanza-create/);
  assert.doesNotMatch(renderBootstrap(sampleHostSpec({ role: "secondary", site: "secondary" })), /stanza-create/);
});

test("the bootstrap installs the current Node.js LTS (24) for dr from NodeSource (Debian 12's is 18, 20 is past its end of life), refuses an older one, installs dr without the lab-only optional packages, and fetches the SSM agent for the instance's architecture", () => {
  const boot = renderBootstrap(sampleHostSpec());
  assert.match(boot, /^echo "deb \[signed-by=\/etc\/apt\/keyrings\/nodesource\.asc\] https:\/\/deb\.nodesource\.com\/node_24\.x nodistro main"/m);
  const install = boot.split("\n").find((l) => l.startsWith("apt-get install") && l.includes("postgresql-15"))!;
  assert.match(install, / nodejs /);
  assert.doesNotMatch(install, / npm\b/, "Debian's npm depends on Debian's nodejs 18");
  assert.ok(boot.indexOf("nodesource.list") < boot.indexOf(install), "the repository is added before nodejs is installed");
  assert.match(boot, /^npm install --global --omit=optional .*\/tmp\/fp-dr\.tgz$/m, "s3rver and dns2 are the lab's, never a host's");
  // The version guard, run for real: against a node that reports 20 (refused), and one that reports 24.
  const guard = boot.split("\n").filter((l) => l.startsWith("node_major=") || l.startsWith('[ "$node_major"')).join("\n");
  assert.equal(guard.split("\n").length, 2);
  const withNode = (major: number) => {
    const dir = tempDir(`fp-dr-node-${major}-`);
    writeFileSync(join(dir, "node"), `#!/bin/sh\necho ${major}\n`, { mode: 0o755 });
    return spawnSync("bash", ["-euo", "pipefail", "-c", guard], { env: { PATH: `${dir}:${process.env.PATH}` }, encoding: "utf8" });
  };
  const refused = withNode(20);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /node 20 installed, dr needs 24 or newer/);
  const accepted = withNode(24);
  assert.equal(accepted.status, 0, accepted.stderr);

  assert.match(boot, /\/latest\/debian_amd64\/amazon-ssm-agent\.deb/);
  assert.match(renderBootstrap(sampleHostSpec({ architecture: "arm64" })), /\/latest\/debian_arm64\/amazon-ssm-agent\.deb/);
});

test("the passphrase is in no file of the user data: the bootstrap reads it from its region's copy of the escrow", () => {
  const spec = sampleHostSpec({ site: "secondary", role: "secondary", region: "eu-west-1", cipherPassSecret: { name: "fp-dr/production/repository-cipher-pass", region: "eu-west-1" } });
  const files = renderFiles(spec);
  assert.deepEqual(files.filter((f) => f.content.includes(cipherPassPlaceholder) || f.content.includes(shellQuote(cipherPassPlaceholder))).map((f) => [f.path, f.permissions]), [
    [hostPaths.pgbackrestConfStaged, "0600"],
    [hostPaths.installPgbackrestConf, "0700"],
  ]);
  const boot = renderBootstrap(spec);
  assert.match(boot, /aws secretsmanager get-secret-value --region eu-west-1 --secret-id fp-dr\/production\/repository-cipher-pass --query SecretString --output text/);
  assert.match(boot, new RegExp(`\\| ${hostPaths.installPgbackrestConf} ${hostPaths.pgbackrestConfStaged} ${hostPaths.pgbackrestConf} postgres`));
  assert.doesNotMatch(boot, /echo "\$pass"|set -x/);
});

test("the cloud-config writes every file, runs the bootstrap, and fits EC2's user-data limit", () => {
  const spec = sampleHostSpec();
  const text = renderCloudConfig(spec);
  assert.ok(text.startsWith("#cloud-config\n"));
  const doc = parse(text) as { write_files: { path: string; content: string }[]; runcmd: string[][]; ssh_authorized_keys: string[] };
  const paths = doc.write_files.map((f) => f.path);
  assert.ok(paths.length >= 10);
  for (const f of renderFiles(spec)) assert.equal(doc.write_files.find((w) => w.path === f.path)?.content, f.content);
  assert.deepEqual(doc.runcmd, [[hostPaths.bootstrap]]);
  assert.deepEqual(doc.ssh_authorized_keys, [spec.sshPublicKey]);
  const raw = Buffer.from(renderUserDataBase64(spec), "base64");
  assert.ok(raw.length < userDataLimitBytes, `${raw.length} bytes`);
  assert.equal(gunzipSync(raw).toString("utf8"), text);
});

test("the dr config written to the host is accepted by the real dr config schema, with the same thresholds", () => {
  for (const spec of [sampleHostSpec(), sampleHostSpec({ role: "secondary", site: "secondary" }), sampleHostSpec({ role: "drill", site: "drill-x", writer: false, repo2: undefined })]) {
    const parsed = drConfigSchema.safeParse(parse(renderDrConfig(spec)));
    assert.ok(parsed.success, parsed.success ? "" : JSON.stringify(parsed.error.issues));
    assert.deepEqual(parsed.data.alerts, spec.alerts);
    assert.deepEqual(parsed.data.objectives, spec.objectives);
    assert.equal(parsed.data.sites[spec.site]?.role, spec.role);
    // This machine is the site's host: dr health and the manifest use its own cluster, never a lab.
    assert.deepEqual(parsed.data.host, { site: spec.site, socketDir: "/var/run/postgresql", port: 5432, user: "postgres", pgbackrestConfig: "/etc/pgbackrest/pgbackrest.conf", logFile: "/var/log/postgresql/postgresql-15-main.log" });
  }
});

test("serverSettings come after fp-dr's own settings, quoted as postgresql.conf wants; fp-dr's own cannot be overridden", () => {
  const conf = renderPostgresqlConf(sampleHostSpec({ settings: { work_mem: "64MB", max_connections: 300, jit: false } }));
  const lines = conf.trimEnd().split("\n");
  assert.deepEqual(lines.slice(-4), ["# serverSettings from the config:", "work_mem = '64MB'", "max_connections = 300", "jit = off"]);
  assert.equal(renderPostgresqlConf(sampleHostSpec()).includes("serverSettings"), false, "none configured, none rendered");
  const refused = drConfigSchema.safeParse({ serverSettings: { archive_command: "/bin/true", work_mem: "64MB" } });
  assert.equal(refused.success, false);
  assert.deepEqual(refused.error!.issues.map((i) => [i.path.join("."), i.message]), [["serverSettings.archive_command", "archive_command is set by fp-dr itself"]]);
});
