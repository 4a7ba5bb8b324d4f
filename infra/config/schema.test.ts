// Proves the stack config contract: the shipped stack files are valid; omitted keys take the
// runbook's values from the shared config pieces; a bad stack file fails with every problem,
// each named by the key an operator writes in Pulumi.<stack>.yaml, and without echoing a
// secret; role rules (who owns DNS, what a drill needs, which secrets a setting implies) are
// enforced even when other keys are broken; Pulumi's flat config map decodes like the file.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { alertThresholds, runbookObjectives, parseDuration } from "../../automation/config/common";
import { DrError } from "../../automation/core/errors";
import { parseStackConfig, rawFromConfigMap, rawFromStackFile } from "./load";

const root = join(__dirname, "..", "..");
const stackFile = (name: string) => readFileSync(join(root, `Pulumi.${name}.yaml`), "utf8");

/** Parses a stack file and returns its problems ([] when valid). */
function problemsOf(yaml: string): string[] {
  try {
    parseStackConfig(rawFromStackFile(yaml), "test stack");
    return [];
  } catch (e) {
    assert.ok(e instanceof DrError, String(e));
    assert.equal(e.code, "CONFIG_INVALID");
    return (e.details?.problems as string[]) ?? [];
  }
}

/** A minimal valid primary stack file, to break one thing at a time. */
const minimalPrimary = `
config:
  aws:region: eu-central-1
  fp-dr:role: primary
  fp-dr:offsite:
    region: eu-west-1
  fp-dr:host:
    toolkitUrl: s3://artifacts/fp-dr-0.1.0.tgz
  fp-dr:alerting:
    subscriptions:
      critical: [{ protocol: email, endpoint: oncall@example.com }]
  fp-dr:databaseObjects:
    manageObjects: false
  fp-dr:repoCipherPass:
    secure: v1:placeholder-ciphertext-0123456789
`;

test("the shipped Pulumi.primary.yaml and Pulumi.secondary.yaml are valid", () => {
  assert.deepEqual(problemsOf(stackFile("primary")), []);
  assert.deepEqual(problemsOf(stackFile("secondary")), []);
  const primary = parseStackConfig(rawFromStackFile(stackFile("primary")));
  const secondary = parseStackConfig(rawFromStackFile(stackFile("secondary")));
  assert.equal(primary.role, "primary");
  assert.equal(secondary.role, "secondary");
  // Two regions, each the other's offsite.
  assert.equal(primary.offsite?.region, secondary.region);
  assert.equal(secondary.offsite?.region, primary.region);
  assert.notEqual(primary.region, secondary.region);
});

test("the shipped stack files hold secrets only as Pulumi secure values", () => {
  for (const name of ["primary", "secondary"]) {
    const raw = rawFromStackFile(stackFile(name));
    for (const key of ["repoCipherPass", "adminPassword", "appPassword", "backupPassword", "verifierPassword", "sshPrivateKey"]) {
      if (key in raw.values) assert.ok(raw.secret.has(key), `${name}: fp-dr:${key} is not secure`);
    }
    assert.ok(raw.secret.size > 0);
  }
});

test("omitted keys take the runbook's numbers from the shared config pieces", () => {
  const c = parseStackConfig(rawFromStackFile(minimalPrimary));
  assert.deepEqual(c.alerts, alertThresholds.parse({}));
  assert.equal(c.alerts.diskUsagePercent, 90);
  assert.equal(c.alerts.replicationLag, 3600);
  assert.equal(c.alerts.connectionUtilisationPercent, 80);
  for (const [name, o] of Object.entries(runbookObjectives)) {
    const got = c.objectives[name as keyof typeof runbookObjectives];
    assert.equal(got.rto, parseDuration(o.rto));
    assert.equal(got.rpo, parseDuration(o.rpo));
  }
  assert.equal(c.schedules.incrementalBackup, "*-*-* 00/6:30:00");
  assert.equal(c.escalation.stages.length, 4);
  assert.equal(c.repository.retention.days, 35);
  assert.equal(c.environment, "production");
});

