// Proves: the embedded default is the lab with the runbook's objectives; an invalid config is
// reported whole, every problem with its field path; YAML errors and missing files are clear.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test, { after } from "node:test";
import { DrError } from "./errors";
import { loadConfig, parseConfig } from "./load-config";

const dir = mkdtempSync(join(tmpdir(), "fp-dr-config-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("no file: the embedded lab default with the runbook's RTO/RPO table", () => {
  const { config, source } = loadConfig({ cwd: dir, env: {} });
  assert.equal(source, undefined);
  assert.equal(config.engine, "local");
  assert.equal(config.objectives.datacenter.rto, 8 * 3600);
  assert.equal(config.objectives.deletion.rpo, 15 * 60);
  assert.equal(config.objectives.hardware.rpo, 30 * 60);
  assert.equal(config.alerts.diskUsagePercent, 90);
  assert.equal(config.alerts.connectionUtilisationPercent, 80);
  assert.equal(config.alerts.replicationLag, 3600);
  assert.equal(config.standby.enabled, true, "the secondary is a warm standby unless turned off");
});

test("FP_DR_STANDBY turns the standby off or on; a value other than true/false is blamed on the variable", () => {
  assert.equal(loadConfig({ cwd: dir, env: { FP_DR_STANDBY: "false" } }).config.standby.enabled, false);
  assert.equal(loadConfig({ cwd: dir, env: { FP_DR_STANDBY: "true" } }).config.standby.enabled, true);
  assert.throws(
    () => loadConfig({ cwd: dir, env: { FP_DR_STANDBY: "off" } }),
    (e: DrError) => ((e.details?.problems ?? []) as string[]).some((p) => /^standby\.enabled: .*\(set by FP_DR_STANDBY\)$/.test(p)),
  );
});

test("a file overrides defaults; durations are parsed; environment overrides the file", () => {
  const f = join(dir, "ok.yaml");
  writeFileSync(f, "environment: staging\nobjectives:\n  datacenter: { rto: 30m, rpo: 90s }\nlab:\n  scale: 2\n");
  const { config } = loadConfig({ path: f, env: { FP_DR_LAB_SCALE: "3" } });
  assert.equal(config.environment, "staging");
  assert.equal(config.objectives.datacenter.rto, 1800);
  assert.equal(config.objectives.datacenter.rpo, 90);
  assert.equal(config.objectives.corruption.rto, 4 * 3600, "unspecified scenarios keep the runbook default");
  assert.equal(config.lab.scale, 3);
});

test("an invalid config lists every problem with its field path", () => {
  const f = join(dir, "bad.yaml");
  writeFileSync(
    f,
    ["engine: kubernetes", "objectives:", "  datacenter: { rto: soon, rpo: 1h }", "alerts:", "  diskUsagePercent: 150", "lab:", "  addresses: { primary: not-an-ip }", "sites:", "  a: { role: secondary }", "bogus: 1"].join("\n"),
  );
  let err: unknown;
  try {
    loadConfig({ path: f, env: {} });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof DrError);
  assert.equal(err.code, "CONFIG_INVALID");
  const problems = (err.details?.problems ?? []) as string[];
  for (const path of ["engine", "objectives.datacenter.rto", "alerts.diskUsagePercent", "lab.addresses.primary", "sites", "(root)"]) {
    assert.ok(problems.some((p) => p.startsWith(`${path}:`)), `expected a problem at ${path}, got:\n${problems.join("\n")}`);
  }
  assert.ok(problems.length >= 6);
  assert.match(err.hint ?? "", /fix each field/);
});

test("broken YAML names the line; a missing explicit file is an error, not the default", () => {
  const f = join(dir, "broken.yaml");
  writeFileSync(f, "lab:\n  scale: [1,\n");
  assert.throws(() => loadConfig({ path: f, env: {} }), (e: unknown) => e instanceof DrError && e.code === "CONFIG_INVALID" && /line \d+/.test(e.message));
  assert.throws(() => loadConfig({ path: join(dir, "nope.yaml"), env: {} }), (e: unknown) => e instanceof DrError && /not found/.test(e.message));
});

test("parseConfig rejects two primaries", () => {
  assert.throws(() => parseConfig({ sites: { a: { role: "primary" }, b: { role: "primary" } } }), /exactly one site must have role primary/);
});

test("a host section must name a configured site, and says where", () => {
  assert.throws(
    () => parseConfig({ host: { site: "nowhere" } }),
    (e: unknown) => e instanceof DrError && ((e.details?.problems ?? []) as string[]).some((p) => /^host\.site: not a configured site: nowhere \(sites: primary, secondary\)/.test(p)),
  );
  assert.equal(parseConfig({ host: { site: "secondary" } }).host?.socketDir, "/var/run/postgresql");
});

test("--config '' is an error, not the lab default; an empty FP_DR_CONFIG counts as unset", () => {
  assert.throws(() => loadConfig({ path: "", cwd: dir, env: {} }), (e: unknown) => e instanceof DrError && e.code === "CONFIG_INVALID" && /empty file name/.test(e.message));
  assert.equal(loadConfig({ cwd: dir, env: { FP_DR_CONFIG: "" } }).source, undefined);
});

test("a bad value from the environment names the variable, not only the field", () => {
  assert.throws(
    () => loadConfig({ cwd: dir, env: { FP_DR_ENGINE: "bogus" } }),
    (e: unknown) =>
      e instanceof DrError &&
      /^embedded default configuration with FP_DR_ENGINE from the environment is invalid/.test(e.message) &&
      ((e.details?.problems ?? []) as string[]).some((p) => /^engine: .*\(set by FP_DR_ENGINE\)$/.test(p)),
  );
});

test("an objective of zero is refused", () => {
  for (const o of [{ rto: 0, rpo: "1h" }, { rto: "1h", rpo: "0s" }]) {
    assert.throws(
      () => parseConfig({ objectives: { datacenter: o } }),
      (e: unknown) => e instanceof DrError && ((e.details?.problems ?? []) as string[]).some((p) => /^objectives\.datacenter\.(rto|rpo): must be longer than zero/.test(p)),
    );
  }
});

test("an invariant's incremental form must take the transaction it starts from as $1", () => {
  const inv = (since: string) => ({ verification: { invariants: [{ name: "sums", sql: "select 0", since: { sql: since } }] } });
  assert.throws(
    () => parseConfig(inv("select count(*) from app.audit_log where xid >= $10")),
    (e: unknown) => e instanceof DrError && ((e.details?.problems ?? []) as string[]).some((p) => /^verification\.invariants\.0\.since\.sql: must use \$1/.test(p)),
  );
  const ok = parseConfig(inv("select count(*) from app.audit_log where xid >= $1::bigint"));
  assert.match(ok.verification.invariants[0].since?.sql ?? "", /\$1::bigint/);
});
