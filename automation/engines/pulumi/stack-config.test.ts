// The config the engine writes and reads, and how it is wired: every restore target maps onto
// infra's restore request, read-only at the target (pause) or a standby, and what the engine
// writes (restore and fence requests) passes infra's own schema; a drill stack's config leaves
// the secondary's DNS, paging, restore request and port forwards behind (it gets its own) and
// keeps secrets secret; values that Pulumi's --path would re-type are refused; the dr config's
// `pulumi:` section has documented defaults and environment overrides; the workspace refuses a
// project that refreshes on every update and a missing CLI.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../core/load-config";
import { DrError } from "../../core/errors";
import { storedConfigFromStackFile, testSecrets } from "./contract-fixtures";
import { assertNoAutoRefresh, openLocalWorkspace } from "./local-workspace";
import { pulumiJournalDir } from "../../core/state-dirs";
import { drillLocalPorts } from "../../../infra/config/ports";
import { parseStackConfig } from "../../../infra/config/load";
import type { RestoreTarget } from "../../pgbackrest/options";
import { requestEntries, requestForTarget, storedForm } from "../../../infra/config/requests";
import { configValue, connectionConfig, drillConfigEntries, siteNameInStack } from "./stack-config";
import type { ConfigEntries, StoredConfig } from "./stack-ops";
import { tempDir } from "../../../test/harness/temp-dir";

const isCode = (code: string) => (e: unknown) => e instanceof DrError && e.code === code;

test("restore targets: latest replays as a standby; time, lsn, name and immediate pause read-only at the target", () => {
  assert.deepEqual(requestForTarget({ kind: "latest" }), { mode: "standby" });
  assert.deepEqual(requestForTarget({ kind: "time", time: new Date("2025-09-01T03:59:30Z") }), { mode: "pause", targetTime: "2025-09-01T03:59:30.000Z" });
  assert.deepEqual(requestForTarget({ kind: "lsn", lsn: "0/5000060" }), { mode: "pause", targetLsn: "0/5000060" });
  assert.deepEqual(requestForTarget({ kind: "name", name: "before-migration" }), { mode: "pause", targetName: "before-migration" });
  assert.deepEqual(requestForTarget({ kind: "immediate" }), { mode: "pause" });
  assert.deepEqual(requestEntries("restore", { requestId: "r-1", set: "20250830-010000F", mode: "promote", repo: 2, allowOverwrite: false }), {
    "fp-dr:restore.requestId": { value: "r-1" },
    "fp-dr:restore.mode": { value: "promote" },
    "fp-dr:restore.repo": { value: "2" },
    "fp-dr:restore.allowOverwrite": { value: "false" },
    "fp-dr:restore.set": { value: "20250830-010000F" },
  });
  assert.deepEqual(requestEntries("restore", { requestId: "r-2", ...requestForTarget({ kind: "name", name: "fp-dr-drill-x" }), repo: 1, allowOverwrite: true }), {
    "fp-dr:restore.requestId": { value: "r-2" },
    "fp-dr:restore.mode": { value: "pause" },
    "fp-dr:restore.repo": { value: "1" },
    "fp-dr:restore.allowOverwrite": { value: "true" },
    "fp-dr:restore.targetName": { value: "fp-dr-drill-x" },
  });
  assert.deepEqual(requestEntries("restore", { requestId: "r-3", ...requestForTarget({ kind: "lsn", lsn: "0/5000060" }), repo: 1, allowOverwrite: false })["fp-dr:restore.targetLsn"], { value: "0/5000060" });
});

test("what the engine writes is what infra's stack config accepts: every restore target, and both fence modes", () => {
  const primary = storedConfigFromStackFile("Pulumi.primary.yaml");
  const targets: RestoreTarget[] = [{ kind: "latest" }, { kind: "time", time: new Date("2025-09-01T03:59:30Z") }, { kind: "lsn", lsn: "0/5000060" }, { kind: "name", name: "fp-dr-drill-20250901t040000z-ab12" }];
  for (const target of targets) {
    const entries = requestEntries("restore", { requestId: "restore-20250901t120000z-0001", set: target.kind === "latest" ? undefined : "20250830-010000F", ...requestForTarget(target), repo: 1, allowOverwrite: true, timeout: 14400 });
    const c = parseStackConfig(rawWithEntries(primary, entries));
    assert.equal(c.restore?.mode, target.kind === "latest" ? "standby" : "pause", target.kind);
  }
  for (const mode of ["isolate", "stop"] as const) {
    const c = parseStackConfig(rawWithEntries(primary, requestEntries("fence", { requestId: "fence-20250901t120000z-0001", mode })));
    assert.deepEqual(c.fence, { mode, requestId: "fence-20250901t120000z-0001" });
  }
});