test("a bad stack file fails with every problem, each with its key path, and no secret value", () => {
  const bad = `
config:
  aws:region: europe
  fp-dr:role: primary
  fp-dr:environment: Production!
  fp-dr:bogus: 1
  fp-dr:network:
    vpcCidr: 10.20.0.0/33
    application:
      cidrs: [10.10.0.0/16, 0.0.0.0/0]
  fp-dr:host:
    instanceTyp: r6i.large
    dataVolumeGiB: 5
  fp-dr:alerts:
    diskUsagePercent: 150
  fp-dr:objectives:
    deletion: { rto: 1h, rpo: soon }
  fp-dr:repository:
    objectLockMode: FOREVER
  fp-dr:dns:
    zoneId: Z0123456789ABCDEFGHIJ
    primary: { address: 10.20.0.10 }
  fp-dr:alerting:
    subscriptions:
      critical: [{ protocol: email, endpoint: oncall@example.com }]
  fp-dr:databaseObjects:
    manageObjects: false
  fp-dr:repoCipherPass: hunter2-hunter2-hunter2-plaintext
`;
  const problems = problemsOf(bad);
  const expected: [string, RegExp][] = [
    ["fp-dr:repoCipherPass (secret)", /must be a secret/],
    ["aws:region", /AWS region/],
    ["fp-dr:environment", /lowercase/],
    ["fp-dr:network.vpcCidr", /not an IPv4 CIDR/],
    ["fp-dr:network.application.cidrs.1", /never be reachable from the world/],
    ["fp-dr:host.instanceTyp", /unknown key/],
    ["fp-dr:host.dataVolumeGiB", /20/],
    ["fp-dr:host.toolkitUrl", /./],
    ["fp-dr:alerts.diskUsagePercent", /100/],
    ["fp-dr:objectives.deletion.rpo", /not a duration/],
    ["fp-dr:repository.objectLockMode", /GOVERNANCE|COMPLIANCE/],
    ["fp-dr:bogus", /unknown key/],
    ["fp-dr:offsite", /required for the primary role/],
    ["fp-dr:dns", /owned by the secondary stack/],
  ];
  for (const [key, message] of expected) {
    const line = problems.find((p) => p.startsWith(`${key}: `));
    assert.ok(line, `no problem reported for ${key}; got:\n${problems.join("\n")}`);
    assert.match(line, message, line);
  }
  assert.equal(problems.length, expected.length, `unexpected extra problems:\n${problems.join("\n")}`);
  assert.ok(!problems.join("\n").includes("hunter2"), "a secret's value leaked into the error");

  // The thrown message itself lists them all, one per line (through the secret redaction).
  assert.throws(
    () => parseStackConfig(rawFromStackFile(bad), "Pulumi.primary.yaml"),
    (e: unknown) => e instanceof DrError && e.message.startsWith(`Pulumi.primary.yaml is invalid (${expected.length} problems):`) && expected.every(([k]) => e.message.includes(`\n  ${k}: `)),
  );
});

test("role rules: the secondary owns DNS and needs the primary's address; a drill needs its id and a restore", () => {
  const secondary = minimalPrimary.replace("fp-dr:role: primary", "fp-dr:role: secondary").replace("region: eu-west-1", "region: eu-west-2");
  assert.deepEqual(problemsOf(secondary), ["fp-dr:dns: required for the secondary role: it owns the failover records"]);
  const both = `${secondary}  fp-dr:dns:\n    zoneId: Z0123456789ABCDEFGHIJ\n    primary: { stack: acme/fp-dr/primary, address: 10.20.0.10 }\n`;
  assert.deepEqual(problemsOf(both), ["fp-dr:dns.primary: give exactly one of stack (the primary's Pulumi stack) or address"]);

  const drill = minimalPrimary.replace("fp-dr:role: primary", "fp-dr:role: drill");
  const problems = problemsOf(drill);
  assert.ok(problems.some((p) => p.startsWith("fp-dr:drill: required for the drill role")), problems.join("\n"));
  assert.ok(problems.some((p) => p.startsWith("fp-dr:restore: a drill restores a backup")), problems.join("\n"));
});

