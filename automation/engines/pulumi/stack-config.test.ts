// The config the engine writes and reads, and how it is wired: restore targets map onto what
// infra's restore request can express (and lsn/name targets are refused, not approximated);
// a drill stack's config leaves the secondary's DNS, paging and restore request behind and
// keeps secrets secret; values that Pulumi's --path would re-type are refused; the dr config's
// `pulumi:` section has documented defaults and environment overrides; the workspace refuses a
// project that refreshes on every update and a missing CLI.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../config/load";
import { DrError } from "../../core/errors";
import { storedConfigFromStackFile, testSecrets } from "./contract-fixtures";
import { assertNoAutoRefresh, openLocalWorkspace } from "./local-workspace";
import { pulumiJournalDir } from "./open";
import { connectionConfig, drillConfigEntries, restoreModeFor, restoreRequestEntries, siteNameInStack } from "./stack-config";

const isCode = (code: string) => (e: unknown) => e instanceof DrError && e.code === code;

test("restore targets: latest replays as a standby, time and immediate promote, lsn and name are refused", () => {
  assert.deepEqual(restoreModeFor({ kind: "latest" }), { mode: "standby" });
  assert.deepEqual(restoreModeFor({ kind: "time", time: new Date("2025-09-01T03:59:30Z") }), { mode: "promote", targetTime: "2025-09-01T03:59:30.000Z" });
  assert.deepEqual(restoreModeFor({ kind: "immediate" }), { mode: "promote" });
  assert.throws(() => restoreModeFor({ kind: "lsn", lsn: "0/5000060" }), isCode("TARGET_INVALID"));
  assert.throws(() => restoreModeFor({ kind: "name", name: "before-migration" }), isCode("TARGET_INVALID"));
  assert.deepEqual(restoreRequestEntries({ requestId: "r-1", set: "20250830-010000F", mode: "promote", repo: 2, allowOverwrite: false }), {
    "fp-dr:restore.requestId": { value: "r-1" },
    "fp-dr:restore.mode": { value: "promote" },
    "fp-dr:restore.repo": { value: "2" },
    "fp-dr:restore.allowOverwrite": { value: "false" },
    "fp-dr:restore.set": { value: "20250830-010000F" },
  });
});

test("a drill's config: the template's minus DNS, paging, restore and offsite; secrets stay secret; overrides win", () => {
  const template = storedConfigFromStackFile("Pulumi.secondary.yaml", ["adminPassword"]);
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
  const secondary = storedConfigFromStackFile("Pulumi.secondary.yaml", ["adminPassword"]);
  assert.equal(siteNameInStack(secondary), "secondary");
  assert.equal(siteNameInStack({ "fp-dr:role": { value: "drill" }, "fp-dr:drill": { value: "{}", objectValue: { id: "abc" } } }), "drill-abc");
  assert.throws(() => siteNameInStack({}), isCode("CONFIG_INVALID"));
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
  const dir = mkdtempSync(join(tmpdir(), "fp-dr-pulumi-config-"));
  const plain = loadConfig({ cwd: dir, env: {} }).config.pulumi;
  assert.deepEqual(plain, { command: "pulumi", stacks: { primary: "primary", secondary: "secondary" }, drillStackPrefix: "drill-", drillExpiry: 43200, dnsTimeout: 600, restoreTimeout: 14400 });
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
  const dir = mkdtempSync(join(tmpdir(), "fp-dr-pulumi-project-"));
  writeFileSync(join(dir, "Pulumi.yaml"), "name: fp-dr\nruntime: nodejs\noptions:\n  refresh: always\n");
  assert.throws(() => assertNoAutoRefresh(dir), isCode("CONFIG_INVALID"));
  writeFileSync(join(dir, "Pulumi.yaml"), "name: fp-dr\nruntime: nodejs\n");
  assert.doesNotThrow(() => assertNoAutoRefresh(dir));
  await assert.rejects(openLocalWorkspace({ workDir: dir, command: join(dir, "no-such-install", "bin", "pulumi") }), isCode("DEPENDENCY_MISSING"));
});
