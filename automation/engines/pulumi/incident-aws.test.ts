// The pulumi engine's security-incident steps that go to AWS directly (not through Pulumi):
// preserve (EC2 CreateSnapshots + DescribeSnapshots) and rotateRepositoryAccess (IAM
// PutRolePolicy + GetRolePolicy) against recording fakes of the SDK clients, with the exact
// command inputs pinned; rotateDatabaseCredentials for real, against a PostgreSQL 15 scratch
// cluster (TLS on, as the engine connects with sslmode require) reached through the engine's
// own SQL path, with the stacks behind the real Automation API and the recording CLI double.
// No password (old or new) may appear in any result or error.
import { after, afterEach, before, beforeEach, mock, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateSnapshotsCommand, DescribeSnapshotsCommand } from "@aws-sdk/client-ec2";
import { GetRolePolicyCommand, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import { Client } from "pg";
import { DrError } from "../../core/errors";
import { startScratchCluster, type ScratchCluster } from "../../postgres/scratch";
import { serviceUser } from "../../system/service-user";
import { sha256File } from "../../incident/evidence";
import { tryLogin } from "../../incident/rotate";
import type { SiteAccess, SiteDatabase } from "./access";
import type { AwsClients, Ec2Api, IamApi } from "./aws";
import { RecordingPulumiCli } from "./cli-double";
import { backendUrl, drConfig, fakeProgram, repoRoot, secretsProvider, storedConfigFromStackFile, testSecrets } from "./contract-fixtures";
import { PulumiEngine } from "./engine";
import { openLocalWorkspace } from "./local-workspace";
import type { StoredConfig } from "./stack-ops";

const T0 = Date.UTC(2025, 8, 2, 9, 30, 0);
const actor = "fp-dr alice@ops-1";

interface Sent {
  command: string;
  region: string;
  input: unknown;
}

type Answer = (command: object) => unknown;

function fakeAws(sent: Sent[], answers: { ec2?: Answer; iam?: Answer }): AwsClients {
  const client = (region: string, answer?: Answer) => ({
    async send(command: { input: unknown }) {
      sent.push({ command: command.constructor.name, region, input: structuredClone(command.input) });
      if (!answer) throw new Error(`unexpected ${command.constructor.name}`);
      return answer(command);
    },
  });
  return { ec2: (region) => client(region, answers.ec2) as unknown as Ec2Api, iam: (region) => client(region, answers.iam) as unknown as IamApi };
}

const noDatabase: SiteDatabase = {
  async probe() {
    return { reachable: true, mode: "primary" };
  },
  async waitForRecovery() {
    return {};
  },
  async promote() {},
};

async function engineWith(opts: { aws: AwsClients; access?: SiteAccess; secondary?: StoredConfig; snapshotTimeoutMs?: number }) {
  const cli = new RecordingPulumiCli(fakeProgram);
  cli.addStack("primary", storedConfigFromStackFile("Pulumi.primary.yaml"));
  cli.addStack("secondary", opts.secondary ?? storedConfigFromStackFile("Pulumi.secondary.yaml"));
  const ops = await openLocalWorkspace({ workDir: repoRoot, pulumiCommand: cli, backendUrl, secretsProvider });
  let t = T0;
  const engine = new PulumiEngine({
    ops,
    config: drConfig(),
    database: noDatabase,
    access: opts.access ?? { async open(_s, o) { return { host: o.endpoint.host, port: o.endpoint.port }; }, async close() {} },
    regionProbe: async () => ({ reachable: true, detail: "answered" }),
    aws: opts.aws,
    actor,
    snapshotTimeoutMs: opts.snapshotTimeoutMs ?? 60_000,
    snapshotPollMs: 10_000,
    now: () => new Date(t),
    sleep: async (ms) => {
      t += ms;
    },
  });
  return { cli, engine };
}

/**
 * The SDK's snapshot waiter sleeps on setTimeout and bounds itself by Date.now: both run on
 * virtual time here, advanced a second per turn of the event loop while `run` works, so the
 * polls land at their exact times without the test waiting for them.
 */
async function onVirtualTime<T>(run: () => Promise<T>): Promise<T> {
  mock.timers.enable({ apis: ["setTimeout", "Date"], now: T0 });
  let done = false;
  const result = run().finally(() => (done = true));
  result.catch(() => undefined); // awaited below; a failure is not unhandled meanwhile
  try {
    while (!done) {
      await new Promise((r) => setImmediate(r));
      mock.timers.tick(1000);
    }
    return await result;
  } finally {
    mock.timers.reset();
  }
}

let incidentDir: string;
beforeEach(() => {
  incidentDir = mkdtempSync(join(tmpdir(), "fp-dr-incident-aws-"));
});
afterEach(() => {
  rmSync(incidentDir, { recursive: true, force: true });
});

// ---- preserve -----------------------------------------------------------------------------

const instanceId = "i-07f3e2d1c0b9a8765"; // fakeProgram's instance id of "primary"
const incident = "inc-20250902-0001";
const snap = (id: string, volumeId: string, size: number, state: string, progress: string) => ({ SnapshotId: id, VolumeId: volumeId, VolumeSize: size, State: state, Progress: progress, StartTime: new Date(T0) });

test("preserve: one multi-volume CreateSnapshots of the host (tags pinned), DescribeSnapshots until completed, the record is evidence with its SHA-256", async () => {
  const sent: Sent[] = [];
  let polls = 0;
  const polledAt: number[] = [];
  const aws = fakeAws(sent, {
    ec2: (command) => {
      if (command instanceof CreateSnapshotsCommand) return { Snapshots: [snap("snap-0root", "vol-0root", 16, "pending", "0%"), snap("snap-0data", "vol-0data", 500, "pending", "0%")] };
      if (command instanceof DescribeSnapshotsCommand) {
        if (command.input.Filters) return { Snapshots: [] };
        polls++;
        polledAt.push(Date.now());
        return { Snapshots: [snap("snap-0root", "vol-0root", 16, "completed", "100%"), snap("snap-0data", "vol-0data", 500, polls < 2 ? "pending" : "completed", polls < 2 ? "40%" : "100%")] };
      }
      throw new Error("unexpected");
    },
  });
  const { engine } = await engineWith({ aws });
  const result = await onVirtualTime(() => engine.preserve("primary", { id: incident, dir: incidentDir }));

  assert.deepEqual(sent, [
    {
      command: "DescribeSnapshotsCommand",
      region: "eu-central-1",
      input: { OwnerIds: ["self"], Filters: [{ Name: "tag:fp-dr:incident", Values: [incident] }, { Name: "tag:fp-dr:site", Values: ["primary"] }] },
    },
    {
      command: "CreateSnapshotsCommand",
      region: "eu-central-1",
      input: {
        InstanceSpecification: { InstanceId: instanceId, ExcludeBootVolume: false },
        Description: `fp-dr incident ${incident}: primary (${instanceId})`,
        CopyTagsFromSource: "volume",
        TagSpecifications: [
          {
            ResourceType: "snapshot",
            Tags: [
              { Key: "fp-dr:incident", Value: incident },
              { Key: "fp-dr:site", Value: "primary" },
              { Key: "fp-dr:taken-by", Value: actor },
            ],
          },
        ],
      },
    },
    { command: "DescribeSnapshotsCommand", region: "eu-central-1", input: { SnapshotIds: ["snap-0root", "snap-0data"] } },
    { command: "DescribeSnapshotsCommand", region: "eu-central-1", input: { SnapshotIds: ["snap-0root", "snap-0data"] } },
  ]);
  assert.equal(result.site, "primary");
  assert.equal(result.location, "EBS snapshots in eu-central-1: snap-0root, snap-0data");
  assert.match(result.method, /CreateSnapshots request \(multi-volume, crash-consistent\), taken now/);
  assert.match(result.consistency, /every snapshot completed/);
  assert.equal(result.files, 2);
  assert.equal(result.bytes, 516 * 1024 ** 3);
  assert.equal(result.startedAt, new Date(T0).toISOString());
  // The SDK waiter polls at once, then every snapshotPollMs (10 s), on its own timers.
  assert.deepEqual(polledAt.map((at) => at - polledAt[0]), [0, 10_000]);
  assert.equal(result.finishedAt, new Date(T0).toISOString(), "the engine's injected clock");
  // The custody record lists the record file; its digest is of the bytes on disk.
  assert.equal(result.manifests.length, 1);
  const [m] = result.manifests;
  assert.equal(m.path, "evidence/primary/ebs-snapshots.json");
  assert.equal(m.sha256, await sha256File(join(incidentDir, m.path)));
  const record = JSON.parse(readFileSync(join(incidentDir, m.path), "utf8")) as { instanceId: string; region: string; snapshots: { snapshotId: string; volumeId: string; state: string }[] };
  assert.equal(record.instanceId, instanceId);
  assert.deepEqual(record.snapshots.map((x) => [x.snapshotId, x.volumeId, x.state]), [["snap-0root", "vol-0root", "completed"], ["snap-0data", "vol-0data", "completed"]]);
});

test("preserve: snapshots not completed within the bound are returned as pending with their ids; an earlier attempt's are reused, not retaken", async () => {
  const sent: Sent[] = [];
  const aws = fakeAws(sent, {
    ec2: (command) => {
      if (command instanceof DescribeSnapshotsCommand && command.input.Filters) return { Snapshots: [snap("snap-0old", "vol-0data", 500, "pending", "10%"), snap("snap-0bad", "vol-0root", 16, "error", "0%")] };
      if (command instanceof DescribeSnapshotsCommand) return { Snapshots: [snap("snap-0old", "vol-0data", 500, "pending", "55%")] };
      throw new Error(`unexpected ${command.constructor.name}`);
    },
  });
  const { engine } = await engineWith({ aws, snapshotTimeoutMs: 30_000 });
  const result = await onVirtualTime(() => engine.preserve("primary", { id: incident, dir: incidentDir }));
  assert.deepEqual(sent.map((s) => s.command), ["DescribeSnapshotsCommand", "DescribeSnapshotsCommand", "DescribeSnapshotsCommand", "DescribeSnapshotsCommand", "DescribeSnapshotsCommand"], "no CreateSnapshots; four polls in 30 s: at once, then every 10 s");
  assert.deepEqual(sent[1].input, { SnapshotIds: ["snap-0old"] }, "the failed one is not reused");
  assert.equal(result.location, "EBS snapshots in eu-central-1: snap-0old (pending: snap-0old)");
  assert.match(result.method, /taken by an earlier attempt/);
  assert.match(result.consistency, /snap-0old pending 55%.*aws ec2 wait snapshot-completed --region eu-central-1 --snapshot-ids snap-0old/);
});

test("preserve: DescribeSnapshots failing until the bound (the waiter retries it) fails the step with that error", async () => {
  const sent: Sent[] = [];
  const aws = fakeAws(sent, {
    ec2: (command) => {
      if (command instanceof CreateSnapshotsCommand) return { Snapshots: [snap("snap-0data", "vol-0data", 500, "pending", "0%")] };
      if (command instanceof DescribeSnapshotsCommand && command.input.Filters) return { Snapshots: [] };
      throw new Error("UnauthorizedOperation: you are not authorized to perform ec2:DescribeSnapshots");
    },
  });
  const { engine } = await engineWith({ aws, snapshotTimeoutMs: 30_000 });
  await assert.rejects(onVirtualTime(() => engine.preserve("primary", { id: incident, dir: incidentDir })), (e: unknown) => /preserving primary/.test((e as Error).message) && /ec2:DescribeSnapshots/.test((e as Error).message));
  assert.equal(sent.filter((x) => x.command === "DescribeSnapshotsCommand").length, 1 + 4, "the lookup of earlier ones, then four tries in 30 s");
});

test("preserve: a snapshot in error fails the step, naming it", async () => {
  const aws = fakeAws([], {
    ec2: (command) => {
      if (command instanceof CreateSnapshotsCommand) return { Snapshots: [snap("snap-0data", "vol-0data", 500, "pending", "0%")] };
      if (command instanceof DescribeSnapshotsCommand && command.input.Filters) return { Snapshots: [] };
      return { Snapshots: [{ ...snap("snap-0data", "vol-0data", 500, "error", "0%"), StateMessage: "internal error" }] };
    },
  });
  const { engine } = await engineWith({ aws });
  await assert.rejects(onVirtualTime(() => engine.preserve("primary", { id: incident, dir: incidentDir })), (e: unknown) => e instanceof DrError && /snap-0data \(vol-0data\) failed: internal error/.test(e.message) && /preserving primary/.test(e.message));
});

// ---- repository access --------------------------------------------------------------------

test("rotateRepositoryAccess: an inline deny on sessions issued before now on each withheld site's host role, read back; other sites untouched", async () => {
  const sent: Sent[] = [];
  const stored = new Map<string, string>();
  const aws = fakeAws(sent, {
    iam: (command) => {
      if (command instanceof PutRolePolicyCommand) {
        stored.set(`${command.input.RoleName}/${command.input.PolicyName}`, command.input.PolicyDocument!);
        return {};
      }
      if (command instanceof GetRolePolicyCommand) return { RoleName: command.input.RoleName, PolicyName: command.input.PolicyName, PolicyDocument: encodeURIComponent(stored.get(`${command.input.RoleName}/${command.input.PolicyName}`)!) };
      throw new Error("unexpected");
    },
  });
  const { engine } = await engineWith({ aws });
  const result = await engine.rotateRepositoryAccess(["primary", "primary"]);
  const document = {
    Version: "2012-10-17",
    Statement: [{ Effect: "Deny", Action: ["*"], Resource: ["*"], Condition: { DateLessThan: { "aws:TokenIssueTime": "2025-09-02T09:30:00.000Z" } } }],
  };
  assert.deepEqual(sent, [
    { command: "PutRolePolicyCommand", region: "eu-central-1", input: { RoleName: "fp-dr-production-primary-host", PolicyName: "fp-dr-revoke-20250902t093000z", PolicyDocument: JSON.stringify(document) } },
    { command: "GetRolePolicyCommand", region: "eu-central-1", input: { RoleName: "fp-dr-production-primary-host", PolicyName: "fp-dr-revoke-20250902t093000z" } },
  ]);
  assert.deepEqual(result.rotated, ["IAM role fp-dr-production-primary-host (primary): sessions issued before 2025-09-02T09:30:00.000Z revoked by inline policy fp-dr-revoke-20250902t093000z"]);
  assert.deepEqual(result.withheldFrom, ["primary"]);
  assert.equal(result.scope, "repository");
  assert.ok(result.notRotated.some((n) => /cipher passphrases/.test(n.what)));
  assert.ok(result.notRotated.some((n) => /issued after the revocation/.test(n.what)));
});

test("rotateRepositoryAccess: IAM refusing is an error naming the site", async () => {
  const aws = fakeAws([], {
    iam: () => {
      throw Object.assign(new Error("User is not authorized to perform: iam:PutRolePolicy"), { name: "AccessDenied" });
    },
  });
  const { engine } = await engineWith({ aws });
  await assert.rejects(engine.rotateRepositoryAccess(["primary"]), (e: unknown) => /revoking the sessions of primary's host role/.test((e as Error).message) && /iam:PutRolePolicy/.test((e as Error).message));
});

// ---- database credentials, for real ------------------------------------------------------

let scratch: ScratchCluster;
let certDir: string;
const extra = { app: "fp_app", backup: "fp_backup", verifier: "fp_verifier", intruder: "mallory" };
const oldBackupPassword = "old-backup-password-not-in-the-stack";

before(async () => {
  // TLS: the engine connects with sslmode require (a self-signed certificate is enough).
  const user = serviceUser();
  certDir = mkdtempSync(join(tmpdir(), "fp-dr-incident-aws-tls-"));
  chmodSync(certDir, 0o755);
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-keyout", join(certDir, "server.key"), "-out", join(certDir, "server.crt")], { stdio: "ignore" });
  chmodSync(join(certDir, "server.key"), 0o600);
  if (user.switched) for (const f of ["server.key", "server.crt"]) chownSync(join(certDir, f), user.uid, user.gid);
  scratch = await startScratchCluster({ ssl: "on", ssl_cert_file: join(certDir, "server.crt"), ssl_key_file: join(certDir, "server.key") }, "fp-dr-incident-aws-");
  await scratch.cluster.psql(
    [
      `create role ${extra.app} login password '${testSecrets.appPassword}'`,
      `create role ${extra.backup} login password '${oldBackupPassword}'`,
      `create role ${extra.verifier} login password '${testSecrets.verifierPassword}'`,
      `create role ${extra.intruder} login password 'attacker-chosen-password'`,
      `create database financial_planning`,
    ].join(";\n"),
  );
});

after(async () => {
  await scratch?.destroy();
  if (certDir) rmSync(certDir, { recursive: true, force: true });
});

/** The secondary stack as shipped, its admin role and password those of the scratch cluster. */
function secondaryForScratch(adminPassword: string): StoredConfig {
  const config = storedConfigFromStackFile("Pulumi.secondary.yaml", ["appPassword", "verifierPassword"]);
  const access = structuredClone(config["fp-dr:access"].objectValue) as Record<string, unknown>;
  access.postgres = { username: scratch.cluster.spec.user.name };
  config["fp-dr:access"] = { value: JSON.stringify(access), objectValue: access, secret: false };
  config["fp-dr:adminPassword"] = { value: adminPassword, secret: true };
  return config;
}

const scratchAccess = (): SiteAccess => ({
  async open() {
    return { host: "127.0.0.1", port: scratch.cluster.spec.port };
  },
  async close() {},
});

test("rotateDatabaseCredentials: every login role of the site rotated (SCRAM), others locked, new passwords as stack secrets, old refused and new accepted", async () => {
  const { cli, engine } = await engineWith({ aws: fakeAws([], {}), access: scratchAccess(), secondary: secondaryForScratch(scratch.password) });
  const admin = scratch.cluster.spec.user.name;
  const result = await engine.rotateDatabaseCredentials("secondary");

  // The stack operations: select, read config, one set-all of the four secrets (no --path).
  const calls = cli.take();
  assert.deepEqual(calls[0], ["stack", "select", "--stack", "secondary", "--non-interactive"]);
  assert.deepEqual(calls[1], ["config", "--show-secrets", "--json", "--stack", "secondary", "--non-interactive"]);
  const setAll = calls.filter((c) => c[0] === "config" && c[1] === "set-all");
  assert.equal(setAll.length, 1);
  const keys = ["fp-dr:adminPassword", "fp-dr:appPassword", "fp-dr:backupPassword", "fp-dr:verifierPassword"];
  const stored = cli.stacks.get("secondary")!.config;
  assert.deepEqual(setAll[0], ["config", "set-all", "--stack", "secondary", ...keys.flatMap((k) => ["--secret", `${k}=${stored[k].value}`]), "--non-interactive"]);
  const next = Object.fromEntries(keys.map((k) => [k, stored[k]]));
  for (const k of keys) {
    assert.equal(next[k].secret, true, `${k} is a secret`);
    assert.match(next[k].value!, /^[A-Za-z0-9_-]{32}$/);
  }

  assert.deepEqual(result.rotated, [`role ${extra.app}`, `role ${extra.backup}`, `role ${extra.verifier}`, `role ${admin}`].sort());
  assert.deepEqual(result.locked, [extra.intruder]);
  assert.match(result.proof, new RegExp(`old passwords refused and new ones accepted over the engine's path for ${admin}, fp_app, fp_verifier; not proven: fp_backup \\(old password not in the stack, new accepted\\)`));

  // Independently: the old passwords are refused, the new ones accepted, the intruder is out.
  const base = { host: "127.0.0.1", port: scratch.cluster.spec.port, database: "postgres" };
  for (const [role, old, key] of [
    [admin, scratch.password, "fp-dr:adminPassword"],
    [extra.app, testSecrets.appPassword, "fp-dr:appPassword"],
    [extra.backup, oldBackupPassword, "fp-dr:backupPassword"],
    [extra.verifier, testSecrets.verifierPassword, "fp-dr:verifierPassword"],
  ] as const) {
    assert.equal(await tryLogin({ ...base, user: role, password: old }), "refused", `${role}: old refused`);
    assert.equal(await tryLogin({ ...base, user: role, password: next[key].value }), "accepted", `${role}: new accepted`);
  }
  assert.equal(await tryLogin({ ...base, user: extra.intruder, password: "attacker-chosen-password" }), "refused");
  // Stored as SCRAM verifiers.
  const c = new Client({ ...base, user: admin, password: next["fp-dr:adminPassword"].value });
  await c.connect();
  const verifiers = (await c.query<{ rolname: string; v: string | null }>("select rolname, rolpassword as v from pg_authid where rolcanlogin order by 1")).rows;
  await c.end();
  for (const r of verifiers) {
    if (r.rolname === extra.intruder) assert.equal(r.v, null);
    else assert.match(r.v ?? "", /^SCRAM-SHA-256\$4096:/);
  }

  // No password, old or new, in the result.
  const text = JSON.stringify(result);
  for (const secret of [scratch.password, testSecrets.appPassword, testSecrets.verifierPassword, oldBackupPassword, ...keys.map((k) => next[k].value!)]) {
    assert.ok(!text.includes(secret), "no secret in the result");
  }

  // A second engine on the old password (what the stack held before): refused, and the error
  // names no password.
  const stale = await engineWith({ aws: fakeAws([], {}), access: scratchAccess(), secondary: secondaryForScratch(scratch.password) });
  await assert.rejects(stale.engine.rotateDatabaseCredentials("secondary"), (e: unknown) => {
    assert.ok(e instanceof DrError && e.code === "SITE_UNREACHABLE", String(e));
    const all = `${e.message}\n${e.hint ?? ""}`;
    for (const secret of [scratch.password, ...keys.map((k) => next[k].value!)]) assert.ok(!all.includes(secret), "no secret in the error");
    assert.match(e.message, /cannot log in to secondary as/);
    return true;
  });
  // It changed nothing: the stack it was given still holds the old value.
  assert.equal(stale.cli.stacks.get("secondary")!.config["fp-dr:adminPassword"].value, scratch.password);
});

test("rotateDatabaseCredentials: when the stack cannot store the new passwords, nothing is committed (the old ones still work)", async () => {
  // Runs after the rotation above: the cluster's admin password is what that stack now holds.
  const admin = scratch.cluster.spec.user.name;
  const current = new Client({ host: "127.0.0.1", port: scratch.cluster.spec.port, database: "postgres", user: admin, password: scratch.password });
  // Reset the admin password to a known value first (peer on the socket needs no password).
  await scratch.cluster.psql(`alter role ${admin} password '${scratch.password}'`);
  const { cli, engine } = await engineWith({ aws: fakeAws([], {}), access: scratchAccess(), secondary: secondaryForScratch(scratch.password) });
  cli.failNext((args) => args[0] === "config" && args[1] === "set-all", "error: could not encrypt config: KMS AccessDeniedException");
  await assert.rejects(engine.rotateDatabaseCredentials("secondary"), (e: unknown) => /rotating the database credentials of secondary/.test((e as Error).message) && !(e as Error).message.includes(scratch.password));
  await current.connect();
  await current.end();
  assert.equal(cli.stacks.get("secondary")!.config["fp-dr:adminPassword"].value, scratch.password);
});