test("settings imply secrets and blocks: hostReachable needs the SSH key, managed objects need passwords, bastion needs a bastion", () => {
  const yaml = minimalPrimary.replace("    manageObjects: false\n", "    manageObjects: true\n") + "  fp-dr:access:\n    via: bastion\n    hostReachable: true\n";
  const problems = problemsOf(yaml);
  for (const key of [
    "fp-dr:adminPassword (secret)",
    "fp-dr:appPassword (secret)",
    "fp-dr:backupPassword (secret)",
    "fp-dr:verifierPassword (secret)",
    "fp-dr:sshPrivateKey (secret)",
    "fp-dr:access.ssh.publicKey",
    "fp-dr:access.bastion",
  ]) {
    assert.ok(problems.some((p) => p.startsWith(`${key}: `)), `${key} missing from:\n${problems.join("\n")}`);
  }
  // The message an operator reads goes through secret redaction; the key names survive it.
  assert.throws(
    () => parseStackConfig(rawFromStackFile(yaml)),
    (e: unknown) => e instanceof DrError && e.message.includes("\n  fp-dr:adminPassword (secret): required while the stack manages database objects"),
  );
  const noCipher = minimalPrimary.replace(/ {2}fp-dr:repoCipherPass:\n.*\n/, "");
  assert.deepEqual(problemsOf(noCipher), ["fp-dr:repoCipherPass (secret): required while repository.cipher is on: pulumi config set --secret fp-dr:repoCipherPass <passphrase>"]);
});

test("restore requests: a set or a time (or standby), and only over a reachable host", () => {
  const base = minimalPrimary + "  fp-dr:restore:\n    requestId: incident-42\n";
  const problems = problemsOf(base);
  assert.ok(problems.includes("fp-dr:restore: give set (a backup label) or targetTime, or mode: standby"), problems.join("\n"));
  assert.ok(problems.some((p) => p.startsWith("fp-dr:restore: a restore runs on the host")), problems.join("\n"));
  const badTime = minimalPrimary + "  fp-dr:restore:\n    requestId: incident-42\n    targetTime: yesterday\n    set: 2025-08-30\n";
  const p2 = problemsOf(badTime);
  assert.ok(p2.some((p) => p.startsWith("fp-dr:restore.targetTime: ")), p2.join("\n"));
  assert.ok(p2.some((p) => p.startsWith("fp-dr:restore.set: ")), p2.join("\n"));
});

test("Incident Manager: every escalation stage names a defined contact", () => {
  const yaml =
    minimalPrimary +
    `  fp-dr:incidentManager:
    enabled: true
    contacts:
      on-call DBA: { alias: oncall, channels: [{ type: EMAIL, address: oncall@example.com }] }
`;
  const problems = problemsOf(yaml);
  assert.deepEqual(problems, [
    'fp-dr:escalation.stages.1.contact: "senior DBA + dev lead" is not defined in incidentManager.contacts',
    'fp-dr:escalation.stages.2.contact: "IT director + business lead" is not defined in incidentManager.contacts',
    'fp-dr:escalation.stages.3.contact: "executive team" is not defined in incidentManager.contacts',
  ]);
});

test("the application network must not overlap the site's", () => {
  const yaml = minimalPrimary + "  fp-dr:network:\n    vpcCidr: 10.20.0.0/16\n    application:\n      peering: { vpcId: vpc-0a1b2c3d4e5f60718, cidr: 10.20.128.0/17 }\n";
  assert.deepEqual(problemsOf(yaml), ["fp-dr:network.application.peering.cidr: overlaps the site's vpcCidr 10.20.0.0/16; peered networks need distinct ranges"]);
});

test("Pulumi's flat config map decodes like the stack file; secrets stay strings", () => {
  const fromFile = rawFromStackFile(minimalPrimary);
  const map: Record<string, string> = { "aws:region": "eu-central-1", "aws:skipMetadataApiCheck": "false" };
  for (const [k, v] of Object.entries(fromFile.values)) if (k !== "region") map[`fp-dr:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
  map["fp-dr:adminPassword"] = "1234567890123456";
  const raw = rawFromConfigMap(map, (k) => k === "fp-dr:repoCipherPass" || k === "fp-dr:adminPassword");
  assert.equal(raw.values.region, "eu-central-1");
  assert.deepEqual(raw.values.offsite, { region: "eu-west-1" });
  assert.equal(raw.values.adminPassword, "1234567890123456");
  assert.deepEqual([...raw.secret].sort(), ["adminPassword", "repoCipherPass"]);
  assert.ok(!("skipMetadataApiCheck" in raw.values));
  assert.equal(parseStackConfig(raw).role, "primary");
});
