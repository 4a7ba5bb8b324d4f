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
import { defaultLocalPorts, drillLocalPorts } from "./ports";
import { resolveSite } from "./resolve";

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

const adminPassword = "  fp-dr:adminPassword:\n    secure: v1:placeholder-admin-password-0123\n";

test("role rules: the secondary owns DNS and needs the primary's address and admin password; a drill needs its id", () => {
  const secondary = minimalPrimary.replace("fp-dr:role: primary", "fp-dr:role: secondary").replace("region: eu-west-1", "region: eu-west-2") + adminPassword;
  assert.deepEqual(problemsOf(secondary), ["fp-dr:dns: required for the secondary role: it owns the failover records"]);
  const both = `${secondary}  fp-dr:dns:\n    zoneId: Z0123456789ABCDEFGHIJ\n    primary: { stack: acme/fp-dr/primary, address: 10.20.0.10 }\n`;
  assert.deepEqual(problemsOf(both), ["fp-dr:dns.primary: give exactly one of stack (the primary's Pulumi stack) or address"]);

  // The automation connects to the restored cluster as the admin role: the secondary (and a
  // drill) must know its password even though they manage no database objects.
  const noPassword = both.replace(adminPassword, "").replace("primary: { stack: acme/fp-dr/primary, address: 10.20.0.10 }", "primary: { address: 10.20.0.10 }");
  assert.deepEqual(problemsOf(noPassword), [
    "fp-dr:adminPassword (secret): required for the secondary role: the automation verifies and opens the restored cluster as access.postgres.username, whose password there is the primary's (the cluster is a copy); pulumi config set --secret fp-dr:adminPassword <the primary's adminPassword>",
  ]);

  // A drill is created without a restore request (`dr drill` writes it once the host exists).
  const drill = minimalPrimary.replace("fp-dr:role: primary", "fp-dr:role: drill").replace(/ {2}fp-dr:offsite:\n.*\n/, "").replace(/ {2}fp-dr:databaseObjects:\n.*\n/, "");
  assert.deepEqual(problemsOf(drill), [
    "fp-dr:drill: required for the drill role: id and expiresAt",
    "fp-dr:adminPassword (secret): required for the drill role: the automation verifies and opens the restored cluster as access.postgres.username, whose password there is the primary's (the cluster is a copy); pulumi config set --secret fp-dr:adminPassword <the primary's adminPassword>",
  ]);
  // The message an operator reads survives the secret redaction whole.
  assert.throws(
    () => parseStackConfig(rawFromStackFile(noPassword)),
    (e: unknown) => e instanceof DrError && e.message.includes("; pulumi config set --secret fp-dr:adminPassword <the primary's adminPassword>") && !e.message.includes("[redacted]"),
  );
  assert.deepEqual(problemsOf(drill + adminPassword + "  fp-dr:drill:\n    id: 20250901t040000z\n    expiresAt: 2025-09-02T00:00:00Z\n"), []);
});

test("port forwards: distinct local ports; a drill never takes the standing sites' ports and derives its own by default", () => {
  const both = minimalPrimary + "  fp-dr:access:\n    ssh: { localPort: 2222 }\n    postgres: { localPort: 2222 }\n";
  assert.deepEqual(problemsOf(both), ["fp-dr:access.postgres.localPort: must differ from access.ssh.localPort: each port forward needs its own local port"]);
  const drillBase =
    minimalPrimary.replace("fp-dr:role: primary", "fp-dr:role: drill").replace(/ {2}fp-dr:offsite:\n.*\n/, "").replace(/ {2}fp-dr:databaseObjects:\n.*\n/, "") +
    adminPassword +
    "  fp-dr:drill:\n    id: 20250901t040000z\n    expiresAt: 2025-09-02T00:00:00Z\n";
  const standing = drillBase + "  fp-dr:access:\n    ssh: { localPort: 2222 }\n    postgres: { localPort: 15432 }\n";
  assert.deepEqual(problemsOf(standing), [
    "fp-dr:access.ssh.localPort: 2222 is the standing sites' port forward: a drill running beside them needs its own (leave it out for the one derived from the drill id)",
    "fp-dr:access.postgres.localPort: 15432 is the standing sites' port forward: a drill running beside them needs its own (leave it out for the one derived from the drill id)",
  ]);
  const drill = resolveSite(parseStackConfig(rawFromStackFile(drillBase)));
  assert.deepEqual(drill.localPorts, drillLocalPorts("20250901t040000z"));
  assert.notDeepEqual(drill.localPorts, defaultLocalPorts);
  const explicit = resolveSite(parseStackConfig(rawFromStackFile(drillBase + "  fp-dr:access:\n    ssh: { localPort: 22222 }\n")));
  assert.deepEqual(explicit.localPorts, { ssh: 22222, postgres: drillLocalPorts("20250901t040000z").postgres });
  assert.deepEqual(resolveSite(parseStackConfig(rawFromStackFile(stackFile("secondary")))).localPorts, { ssh: 2222, postgres: 15432 });
  assert.deepEqual(resolveSite(parseStackConfig(rawFromStackFile(stackFile("primary")))).localPorts, { ssh: 2222, postgres: 15432 });
});