/** A stored config plus path entries, as infra's program would read it (test secrets as secrets). */
function rawWithEntries(stored: StoredConfig, entries: ConfigEntries) {
  const values: Record<string, unknown> = {};
  const secret = new Set<string>();
  for (const [k, v] of Object.entries(stored)) {
    if (k === "aws:region") values.region = v.value;
    else if (k.startsWith("fp-dr:")) {
      values[k.slice(6)] = v.secret ? v.value : configValue(stored, k);
      if (v.secret) secret.add(k.slice(6));
    }
  }
  // As Pulumi keeps --path entries, over what the stack had under the same key.
  for (const [k, v] of Object.entries(storedForm(entries))) values[k] = { ...(values[k] as object | undefined), ...(v as object) };
  // A restore request needs the host reachable (it is, once the engine restores).
  (values.access as Record<string, unknown>).hostReachable = true;
  return { values, secret };
}

test("a drill's config: the template's minus DNS, paging, restore and offsite; secrets stay secret; overrides win", () => {
  const template = storedConfigFromStackFile("Pulumi.secondary.yaml");
  const e = drillConfigEntries(template, { id: "20250901t040000z", expiresAt: "2025-09-02T00:00:00.000Z" });
  const keys = Object.keys(e);
  for (const dropped of ["dns", "restore", "incidentManager", "alerting", "offsite"]) {
    assert.ok(!keys.some((k) => k.startsWith(`fp-dr:${dropped}`)), `${dropped} copied`);
  }
  assert.ok(!keys.some((k) => k.startsWith("fp-dr:network.application")), "the application's peering copied");
  assert.deepEqual(e["fp-dr:repoCipherPass"], { value: testSecrets.repoCipherPass, secret: true });
  assert.deepEqual(e["fp-dr:role"], { value: "drill" });
  assert.deepEqual(e["fp-dr:access.hostReachable"], { value: "false" });
  assert.deepEqual(e["fp-dr:host.dataVolumeGiB"], { value: "500" });
  assert.deepEqual(e["pulumi:disable-default-providers[1]"], { value: "postgresql" });
  // Its own port forwards, derived from the id, not the template's.
  const ports = drillLocalPorts("20250901t040000z");
  assert.deepEqual([e["fp-dr:access.ssh.localPort"], e["fp-dr:access.postgres.localPort"]], [{ value: String(ports.ssh) }, { value: String(ports.postgres) }]);
  const withPorts = { ...template, "fp-dr:access": { value: "{}", objectValue: { via: "ssm", ssh: { user: "admin", localPort: 2222 }, postgres: { localPort: 15432 } } } };
  const e2 = drillConfigEntries(withPorts, { id: "20250901t040000z", expiresAt: "2025-09-02T00:00:00.000Z" });
  assert.deepEqual([e2["fp-dr:access.ssh.localPort"], e2["fp-dr:access.postgres.localPort"], e2["fp-dr:access.ssh.user"]], [{ value: String(ports.ssh) }, { value: String(ports.postgres) }, { value: "admin" }]);
  // Not one secret in plain text.
  for (const [k, v] of Object.entries(e)) if (Object.values(testSecrets).includes(v.value)) assert.equal(v.secret, true, k);
});

test("values Pulumi's --path would re-type are refused rather than copied wrong", () => {
  const template = {
    "aws:region": { value: "eu-west-1" },
    "fp-dr:role": { value: "secondary" },
    "fp-dr:host": { value: "{}", objectValue: { toolkitUrl: "s3://b/x.tgz", note: "12345" } },
  };
  assert.throws(() => drillConfigEntries(template, { id: "x", expiresAt: "2025-09-02T00:00:00Z" }), (e: unknown) => isCode("CONFIG_INVALID")(e) && /fp-dr:host\.note/.test((e as Error).message));
  const quoted = drillConfigEntries({ "fp-dr:tags": { value: "{}", objectValue: { "cost center": "dr" } } }, { id: "x", expiresAt: "2025-09-02T00:00:00Z" });
  assert.deepEqual(quoted['fp-dr:tags["cost center"]'], { value: "dr" });
});