test("fence: mode isolate or stop with a request id; documented in the plan, default isolate", () => {
  const fenced = (body: string) => minimalPrimary + `  fp-dr:fence:\n${body}`;
  assert.deepEqual(problemsOf(fenced("    mode: isolate\n    requestId: fence-20250901t120000z-0001\n")), []);
  assert.deepEqual(problemsOf(fenced("    mode: stop\n    requestId: incident-42\n")), []);
  const plan = resolveSite(parseStackConfig(rawFromStackFile(fenced("    requestId: fence-1\n"))));
  assert.deepEqual(plan.fence, { mode: "isolate", requestId: "fence-1" });
  assert.equal(resolveSite(parseStackConfig(rawFromStackFile(minimalPrimary))).fence, undefined);
  const bad = problemsOf(fenced("    mode: unplug\n    reason: x\n"));
  for (const key of ["fp-dr:fence.mode", "fp-dr:fence.requestId", "fp-dr:fence.reason"]) assert.ok(bad.some((p) => p.startsWith(`${key}: `)), `${key} missing from:\n${bad.join("\n")}`);
});

test("replacement: an id and whether it is reachable, on the primary stack only", () => {
  const replaced = (yaml: string, body: string) => yaml + `  fp-dr:replacement:\n${body}`;
  assert.deepEqual(problemsOf(replaced(minimalPrimary, "    id: kx3j2\n")), []);
  assert.equal(parseStackConfig(rawFromStackFile(replaced(minimalPrimary, "    id: kx3j2\n"))).replacement?.reachable, false);
  assert.deepEqual(problemsOf(replaced(minimalPrimary, "    id: Kx_3\n")), ["fp-dr:replacement.id: lowercase letters and digits"]);
  const secondary = problemsOf(replaced(stackFile("secondary"), "    id: kx3j2\n"));
  assert.ok(secondary.includes("fp-dr:replacement: only the primary stack declares a replacement host (hardware failure); restore another site in place"), secondary.join("\n"));
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

test("restore requests: a set or a target (or standby), and only over a reachable host", () => {
  const base = minimalPrimary + "  fp-dr:restore:\n    requestId: incident-42\n";
  const problems = problemsOf(base);
  assert.ok(problems.includes("fp-dr:restore: give set (a backup label) or a target (targetTime, targetLsn or targetName), or mode: standby"), problems.join("\n"));
  assert.ok(problems.some((p) => p.startsWith("fp-dr:restore: a restore runs on the host")), problems.join("\n"));
  const badTime = minimalPrimary + "  fp-dr:restore:\n    requestId: incident-42\n    targetTime: yesterday\n    set: 2025-08-30\n";
  const p2 = problemsOf(badTime);
  assert.ok(p2.some((p) => p.startsWith("fp-dr:restore.targetTime: ")), p2.join("\n"));
  assert.ok(p2.some((p) => p.startsWith("fp-dr:restore.set: ")), p2.join("\n"));
});

test("restore targets: one of a time, an LSN or a restore point; pause or promote at it; none for a standby", () => {
  const reachable =
    minimalPrimary +
    "  fp-dr:access:\n    hostReachable: true\n    ssh: { publicKey: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPlaceholder dr }\n  fp-dr:sshPrivateKey:\n    secure: v1:placeholder-key\n";
  const request = (body: string) => `${reachable}  fp-dr:restore:\n    requestId: drill-42\n${body}`;
  for (const body of ["    mode: pause\n    targetName: fp-dr-drill-20250901t040000z-ab12\n", "    mode: pause\n    targetLsn: 0/9000060\n", "    mode: pause\n    targetTime: 2025-09-01T03:59:30Z\n", "    mode: promote\n    targetLsn: 1A/FF000028\n", "    mode: pause\n    set: 20250830-010000F\n"]) {
    assert.deepEqual(problemsOf(request(body)), [], body);
  }
  const c = parseStackConfig(rawFromStackFile(request("    mode: pause\n    targetName: before-migration\n")));
  assert.equal(c.restore?.mode, "pause");
  assert.equal(c.restore?.targetName, "before-migration");
  assert.deepEqual(problemsOf(request("    targetLsn: 0/9000060\n    targetName: x1\n")), ["fp-dr:restore: give at most one recovery target, not targetLsn and targetName"]);
  assert.deepEqual(problemsOf(request("    mode: standby\n    targetName: x1\n")), ["fp-dr:restore.targetName: a standby replays to the end of the archive; a target needs mode: pause (read-only at the target) or promote"]);
  const bad = problemsOf(request("    mode: wait\n    targetLsn: nine\n    targetName: \"drop table; --\"\n"));
  for (const key of ["fp-dr:restore.mode", "fp-dr:restore.targetLsn", "fp-dr:restore.targetName"]) assert.ok(bad.some((p) => p.startsWith(`${key}: `)), `${key} missing from:\n${bad.join("\n")}`);
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

test("the stream: its own secret, a distinct peer VPC in the offsite region; the archive queue is bounded on every site that can be primary", () => {
  const stream = (peer: string) => `${minimalPrimary}  fp-dr:replication:\n    stream: true\n${peer}`;
  assert.deepEqual(problemsOf(stream("")), [
    "fp-dr:replicationPassword (secret): required while replication.stream is on: openssl rand -base64 32 | pulumi config set --secret fp-dr:replicationPassword (the same on both stacks)",
    "fp-dr:replication.peer: required while replication.stream is on: the other site's VPC (cidr, region)",
  ]);
  const withSecret = (peer: string) => `${stream(peer)}  fp-dr:replicationPassword:\n    secure: v1:placeholder-replication-password-0123\n`;
  assert.deepEqual(problemsOf(withSecret("    peer: { cidr: 10.30.0.0/16, region: eu-west-1 }\n")), []);
  assert.deepEqual(problemsOf(withSecret("    peer: { cidr: 10.20.128.0/17, region: eu-central-1 }\n")), [
    "fp-dr:replication.peer.cidr: overlaps the site's vpcCidr 10.20.0.0/16; peered VPCs need distinct ranges",
    "fp-dr:replication.peer.region: must be the other region (the standby site's VPC is in the offsite region)",
    "fp-dr:replication.peer.region: must be the offsite region eu-west-1: the standby pairs with the other site",
  ]);
  assert.ok(problemsOf(withSecret("    peer: { cidr: 0.0.0.0/0, region: eu-west-1 }\n")).some((p) => p.startsWith("fp-dr:replication.peer.cidr: the database must never be reachable from the world")), "the peer is a source of connections: never the world");
  // archive-push-queue-max: asynchronous archiving required, a size when given, else derived.
  assert.deepEqual(problemsOf(`${minimalPrimary}  fp-dr:pgbackrest:\n    archiveAsync: false\n    archivePushQueueMax: lots\n`), [
    "fp-dr:pgbackrest.archiveAsync: must be on for the primary role (it can become primary): archive-push-queue-max only bounds asynchronous archiving",
    "fp-dr:pgbackrest.archivePushQueueMax: a pgBackRest size such as 20GiB",
  ]);
  assert.equal(resolveSite(parseStackConfig(rawFromStackFile(minimalPrimary))).archivePushQueueMax, "25GiB", "a quarter of the 100 GiB data volume");
  assert.equal(resolveSite(parseStackConfig(rawFromStackFile(stackFile("secondary")))).archivePushQueueMax, "20GiB");
  assert.equal(resolveSite(parseStackConfig(rawFromStackFile(stackFile("secondary")))).replication?.peer.cidr, "10.20.0.0/16");
});

test("DNS is forced to the current primary; Route 53's own failover only when opted in, knowing its risk", () => {
  const secondary = stackFile("secondary");
  assert.equal(parseStackConfig(rawFromStackFile(secondary)).dns?.activeSite, "primary");
  const auto = secondary.replace("activeSite: primary", "activeSite: auto");
  assert.deepEqual(problemsOf(auto), [
    'fp-dr:dns.activeSite: "auto" lets Route 53 move the service name to an unpromoted, unfenced standby: set dns.automaticFailover: true to accept that risk, or name the current primary',
  ]);
  assert.deepEqual(problemsOf(auto.replace("activeSite: auto", "activeSite: auto\n    automaticFailover: true")), []);
  // Only a standby request streams from a primary.
  const paused = secondary.replace("    mode: standby\n    repo: 1\n", "    mode: pause\n    targetLsn: 0/9000060\n    primaryHost: 10.20.7.42\n    repo: 1\n");
  assert.deepEqual(problemsOf(paused), ["fp-dr:restore.primaryHost: only a standby (mode: standby) streams from a primary"]);
});