test("what the engine reads back: the site's name in the stack and how to connect", () => {
  const secondary = storedConfigFromStackFile("Pulumi.secondary.yaml");
  assert.equal(siteNameInStack(secondary), "secondary");
  assert.equal(siteNameInStack({ "fp-dr:role": { value: "drill" }, "fp-dr:drill": { value: "{}", objectValue: { id: "abc" } } }), "drill-abc");
  assert.throws(() => siteNameInStack({}), isCode("CONFIG_INVALID"));
  // A drill's forwards: derived from its id unless written down (the engine writes them).
  const drill = connectionConfig({ "fp-dr:role": { value: "drill" }, "fp-dr:drill": { value: "{}", objectValue: { id: "20250901t040000z" } } });
  assert.deepEqual([drill.sshLocalPort, drill.postgresLocalPort], [drillLocalPorts("20250901t040000z").ssh, drillLocalPorts("20250901t040000z").postgres]);
  const c = connectionConfig(storedConfigFromStackFile("Pulumi.primary.yaml"));
  assert.deepEqual(c, {
    database: "financial_planning",
    sshLocalPort: 2222,
    postgresLocalPort: 15432,
    via: "ssm",
    sslmode: "require",
    adminUser: "fp_admin",
    adminPassword: testSecrets.adminPassword,
    appUser: "fp_app",
    appPassword: testSecrets.appPassword,
  });
});

test("the dr config's pulumi section: defaults, and FP_DR_PULUMI_* overrides", () => {
  const dir = tempDir("fp-dr-pulumi-config-");
  const plain = loadConfig({ cwd: dir, env: {} }).config.pulumi;
  assert.deepEqual(plain, { command: "pulumi", stacks: { primary: "primary", secondary: "secondary" }, drillStackPrefix: "drill-", drillExpiry: 43200, dnsTimeout: 600, restoreTimeout: 14400,
    repositories: { enabled: true, cipherPassEnv: "FP_DR_REPO_CIPHER_PASS", ioTimeout: 20, repo1: { uriStyle: "host", verifyTls: true }, repo2: { uriStyle: "host", verifyTls: true } },
  });
  const env = {
    FP_DR_PULUMI_BACKEND_URL: "s3://fp-dr-pulumi-state?region=eu-west-1",
    FP_DR_PULUMI_SECRETS_PROVIDER: "awskms://alias/fp-dr-pulumi?region=eu-west-1",
    FP_DR_PULUMI_WORK_DIR: "/srv/fp-dr",
    FP_DR_PULUMI_JOURNAL_DIR: "/var/lib/fp-dr/journal",
  };
  const p = loadConfig({ cwd: dir, env }).config;
  assert.equal(p.pulumi.backendUrl, env.FP_DR_PULUMI_BACKEND_URL);
  assert.equal(p.pulumi.secretsProvider, env.FP_DR_PULUMI_SECRETS_PROVIDER);
  assert.equal(p.pulumi.workDir, "/srv/fp-dr");
  assert.equal(pulumiJournalDir(p), "/var/lib/fp-dr/journal");
  assert.throws(() => loadConfig({ cwd: dir, env: { FP_DR_PULUMI_BACKEND_URL: "fp-dr-pulumi-state" } }), isCode("CONFIG_INVALID"));
});

test("the workspace refuses a project that refreshes on every update, and a CLI that is not there", async () => {
  const dir = tempDir("fp-dr-pulumi-project-");
  writeFileSync(join(dir, "Pulumi.yaml"), "name: fp-dr\nruntime: nodejs\noptions:\n  refresh: always\n");
  assert.throws(() => assertNoAutoRefresh(dir), isCode("CONFIG_INVALID"));
  writeFileSync(join(dir, "Pulumi.yaml"), "name: fp-dr\nruntime: nodejs\n");
  assert.doesNotThrow(() => assertNoAutoRefresh(dir));
  await assert.rejects(openLocalWorkspace({ workDir: dir, command: join(dir, "no-such-install", "bin", "pulumi") }), isCode("DEPENDENCY_MISSING"));
});
