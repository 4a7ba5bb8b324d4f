// The contract of the pulumi engine with the Pulumi CLI, through the real Automation API
// (@pulumi/pulumi 3.247 LocalWorkspace and Stack): a recording double of the CLI is passed as
// `pulumiCommand`, a datacenter failover and a drill are driven through PulumiEngine, and the
// exact argument lists the CLI receives are pinned, and, through a recording AWS CLI, the exact
// SSM Run Command calls of the post-checks (datacenter and hardware) and the lines the
// host-apply document runs. Proves: a hardware failover's replacement host is declared in the
// primary's stack in two updates, restored from its own region's repository, and served under
// the run's name once DNS (the primary's outputs read again) answers its new address; the secondary's updates never
// refresh; the restore and the DNS swap are targeted at their resources' URNs; an unreachable
// primary region is not touched at all; secret config goes with --secret; a drill is a
// drill-<id> stack created with the configured secrets provider and is destroyed and removed
// (also when the drill fails half way); a concurrent update surfaces as STACK_LOCKED.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { DrError } from "../../core/errors";
import type { DnsResolver, HostCommandRunner, SiteDatabase, SiteAccess } from "./access";
import { reapExpiredDrills } from "./drill-stacks";
import { RecordingPulumiCli } from "./cli-double";
import { addresses, backendUrl, drConfig, fakeProgram, replacementHost, repoRoot, secretsProvider, storedConfigFromStackFile, testSecrets } from "./contract-fixtures";
import { ssmRunCommand } from "./ssm-commands";
import { PulumiEngine } from "./engine";
import { openLocalWorkspace } from "./local-workspace";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { FileSharedStore } from "../../core/file-store";
import { ControlState, withControlState } from "./control-writes";
import { prepareOwnWorkspace } from "./own-workspace";
import { controlKey, type ControlDocument } from "../../../infra/config/control-state";
import { drillLocalPorts } from "../../../infra/config/ports";
import { recordedPair } from "../../commands/topology";
import { hostApplyDocument } from "../../../infra/host-apply";
import { buildProgram } from "../../cli/main";

const drillId = "20250901t040000z";
const drill = `drill-${drillId}`;
const drillPorts = drillLocalPorts(drillId);
/** The drill plan restores to a restore point taken on the primary, and pauses there read-only. */
const restorePoint = { kind: "name" as const, name: `fp-dr-${drill}-ab12` };

interface World {
  cli: RecordingPulumiCli;
  engine: PulumiEngine;
  /** What the injected pieces were asked to do. */
  log: string[];
  /** What host commands received on stdin (never on their command line). */
  stdin: string[];
  /** The automation's own workspace (every CLI call runs there). */
  ownDir: string;
  /** The shared store holding the control document. */
  store: FileSharedStore;
}

/** pg_controldata of the primary after a clean shutdown (PostgreSQL 15's own wording). */
const controldata = `pg_control version number:            1300
Catalog version number:               202209061
Database system identifier:           7412345678901234567
Database cluster state:               shut down
pg_control last modified:             Mon 01 Sep 2025 12:00:00 PM UTC
Latest checkpoint location:           0/9000028
Latest checkpoint's REDO location:    0/9000028
Latest checkpoint's REDO WAL file:    000000010000000000000009
Latest checkpoint's TimeLineID:       1
`;

let w: World;
/** Each world's own workspace and shared store, removed at the end. */
const worlds: string[] = [];
after(() => {
  for (const d of worlds) rmSync(d, { recursive: true, force: true });
});

async function world(opts: { primaryRegionUp: boolean; hostCommands?: HostCommandRunner; resolver?: (cli: RecordingPulumiCli) => DnsResolver }): Promise<World> {
  const cli = new RecordingPulumiCli(fakeProgram);
  cli.addStack("primary", storedConfigFromStackFile("Pulumi.primary.yaml"));
  // The secondary stack as shipped (its admin password is the one the restored cluster carries).
  cli.addStack("secondary", storedConfigFromStackFile("Pulumi.secondary.yaml"));
  // As openPulumiEngine does: a workspace of its own, decisions to the control document first.
  const tmp = mkdtempSync(join(tmpdir(), "fp-dr-contract-"));
  worlds.push(tmp);
  const ownDir = prepareOwnWorkspace(repoRoot, join(tmp, "workspace"));
  const store = new FileSharedStore(join(tmp, "shared"));
  const ops = withControlState(await openLocalWorkspace({ workDir: ownDir, pulumiCommand: cli, backendUrl, secretsProvider }), new ControlState(store, "production"));
  const log: string[] = [];
  const stdin: string[] = [];
  const stopped = new Set<string>();
  let t = Date.UTC(2025, 8, 1, 12, 0, 0);
  let ids = 0;
  let swappedPolls = 0;
  const access: SiteAccess = {
    async open(site, outputs, ports) {
      log.push(`access.open ${site} ${outputs.instanceId} ssh:${ports.ssh} pg:${ports.postgres}`);
      return { host: "127.0.0.1", port: ports.postgres };
    },
    async close(site) {
      log.push(`access.close ${site}`);
    },
  };
  const database: SiteDatabase = {
    async probe() {
      return { reachable: true, mode: "standby" };
    },
    async waitForRecovery(ep, goal) {
      log.push(`db.waitForRecovery ${ep.site} ${goal.mode} ${ep.admin.host}:${ep.admin.port} as ${ep.admin.user}`);
      return { replayLsn: "0/9000060", lastCommitAt: "2025-09-01T11:59:58.000Z" };
    },
    async promote(ep) {
      log.push(`db.promote ${ep.site}`);
    },
  };
  const engine = new PulumiEngine({
    ops,
    config: drConfig(),
    access,
    database,
    now: () => new Date(t),
    sleep: async (ms) => {
      t += ms;
    },
    newRequestId: (purpose) => `${purpose}-20250901t120000z-${String(++ids).padStart(4, "0")}`,
    regionProbe: async (region) => {
      log.push(`region.probe ${region}`);
      return region === "eu-central-1" && !opts.primaryRegionUp ? { reachable: false, detail: "connect ETIMEDOUT" } : { reachable: true, detail: "answered" };
    },
    // Route 53 answers the primary until the forced record is in place, then (after two polls,
    // its TTL) the secondary.
    resolver: opts.resolver?.(cli) ?? (async (name) => {
      assert.equal(name, "db.fp.internal");
      const dns = cli.stacks.get("secondary")!.config["fp-dr:dns"].objectValue as { activeSite: string };
      if (dns.activeSite === "secondary" && ++swappedPolls >= 3) return [addresses.secondary];
      return [addresses.primary];
    }),
    dnsPollMs: 5000,
    // A command on a host: the switchover's stop, token and restart (SSM or SSH in production).
    hostCommands: opts.hostCommands ?? (async (site, outputs, argv, input) => {
      log.push(`host ${site} ${outputs.instanceId}: ${argv.join(" ")}${input === undefined ? "" : " <stdin>"}`);
      if (input !== undefined) stdin.push(input);
      if (argv.includes("stop")) stopped.add(site);
      if (argv.includes("start")) stopped.delete(site);
      if (argv[0] === "sh") return { stdout: stopped.has(site) ? "inactive\n" : "active\n" };
      return { stdout: argv.some((a) => a.endsWith("/pg_controldata")) ? controldata : "" };
    }),
  });
  return { cli, engine, log, stdin, ownDir, store };
}

/** The control document the engine's decisions went to. */
async function controlDoc(store: FileSharedStore): Promise<ControlDocument> {
  return JSON.parse((await store.get(controlKey("production")))!.body) as ControlDocument;
}

/** The operator's checked-in stack files, byte for byte. */
function operatorFiles(): Record<string, string> {
  return Object.fromEntries(readdirSync(repoRoot).filter((f) => /^Pulumi\..*ya?ml$/.test(f)).map((f) => [f, readFileSync(join(repoRoot, f), "utf8")]));
}

const outputCalls = (stack: string) => [
  ["stack", "output", "--json", "--stack", stack, "--non-interactive"],
  ["stack", "output", "--json", "--show-secrets", "--stack", stack, "--non-interactive"],
];
const historyCall = (stack: string) => ["stack", "history", "--json", "--show-secrets", "--page-size", "1", "--page", "1", "--stack", stack, "--non-interactive"];

/** A restore request (repo1 of the host, standby mode) replacing the old one whole, then an update of the restore command alone. */
const restoreRequestCalls = (stack: string, requestId: string) => [
  ["config", "rm-all", "--stack", stack, "fp-dr:restore", "--non-interactive"],
  [
    "config", "set-all", "--stack", stack, "--path",
    "--plaintext", `fp-dr:restore.requestId=${requestId}`,
    "--plaintext", "fp-dr:restore.mode=standby",
    "--plaintext", "fp-dr:restore.repo=1",
    "--plaintext", "fp-dr:restore.allowOverwrite=true",
    "--plaintext", "fp-dr:restore.timeout=14400s",
    "--non-interactive",
  ],
  [
    "up", "--yes", "--skip-preview", "--message", `fp-dr: restore ${requestId}`,
    "--target", `urn:pulumi:${stack}::fp-dr::fp-dr:site:Site$fp-dr:site:Restore::${stack}-restore`,
    "--target", `urn:pulumi:${stack}::fp-dr::fp-dr:site:Site$fp-dr:site:Restore$command:remote:Command::${stack}-restore-pgbackrest`,
    "--exec-kind", "auto.local", "--stack", stack, "--non-interactive",
  ],
  ...outputCalls(stack),
  historyCall(stack),
];

function assertNoRefresh(calls: string[][]): void {
  for (const c of calls) assert.ok(!c.includes("--refresh") && c[0] !== "refresh", `a refresh: ${c.join(" ")}`);
}

test("datacenter failover with the primary region down: fence touches nothing; bringUp, restore and swapDns make exactly these calls", async () => {
  w = await world({ primaryRegionUp: false });
  const { cli, engine, log } = w;

  // Fence: the region does not answer, so the primary's stack is not even read.
  const fence = await engine.fence("primary");
  assert.equal(fence.outcome, "unreachable");
  assert.match(fence.detail, /eu-central-1 does not answer/);
  assert.deepEqual(cli.take(), []);

  // Bring up the secondary: select, read config, site mode, one full update without refresh.
  const ep = await engine.bringUp("secondary");
  assert.deepEqual(cli.take(), [
    ["stack", "select", "--stack", "secondary", "--non-interactive"],
    ["config", "--show-secrets", "--json", "--stack", "secondary", "--non-interactive"],
    ["config", "set-all", "--stack", "secondary", "--path", "--plaintext", "fp-dr:access.hostReachable=true", "--non-interactive"],
    ["up", "--yes", "--skip-preview", "--message", "fp-dr: bring up secondary", "--exec-kind", "auto.local", "--stack", "secondary", "--non-interactive"],
    ...outputCalls("secondary"),
    historyCall("secondary"),
  ]);
  assert.deepEqual(
    { site: ep.site, address: ep.address, port: ep.port, admin: { host: ep.admin.host, port: ep.admin.port, user: ep.admin.user, password: ep.admin.password } },
    { site: "secondary", address: addresses.secondary, port: 5432, admin: { host: "127.0.0.1", port: 15432, user: "fp_admin", password: testSecrets.adminPassword } },
  );

  // Restore the latest offsite backup (repo2 of the primary = the secondary region's bucket,
  // the host's repo1): a fresh request, then only the restore command is updated.
  const restored = await engine.restore({ site: "secondary", repo: 2, target: { kind: "latest" }, overwrite: true });
  assert.deepEqual(cli.take(), [
    ["config", "--show-secrets", "--json", "--stack", "secondary", "--non-interactive"],
    ...outputCalls("secondary"),
    ...outputCalls("primary"),
    ...restoreRequestCalls("secondary", "restore-20250901t120000z-0001"),
  ]);
  assert.equal(restored.repo, 2);
  assert.equal(restored.set, "newest", "without a repositories client the set is pgBackRest's choice on the host, and said so");
  assert.equal(restored.replayLsn, "0/9000060");
  // The stack now holds exactly the new request (the warm standby's old one is gone).
  assert.deepEqual(cli.stacks.get("secondary")!.config["fp-dr:restore"].objectValue, {
    requestId: "restore-20250901t120000z-0001",
    mode: "standby",
    repo: 1,
    allowOverwrite: true,
    timeout: "14400s",
  });

  // Swap DNS on the stack that owns it: only the two failover records, and the standby host's
  // permissions (now the active site, it may write the repositories), are updated; then the
  // answer is polled until it is the secondary.
  const dns = await engine.swapDns("secondary");
  assert.deepEqual(cli.take(), dnsSwapCalls("secondary"));
  assert.deepEqual(dns, { address: addresses.secondary, waitedMs: 10_000 });

  assert.deepEqual(log, [
    "region.probe eu-central-1",
    "access.open secondary i-09f3e2d1c0b9a8765 ssh:2222 pg:15432",
    "access.open secondary i-09f3e2d1c0b9a8765 ssh:2222 pg:15432",
    "db.waitForRecovery secondary standby 127.0.0.1:15432 as fp_admin",
  ]);
});

test("every call runs in the automation's own workspace against the configured backend, nothing refreshes, the operator's stack files are untouched, and every decision is in the control document", async () => {
  const before = operatorFiles();
  w = await world({ primaryRegionUp: false });
  await w.engine.bringUp("secondary");
  await w.engine.restore({ site: "secondary", repo: 2, target: { kind: "latest" }, overwrite: true });
  await w.engine.swapDns("secondary");
  assert.deepEqual(operatorFiles(), before, "the operator's Pulumi.yaml and Pulumi.<stack>.yaml are byte for byte the same");
  const doc = await controlDoc(w.store);
  assert.deepEqual(doc.stacks.secondary, {
    "access.hostReachable": true,
    restore: { requestId: "restore-20250901t120000z-0001", mode: "standby", repo: 1, allowOverwrite: true, timeout: "14400s" },
    "dns.activeSite": "secondary",
  });
  assert.equal(doc.version, 4, "one version per decision: reachable, old request removed, new request, DNS");
  const generated = readFileSync(join(w.ownDir, "Pulumi.yaml"), "utf8");
  assert.match(generated, /main: \.\.\/.*infra/);
  assert.equal(resolve(w.ownDir, /main: (\S+)/.exec(generated)![1]), join(repoRoot, "infra"), "the own workspace runs this project's program");
  assert.ok(w.cli.calls.length > 10);
  for (const c of w.cli.calls) {
    assert.equal(c.cwd, w.ownDir);
    assert.equal(c.env.PULUMI_BACKEND_URL, backendUrl);
    assert.equal(c.env.PULUMI_SKIP_UPDATE_CHECK, "true");
    // No call ever names the primary's stack except to read its outputs (the backend, not AWS).
    if (c.args.includes("primary")) assert.deepEqual(c.args.slice(0, 3), ["stack", "output", "--json"]);
  }
  assertNoRefresh(w.cli.take());
});

test("fencing a primary whose region answers: the fence request, then an update of its instance only", async () => {
  w = await world({ primaryRegionUp: true });
  const fence = await w.engine.fence("primary");
  assert.equal(fence.outcome, "isolated");
  assert.deepEqual(w.cli.take(), [
    ["stack", "select", "--stack", "primary", "--non-interactive"],
    ["config", "--show-secrets", "--json", "--stack", "primary", "--non-interactive"],
    ["config", "set-all", "--stack", "primary", "--path", "--plaintext", "fp-dr:fence.mode=isolate", "--plaintext", "fp-dr:fence.requestId=fence-20250901t120000z-0001", "--non-interactive"],
    [
      "up", "--yes", "--skip-preview", "--message", "fp-dr: fence primary fence-20250901t120000z-0001",
      "--target", "urn:pulumi:primary::fp-dr::fp-dr:site:Site$fp-dr:site:PostgresHost$aws:ec2/instance:Instance::primary-host-instance",
      "--exec-kind", "auto.local", "--stack", "primary", "--non-interactive",
    ],
    ...outputCalls("primary"),
    historyCall("primary"),
  ]);
});

test("a DNS answer that never moves ends the swap with DNS_FAILED at pulumi.dnsTimeout (5 min on the injected clock, polled every 5 s), naming the last answer", async () => {
  let polls = 0;
  w = await world({ primaryRegionUp: true, resolver: () => async () => (++polls, [addresses.primary]) });
  await assert.rejects(
    w.engine.swapDns("secondary"),
    (e: unknown) => e instanceof DrError && e.code === "DNS_FAILED" && new RegExp(`db\\.fp\\.internal still answers ${addresses.primary.replace(/\./g, "\\.")} after 300 s, not ${addresses.secondary.replace(/\./g, "\\.")}`).test(e.message),
  );
  assert.equal(polls, 300 / 5 + 1, "at once, then every 5 s up to the bound");
});

test("fencing never throws when the region stops answering during the update", async () => {
  w = await world({ primaryRegionUp: true });
  let probes = 0;
  const engine = new PulumiEngine({
    ops: await openLocalWorkspace({ workDir: repoRoot, pulumiCommand: w.cli, backendUrl }),
    config: drConfig(),
    regionProbe: async () => ({ reachable: ++probes === 1, detail: probes === 1 ? "answered" : "connect ETIMEDOUT" }),
  });
  w.cli.failNext((a) => a[0] === "up", "error: operation error EC2: ModifyInstanceAttribute, https response error StatusCode: 0, dial tcp: i/o timeout\n");
  const fence = await engine.fence("primary");
  assert.equal(fence.outcome, "unreachable");
  assert.match(fence.detail, /stopped answering while fencing/);
});

/** The drill stack's config: the secondary's, minus what a drill must not have, plus the overrides. */
const drillConfigCall = [
  "config", "set-all", "--stack", drill, "--path",
  "--plaintext", "aws:region=eu-west-1",
  "--plaintext", "pulumi:disable-default-providers[0]=aws",
  "--plaintext", "pulumi:disable-default-providers[1]=postgresql",
  "--plaintext", "fp-dr:environment=production",
  "--plaintext", "fp-dr:stanza=fp",
  "--plaintext", "fp-dr:database=financial_planning",
  "--plaintext", "fp-dr:network.vpcCidr=10.30.0.0/16",
  "--plaintext", "fp-dr:host.instanceType=r6i.xlarge",
  "--plaintext", "fp-dr:host.dataVolumeGiB=500",
  "--plaintext", "fp-dr:host.dataVolumeIops=6000",
  "--plaintext", "fp-dr:host.dataVolumeThroughputMiBs=250",
  "--plaintext", "fp-dr:host.toolkitUrl=s3://fp-dr-artifacts-eu-west-1/releases/fp-dr-0.1.0.tgz",
  "--plaintext", "fp-dr:repository.path=/pgbackrest",
  "--plaintext", "fp-dr:repository.objectLockMode=COMPLIANCE",
  "--plaintext", "fp-dr:repository.retention.full=7",
  "--plaintext", "fp-dr:repository.retention.days=35",
  "--plaintext", "fp-dr:pgbackrest.processMax=4",
  "--plaintext", "fp-dr:pgbackrest.compressType=lz4",
  "--plaintext", "fp-dr:pgbackrest.archiveAsync=true",
  "--plaintext", "fp-dr:pgbackrest.archivePushQueueMax=20GiB",
  "--plaintext", "fp-dr:access.via=ssm",
  "--plaintext", "fp-dr:access.hostReachable=false",
  "--plaintext", "fp-dr:access.ssh.user=admin",
  "--plaintext", "fp-dr:access.ssh.publicKey=ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPlaceholderPublicKeyOfTheDrAutomation00000 dr-automation",
  "--secret", `fp-dr:repoCipherPass=${testSecrets.repoCipherPass}`,
  "--secret", `fp-dr:sshPrivateKey=${testSecrets.sshPrivateKey}`,
  "--secret", `fp-dr:adminPassword=${testSecrets.adminPassword}`,
  "--plaintext", "fp-dr:role=drill",
  "--plaintext", `fp-dr:drill.id=${drillId}`,
  "--plaintext", "fp-dr:drill.expiresAt=2025-09-02T00:00:00.000Z",
  // Its own port forwards (infra/config/ports.ts, derived from the drill id), not the secondary's.
  "--plaintext", `fp-dr:access.ssh.localPort=${drillPorts.ssh}`,
  "--plaintext", `fp-dr:access.postgres.localPort=${drillPorts.postgres}`,
  "--non-interactive",
];

const drillPhaseTwo = [
  ["up", "--yes", "--skip-preview", "--message", `fp-dr: drill ${drillId}`, "--exec-kind", "auto.local", "--stack", drill, "--non-interactive"],
  ...outputCalls(drill),
  historyCall(drill),
];

const createDrillCalls = [
  ["stack", "select", "--stack", drill, "--non-interactive"],
  ["stack", "init", drill, "--secrets-provider", secretsProvider, "--non-interactive"],
  ["config", "--show-secrets", "--json", "--stack", "secondary", "--non-interactive"],
  drillConfigCall,
  ["config", "--show-secrets", "--json", "--stack", drill, "--non-interactive"],
  ["up", "--yes", "--skip-preview", "--message", `fp-dr: drill ${drillId} (host)`, "--exec-kind", "auto.local", "--stack", drill, "--non-interactive"],
  ...outputCalls(drill),
  historyCall(drill),
  ["config", "set-all", "--stack", drill, "--path", "--plaintext", "fp-dr:access.hostReachable=true", "--non-interactive"],
  ...drillPhaseTwo,
];

const drillRestoreUp = [
  "up", "--yes", "--skip-preview", "--message", "fp-dr: restore restore-20250901t120000z-0001",
  "--target", `urn:pulumi:${drill}::fp-dr::fp-dr:site:Site$fp-dr:site:Restore::${drill}-restore`,
  "--target", `urn:pulumi:${drill}::fp-dr::fp-dr:site:Site$fp-dr:site:Restore$command:remote:Command::${drill}-restore-pgbackrest`,
  "--exec-kind", "auto.local", "--stack", drill, "--non-interactive",
];

const drillRestoreBeforeUp = [
  ["config", "--show-secrets", "--json", "--stack", drill, "--non-interactive"],
  ...outputCalls(drill),
  ...outputCalls("primary"),
  ["config", "rm-all", "--stack", drill, "fp-dr:restore", "--non-interactive"],
  [
    "config", "set-all", "--stack", drill, "--path",
    "--plaintext", "fp-dr:restore.requestId=restore-20250901t120000z-0001",
    "--plaintext", "fp-dr:restore.mode=pause",
    "--plaintext", "fp-dr:restore.repo=1",
    "--plaintext", "fp-dr:restore.allowOverwrite=true",
    "--plaintext", `fp-dr:restore.targetName=${restorePoint.name}`,
    "--plaintext", "fp-dr:restore.timeout=14400s",
    "--non-interactive",
  ],
];

const destroyDrillCalls = [
  ["destroy", "--yes", "--skip-preview", "--exec-kind", "auto.local", "--stack", drill, "--non-interactive"],
  historyCall(drill),
  ["stack", "rm", "--yes", drill, "--non-interactive"],
];


test("drill: a drill-<id> stack from the secondary's config, two-phase up, targeted restore, destroy and stack rm", async () => {
  w = await world({ primaryRegionUp: true });
  const { cli, engine, log } = w;

  const ep = await engine.createDrillSite(drillId);
  assert.equal(ep.site, drill);
  assert.deepEqual(cli.take(), createDrillCalls);
  // The secondary's DNS, restore request, paging, Incident Manager and offsite repository stay behind.
  const config = cli.stacks.get(drill)!.config;
  for (const k of ["dns", "restore", "incidentManager", "alerting", "escalation", "offsite", "protect", "drillRunner"]) assert.equal(config[`fp-dr:${k}`], undefined, k);
  assert.equal(config["fp-dr:adminPassword"].secret, true);

  await engine.restore({ site: drill, repo: 2, target: restorePoint, overwrite: true });
  assert.deepEqual(cli.take(), [...drillRestoreBeforeUp, drillRestoreUp, ...outputCalls(drill), historyCall(drill)]);

  await engine.destroyDrillSite(drillId);
  assert.deepEqual(cli.take(), destroyDrillCalls);
  assert.equal(cli.stacks.has(drill), false);
  // Idempotent: a second destroy only finds the stack gone.
  await engine.destroyDrillSite(drillId);
  assert.deepEqual(cli.take(), [["stack", "select", "--stack", drill, "--non-interactive"]]);

  assertNoRefresh(cli.calls.map((c) => c.args));
  assert.ok(log.includes(`access.close ${drill}`));
  // Its forwards are its own, and the restore is awaited paused at the restore point.
  const opened = log.filter((l) => l.startsWith(`access.open ${drill} `));
  assert.ok(opened.length > 0 && opened.every((l) => l.endsWith(`ssh:${drillPorts.ssh} pg:${drillPorts.postgres}`)), opened.join("\n"));
  assert.ok(log.includes(`db.waitForRecovery ${drill} pause 127.0.0.1:${drillPorts.postgres} as fp_admin`), log.join("\n"));
  assert.ok(!log.some((l) => l.includes("secondary")), "a drill never touches the secondary's host");
});

test("a drill whose restore fails still destroys and removes its stack", async () => {
  w = await world({ primaryRegionUp: true });
  const { cli, engine } = w;
  await engine.createDrillSite(drillId);
  cli.take();
  cli.failNext(
    (a) => a[0] === "up" && a.includes("--target"),
    `error: update failed\n\n  command:remote:Command (${drill}-restore-pgbackrest):\n    error: Process exited with status 3: running "bash -s":\n    refusing to restore over a running primary holding data (request restore-20250901t120000z-0001)\n`,
  );
  await assert.rejects(engine.restore({ site: drill, repo: 2, target: restorePoint, overwrite: true }), (e: unknown) => {
    assert.ok(e instanceof DrError);
    assert.equal(e.code, "PULUMI_FAILED");
    assert.match(e.message, /^while restoring into drill-20250901t040000z/);
    assert.match(e.message, /refusing to restore over a running primary/);
    return true;
  });
  // The failed update: nothing is read after it.
  assert.deepEqual(cli.take(), [...drillRestoreBeforeUp, drillRestoreUp]);

  await engine.destroyDrillSite(drillId);
  assert.deepEqual(cli.take(), destroyDrillCalls);
  assert.equal(cli.stacks.has(drill), false);
});

test("a drill whose creation fails half way resumes without redoing phase one, and is destroyed and removed", async () => {
  w = await world({ primaryRegionUp: true });
  const { cli, engine } = w;
  cli.failNext((a) => a[0] === "up" && a.includes("fp-dr: drill 20250901t040000z"), "error: update failed\n\n  aws:ec2:Instance (drill-20250901t040000z-host-instance):\n    error: creating EC2 Instance: InsufficientInstanceCapacity\n");
  await assert.rejects(engine.createDrillSite(drillId), (e: unknown) => e instanceof DrError && e.code === "PULUMI_FAILED");
  // Phase one ran (resources exist), phase two failed.
  assert.deepEqual(cli.take(), createDrillCalls.slice(0, 11));
  // A resumed run keeps the drill's config (same expiry) and goes straight to phase two.
  await engine.createDrillSite(drillId);
  assert.deepEqual(cli.take(), [
    ["config", "--show-secrets", "--json", "--stack", drill, "--non-interactive"],
    ...outputCalls(drill),
    ...drillPhaseTwo,
  ]);
  await engine.destroyDrillSite(drillId);
  assert.deepEqual(cli.take(), destroyDrillCalls);
});

test("drill stacks left behind: listed with their expiry, destroyed by id also after a failed destroy, and reaped only when expired", async () => {
  w = await world({ primaryRegionUp: true });
  const { cli, engine } = w;
  // A drill running now, and one whose runner died a month ago (its expiry long past).
  const stale = "20250801t040000z";
  await engine.createDrillSite(stale);
  const drillConfig = cli.stacks.get(`drill-${stale}`)!.config["fp-dr:drill"];
  drillConfig.objectValue = { ...(drillConfig.objectValue as object), expiresAt: "2025-08-01T16:00:00.000Z" };
  await engine.createDrillSite(drillId);
  cli.take();

  const listed = await engine.listDrillSites();
  assert.deepEqual(listed, [
    { id: stale, stack: `drill-${stale}`, expiresAt: "2025-08-01T16:00:00.000Z", expired: true },
    { id: drillId, stack: drill, expiresAt: "2025-09-02T00:00:00.000Z", expired: false },
  ]);
  assert.deepEqual(cli.take(), [
    ["stack", "ls", "--json", "--non-interactive"],
    ["config", "--show-secrets", "--json", "--stack", `drill-${stale}`, "--non-interactive"],
    ["config", "--show-secrets", "--json", "--stack", drill, "--non-interactive"],
  ]);

  // dr drill destroy <id>: the destroy fails (a dependency AWS had not released yet) ...
  cli.failNext((a) => a[0] === "destroy", "error: update failed\n\n  aws:ec2:Vpc (drill-20250801t040000z-network-vpc):\n    error: deleting EC2 VPC: DependencyViolation\n");
  await assert.rejects(engine.destroyDrillSite(stale), (e: unknown) => e instanceof DrError && e.code === "PULUMI_FAILED" && /DependencyViolation/.test(e.message));
  assert.ok(cli.stacks.has(`drill-${stale}`), "a failed destroy leaves the stack to try again");
  cli.take();
  // ... and the same command again finishes it: destroy, then stack rm.
  await engine.destroyDrillSite(stale);
  const staleStack = `drill-${stale}`;
  assert.deepEqual(cli.take(), [
    ["destroy", "--yes", "--skip-preview", "--exec-kind", "auto.local", "--stack", staleStack, "--non-interactive"],
    historyCall(staleStack),
    ["stack", "rm", "--yes", staleStack, "--non-interactive"],
  ]);
  assert.equal(cli.stacks.has(staleStack), false);

  // The reaper: another stale drill goes, the running one stays.
  await engine.createDrillSite(stale);
  cli.stacks.get(staleStack)!.config["fp-dr:drill"].objectValue = { id: stale, expiresAt: "2025-08-01T16:00:00.000Z" };
  cli.take();
  const reaped = await reapExpiredDrills(engine);
  assert.deepEqual(reaped, { destroyed: [stale], kept: [drillId], failed: [] });
  assert.deepEqual([...cli.stacks.keys()].filter((k) => k.startsWith("drill-")), [drill]);
  assert.ok(!cli.take().some((c) => c[0] === "destroy" && c.includes(drill)), "the running drill is never destroyed by the reaper");
});

test("a concurrent update maps to STACK_LOCKED (retryable) on Pulumi Cloud and on a self-managed backend", async () => {
  w = await world({ primaryRegionUp: false });
  const { cli, engine } = w;
  const cases = [
    "error: [409] Conflict: Another update is currently in progress.\n",
    "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`.\n  s3://fp-dr-pulumi-state/.pulumi/locks/organization/fp-dr/secondary/5f1c.json: created by root@ip-10-30-1-5 (pid 4242) at 2025-09-01T11:58:00Z\n",
  ];
  for (const stderr of cases) {
    cli.failNext((a) => a[0] === "up", stderr);
    await assert.rejects(engine.bringUp("secondary"), (e: unknown) => {
      assert.ok(e instanceof DrError, String(e));
      assert.equal(e.code, "STACK_LOCKED");
      assert.equal(e.retryable, true);
      assert.match(e.message, /^while bringing up secondary \(stack secondary\): .*stack secondary is locked by another update/);
      assert.match(e.hint ?? "", /pulumi cancel -s secondary/);
      return true;
    });
  }
  // Any other failure is PULUMI_FAILED, not retryable, with the CLI's own lines.
  cli.failNext((a) => a[0] === "up", "error: update failed\n\n  aws:route53:Record (secondary-dns-primary):\n    error: InvalidChangeBatch\n");
  await assert.rejects(engine.bringUp("secondary"), (e: unknown) => e instanceof DrError && e.code === "PULUMI_FAILED" && !e.retryable && /InvalidChangeBatch/.test(e.message));
  // A site whose stack is missing from the backend.
  cli.stacks.delete("secondary");
  const fresh = new PulumiEngine({ ops: await openLocalWorkspace({ workDir: repoRoot, pulumiCommand: cli, backendUrl }), config: drConfig() });
  await assert.rejects(fresh.bringUp("secondary"), (e: unknown) => e instanceof DrError && e.code === "STACK_NOT_FOUND");
});

test("secrets set through the CLI never appear in an error message", async () => {
  w = await world({ primaryRegionUp: true });
  const { cli, engine } = w;
  cli.failNext((a) => a[0] === "config" && a[1] === "set-all" && a.includes("--secret"), `error: could not encrypt fp-dr:adminPassword=${testSecrets.adminPassword}\n`);
  await assert.rejects(engine.createDrillSite(drillId), (e: unknown) => {
    assert.ok(e instanceof DrError);
    assert.ok(!e.message.includes(testSecrets.adminPassword), e.message);
    return true;
  });
});

const promoteCalls = (stack: string, id: string) => [
  ["stack", "select", "--stack", stack, "--non-interactive"],
  ["config", "--show-secrets", "--json", "--stack", stack, "--non-interactive"],
  ["config", "rm-all", "--stack", stack, "fp-dr:promote", "--non-interactive"],
  ["config", "set-all", "--stack", stack, "--path", "--plaintext", `fp-dr:promote.requestId=${id}`, "--plaintext", "fp-dr:promote.waitSeconds=60", "--non-interactive"],
  [
    "up", "--yes", "--skip-preview", "--message", `fp-dr: promote ${stack} ${id}`,
    "--target", `urn:pulumi:${stack}::fp-dr::fp-dr:site:Site$fp-dr:site:Promote::${stack}-promote`,
    "--target", `urn:pulumi:${stack}::fp-dr::fp-dr:site:Site$fp-dr:site:Promote$command:remote:Command::${stack}-promote-pg-promote`,
    "--exec-kind", "auto.local", "--stack", stack, "--non-interactive",
  ],
  ...outputCalls(stack),
  historyCall(stack),
  ...outputCalls(stack),
];

const dnsSwapCalls = (to: string, replacement?: string) => [
  ["config", "--show-secrets", "--json", "--stack", "secondary", "--non-interactive"],
  ["config", "set-all", "--stack", "secondary", "--path", "--plaintext", `fp-dr:dns.activeSite=${to}`, "--non-interactive"],
  [
    "up", "--yes", "--skip-preview", "--message", `fp-dr: point db.fp.internal at ${replacement ?? to}`,
    "--target", "urn:pulumi:secondary::fp-dr::fp-dr:site:Site$fp-dr:site:FailoverDns$aws:route53/record:Record::secondary-dns-primary",
    "--target", "urn:pulumi:secondary::fp-dr::fp-dr:site:Site$fp-dr:site:FailoverDns$aws:route53/record:Record::secondary-dns-secondary",
    // The standby's write access to the repositories follows the active site.
    "--target", "urn:pulumi:secondary::fp-dr::fp-dr:site:Site$fp-dr:site:PostgresHost$aws:iam/rolePolicy:RolePolicy::secondary-host-role-policy",
    // A replacement host: the primary record's address is read again from the primary's outputs.
    ...(replacement ? ["--target", "urn:pulumi:secondary::fp-dr::fp-dr:site:Site$pulumi:pulumi:StackReference::secondary-primary-stack"] : []),
    "--exec-kind", "auto.local", "--stack", "secondary", "--non-interactive",
  ],
  ...outputCalls("secondary"),
  historyCall("secondary"),
];

test("failover by promotion, primary region down: the fence touches nothing; a promote request and an update of its command alone; then the DNS swap", async () => {
  w = await world({ primaryRegionUp: false });
  const { cli, engine, log } = w;
  // Source and target from what the stacks record (the DNS stack's forced activeSite), never the answer.
  assert.deepEqual(await recordedPair(drConfig(), engine), { source: "primary", target: "secondary", targetFenced: false });
  cli.take();
  // The plan's order (plans/promote-failover.ts): fence, (catch up and gate over SQL), promote, DNS.
  assert.equal((await engine.fence("primary")).outcome, "unreachable");
  assert.deepEqual(cli.take(), []);
  const promoted = await engine.standbyRoles.promote("secondary");
  assert.deepEqual(cli.take(), promoteCalls("secondary", "promote-20250901t120000z-0001"));
  assert.match(promoted.detail, /^secondary takes writes at 0\/9000060 \(request promote-20250901t120000z-0001\)$/);
  assert.deepEqual(cli.stacks.get("secondary")!.config["fp-dr:promote"].objectValue, { requestId: "promote-20250901t120000z-0001", waitSeconds: 60 });
  await engine.swapDns("secondary");
  assert.deepEqual(cli.take(), dnsSwapCalls("secondary"));
  // The promotion is recorded: the next failover or switchover goes the other way, whatever DNS answers.
  assert.deepEqual(await recordedPair(drConfig(), engine), { source: "secondary", target: "primary", targetFenced: false });
  // The standby's restore request was not touched: promotion is not a restore.
  assert.equal((cli.stacks.get("secondary")!.config["fp-dr:restore"].objectValue as { requestId: string }).requestId, "standby-2025-09-01");
  assert.deepEqual(log, ["region.probe eu-central-1", "access.open secondary i-09f3e2d1c0b9a8765 ssh:2222 pg:15432", "db.waitForRecovery secondary promote 127.0.0.1:15432 as fp_admin"]);
  assertNoRefresh(cli.calls.map((c) => c.args));
});

test("switchover: clean stop and the shutdown checkpoint on the primary's host, promote request, DNS, the old primary restarted as a standby without a rebuild", async () => {
  w = await world({ primaryRegionUp: true });
  const { cli, engine, log, stdin } = w;
  const roles = engine.standbyRoles;
  // Stop writes: a clean shutdown, seen as stopped; the demotion token from pg_controldata.
  assert.equal(await roles.isStopped("primary"), false);
  await roles.stopCleanly("primary");
  assert.equal(await roles.isStopped("primary"), true);
  assert.deepEqual(await roles.shutdownToken("primary"), { lsn: "0/9000028", timeline: 1 });
  // Reading outputs only: no stack is selected or updated before the promotion.
  assert.ok(cli.take().every((c) => c[0] === "stack" && c[1] === "output"));
  await roles.promote("secondary");
  assert.deepEqual(cli.take(), promoteCalls("secondary", "promote-20250901t120000z-0001"));
  await engine.swapDns("secondary");
  assert.deepEqual(cli.take(), dnsSwapCalls("secondary"));
  await roles.restartAsStandby("primary", "secondary");
  assert.deepEqual(cli.take(), [
    ["stack", "select", "--stack", "primary", "--non-interactive"],
    ["config", "--show-secrets", "--json", "--stack", "primary", "--non-interactive"],
    ...outputCalls("primary"),
    ...outputCalls("secondary"),
  ]);
  const host = "host primary i-07f3e2d1c0b9a8765";
  assert.deepEqual(log.filter((l) => l.startsWith("host ")), [
    `${host}: sh -c systemctl is-active postgresql@15-main || true`,
    `${host}: sudo systemctl stop postgresql@15-main`,
    `${host}: sh -c systemctl is-active postgresql@15-main || true`,
    `${host}: sudo -u postgres /usr/lib/postgresql/15/bin/pg_controldata /var/lib/postgresql/15/main`,
    `${host}: sudo -u postgres touch /var/lib/postgresql/15/main/standby.signal`,
    `${host}: sudo systemctl start postgresql@15-main`,
    `${host}: bash -s <stdin>`,
  ]);
  // The stream settings point at the new primary; its password only in the passfile, on stdin.
  assert.equal(stdin.length, 1);
  assert.match(stdin[0], new RegExp(`primary_conninfo = 'host=${addresses.secondary.replace(/\./g, "\\.")} port=5432 user=fp_replication`));
  assert.ok(stdin[0].includes(`${addresses.secondary}:5432:replication:fp_replication:${testSecrets.replicationPassword}`));
  assert.ok(!log.join("\n").includes(testSecrets.replicationPassword), "the password is never on a command line");
  assertNoRefresh(cli.calls.map((c) => c.args));
});

test("a switchover refuses without a demotion token: a primary not shut down cleanly", async () => {
  w = await world({ primaryRegionUp: true });
  const running = controldata.replace("shut down", "in production");
  const engine = new PulumiEngine({
    ops: await openLocalWorkspace({ workDir: repoRoot, pulumiCommand: w.cli, backendUrl, secretsProvider }),
    config: drConfig(),
    hostCommands: async () => ({ stdout: running }),
  });
  await assert.rejects(engine.standbyRoles.shutdownToken("primary"), (e: unknown) => e instanceof DrError && e.code === "STANDBY_UNUSABLE" && /not shut down cleanly \(pg_controldata says "in production"\)/.test(e.message));
});

test("reprotect: the old primary's stack gets a standby request from the new primary's repository, pointing at it; the fence is lifted in the same targeted update", async () => {
  w = await world({ primaryRegionUp: true });
  const { cli, engine, log } = w;
  // Fenced by the failover (an earlier run): isolated.
  cli.stacks.get("primary")!.config["fp-dr:fence"] = { value: JSON.stringify({ mode: "isolate", requestId: "fence-20250901t115900z-0001" }), objectValue: { mode: "isolate", requestId: "fence-20250901t115900z-0001" } };
  const r = await engine.standbyRoles.reprotect("primary", "secondary");
  const id = "reprotect-20250901t120000z-0001";
  assert.equal(r.requestId, id);
  assert.deepEqual(cli.take(), [
    ["stack", "select", "--stack", "primary", "--non-interactive"],
    ["config", "--show-secrets", "--json", "--stack", "primary", "--non-interactive"],
    ...outputCalls("primary"),
    ...outputCalls("secondary"),
    ["config", "rm-all", "--stack", "primary", "fp-dr:restore", "fp-dr:fence", "--non-interactive"],
    [
      "config", "set-all", "--stack", "primary", "--path",
      "--plaintext", `fp-dr:restore.requestId=${id}`,
      "--plaintext", "fp-dr:restore.mode=standby",
      // The new primary's own bucket (eu-west-1) is the old primary's host's repo2.
      "--plaintext", "fp-dr:restore.repo=2",
      "--plaintext", "fp-dr:restore.allowOverwrite=true",
      "--plaintext", `fp-dr:restore.primaryHost=${addresses.secondary}`,
      "--plaintext", "fp-dr:restore.primarySlot=fp_standby",
      "--plaintext", "fp-dr:restore.timeout=14400s",
      "--non-interactive",
    ],
    [
      "up", "--yes", "--skip-preview", "--message", `fp-dr: reprotect primary as a standby of secondary ${id}`,
      "--target", "urn:pulumi:primary::fp-dr::fp-dr:site:Site$fp-dr:site:PostgresHost$aws:ec2/instance:Instance::primary-host-instance",
      "--target", "urn:pulumi:primary::fp-dr::fp-dr:site:Site$fp-dr:site:Restore::primary-restore",
      "--target", "urn:pulumi:primary::fp-dr::fp-dr:site:Site$fp-dr:site:Restore$command:remote:Command::primary-restore-pgbackrest",
      "--target", "urn:pulumi:primary::fp-dr::fp-dr:site:Site$fp-dr:site:StandbyStream::primary-stream",
      "--target", "urn:pulumi:primary::fp-dr::fp-dr:site:Site$fp-dr:site:StandbyStream$command:remote:Command::primary-stream-conninfo",
      "--exec-kind", "auto.local", "--stack", "primary", "--non-interactive",
    ],
    ...outputCalls("primary"),
    historyCall("primary"),
  ]);
  const config = cli.stacks.get("primary")!.config;
  assert.equal(config["fp-dr:fence"], undefined, "the fence is gone: the site is a standby now");
  assert.deepEqual(config["fp-dr:restore"].objectValue, { requestId: id, mode: "standby", repo: 2, allowOverwrite: true, primaryHost: addresses.secondary, primarySlot: "fp_standby", timeout: "14400s" });
  assert.equal(log[log.length - 1], "db.waitForRecovery primary standby 127.0.0.1:15432 as fp_admin");
  assertNoRefresh(cli.calls.map((c) => c.args));
});

test("a host config change runs exactly this on the host through SSM Run Command (the host-apply document the association starts)", () => {
  const doc = hostApplyDocument("eu-central-1") as { schemaVersion: string; mainSteps: { action: string; inputs: { runCommand: string[] } }[] };
  assert.equal(doc.schemaVersion, "2.2");
  assert.equal(doc.mainSteps[0].action, "aws:runShellScript");
  assert.deepEqual(doc.mainSteps[0].inputs.runCommand, [
    "set -eu",
    'echo "fp-dr host config version {{ configVersion }}"',
    'timeout 1800 cloud-init status --wait >/dev/null || { echo "cloud-init did not finish: see /var/log/fp-dr-bootstrap.log" >&2; exit 1; }',
    "umask 077",
    "aws ssm get-parameter --region eu-central-1 --name '{{ specParameter }}' --query Parameter.Value --output text >/etc/fp-dr/host-spec.json.new",
    "mv -f /etc/fp-dr/host-spec.json.new /etc/fp-dr/host-spec.json",
    "/usr/local/bin/dr --config /etc/fp-dr/dr.config.yaml host apply --spec /etc/fp-dr/host-spec.json --json",
  ]);
  // The last line parses as the CLI's own command, with the options it declares.
  const apply = buildProgram().commands.find((c) => c.name() === "host")!.commands.find((c) => c.name() === "apply")!;
  assert.deepEqual(apply.options.map((o) => o.long).filter((o) => o === "--spec"), ["--spec"]);
});

/**
 * The AWS CLI as ssmRunCommand calls it, recorded: a script on PATH's place that appends its
 * arguments to a log and answers send-command with a command id and get-command-invocation
 * with Success, as `aws ssm … --output json` does.
 */
function recordingAwsCli(): { command: string; env: Record<string, string>; calls: () => string[][] } {
  const dir = mkdtempSync(join(tmpdir(), "fp-dr-aws-cli-"));
  worlds.push(dir);
  const log = join(dir, "calls.jsonl");
  const command = join(dir, "aws");
  writeFileSync(
    command,
    `#!${process.execPath}
const a = process.argv.slice(2);
require("node:fs").appendFileSync(process.env.FAKE_AWS_LOG, JSON.stringify(a) + "\\n");
if (a[1] === "send-command") console.log(JSON.stringify({ Command: { CommandId: "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9", Status: "Pending" } }));
else if (a[1] === "get-command-invocation") console.log(JSON.stringify({ Status: "Success", StandardOutputContent: "", StandardErrorContent: "" }));
else process.exit(2);
`,
    { mode: 0o755 },
  );
  return { command, env: { FAKE_AWS_LOG: log }, calls: () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as string[]) : []) };
}

/** What post-checks' first backup sends through SSM Run Command to a host, exactly. */
const firstBackupSsmCalls = (site: string, region: string, instanceId: string) => [
  [
    "ssm", "send-command", "--region", region, "--instance-ids", instanceId, "--document-name", "AWS-RunShellScript",
    "--comment", `fp-dr on ${site}`,
    "--parameters", JSON.stringify({ commands: ["sudo systemctl start --no-block fp-dr-backup-full-repo1.service"] }),
    "--output", "json",
  ],
  ["ssm", "get-command-invocation", "--region", region, "--command-id", "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9", "--instance-id", instanceId, "--output", "json"],
];

test("datacenter failover, the whole sequence after the restore: open, DNS, the first write's answer, post-checks' first full backup on the new primary through SSM Run Command", async () => {
  const aws = recordingAwsCli();
  w = await world({ primaryRegionUp: false, hostCommands: ssmRunCommand({ command: aws.command, env: aws.env, pollMs: 1 }) });
  const { cli, engine, log } = w;
  assert.equal((await engine.fence("primary")).outcome, "unreachable");
  await engine.bringUp("secondary");
  await engine.restore({ site: "secondary", repo: 2, target: { kind: "latest" }, overwrite: true });
  cli.take();
  // open (SQL), swap DNS, the first write goes where the service name answers, post-checks.
  await engine.openForWrites("secondary");
  assert.deepEqual(cli.take(), [["config", "--show-secrets", "--json", "--stack", "secondary", "--non-interactive"], ...outputCalls("secondary")]);
  await engine.swapDns("secondary");
  assert.deepEqual(cli.take(), dnsSwapCalls("secondary"));
  assert.equal(await engine.activeSite(), "secondary");
  assert.equal((await engine.endpoint("secondary")).app.host, "127.0.0.1");
  cli.take();
  await engine.startBackup("secondary", "full");
  assert.deepEqual(cli.take(), outputCalls("secondary"), "post-checks read the host's instance from its stack, nothing else");
  assert.deepEqual(aws.calls(), firstBackupSsmCalls("secondary", "eu-west-1", "i-09f3e2d1c0b9a8765"));
  assert.ok(log.includes("db.promote secondary"));
});

test("hardware failure, the primary's region answering: fence the old host, a replacement host in the primary's stack in two phases, restore from its own region's repository, DNS to its new address, post-checks on it through SSM Run Command", async () => {
  const aws = recordingAwsCli();
  const site = "replacement-kx3j2";
  let polls = 0;
  let swapped = false;
  w = await world({
    primaryRegionUp: true,
    hostCommands: ssmRunCommand({ command: aws.command, env: aws.env, pollMs: 1 }),
    // Route 53 answers the old host until the primary record was updated with the primary's
    // outputs read again (the stack reference targeted), then, after its TTL, the replacement.
    resolver: (cli) => async () => {
      swapped ||= cli.calls.some((c) => c.args[0] === "up" && c.args.some((a) => a.endsWith("::secondary-primary-stack")));
      return swapped && ++polls >= 3 ? [replacementHost.privateIp] : [addresses.primary];
    },
  });
  const { cli, engine, log } = w;
  cli.take();

  // Fence: the old host is isolated (its region answers), as for any failover.
  assert.equal((await engine.fence("primary")).outcome, "isolated");
  cli.take();

  // Bring up the replacement: phase one declares the host alone, the path to it is opened (the
  // old host's closed first), phase two moves the site's host-bound resources to it.
  const ep = await engine.bringUp(site);
  assert.deepEqual(cli.take(), [
    ["config", "--show-secrets", "--json", "--stack", "primary", "--non-interactive"],
    ["config", "rm-all", "--stack", "primary", "fp-dr:replacement", "--non-interactive"],
    ["config", "set-all", "--stack", "primary", "--path", "--plaintext", "fp-dr:replacement.id=kx3j2", "--plaintext", "fp-dr:replacement.reachable=false", "--plaintext", "fp-dr:replacement.oldHostFence=fence-20250901t120000z-0001", "--non-interactive"],
    ["up", "--yes", "--skip-preview", "--message", "fp-dr: replacement host kx3j2 (host)", "--exec-kind", "auto.local", "--stack", "primary", "--non-interactive"],
    ...outputCalls("primary"),
    historyCall("primary"),
    ["config", "set-all", "--stack", "primary", "--path", "--plaintext", "fp-dr:replacement.id=kx3j2", "--plaintext", "fp-dr:replacement.reachable=true", "--plaintext", "fp-dr:replacement.oldHostFence=fence-20250901t120000z-0001", "--non-interactive"],
    ["up", "--yes", "--skip-preview", "--message", "fp-dr: bring up replacement-kx3j2", "--exec-kind", "auto.local", "--stack", "primary", "--non-interactive"],
    ...outputCalls("primary"),
    historyCall("primary"),
  ]);
  // The decision is in the control document, so an operator's `pulumi up` keeps the new host.
  assert.deepEqual((await controlDoc(w.store)).stacks.primary?.replacement, { id: "kx3j2", reachable: true, oldHostFence: "fence-20250901t120000z-0001" });
  assert.deepEqual({ site: ep.site, address: ep.address }, { site, address: replacementHost.privateIp });

  // Restore from the site's own region's repository (repo1), on the replacement.
  const restored = await engine.restore({ site, repo: 1, target: { kind: "latest" }, overwrite: true });
  assert.deepEqual(cli.take(), [
    ["config", "--show-secrets", "--json", "--stack", "primary", "--non-interactive"],
    ...outputCalls("primary"),
    ...outputCalls("primary"),
    ...restoreRequestCalls("primary", "restore-20250901t120000z-0002"),
  ]);
  assert.equal(restored.site, site);

  await engine.openForWrites(site);
  assert.deepEqual(cli.take(), [["config", "--show-secrets", "--json", "--stack", "primary", "--non-interactive"], ...outputCalls("primary")]);
  const dns = await engine.swapDns(site);
  assert.deepEqual(cli.take(), [
    ["stack", "select", "--stack", "secondary", "--non-interactive"],
    ...dnsSwapCalls("primary", site),
    ...outputCalls("primary"),
  ]);
  assert.deepEqual(dns, { address: replacementHost.privateIp, waitedMs: 10_000 });
  assert.equal(await engine.activeSite(), site, "the first write goes to the replacement, by its run's name");
  cli.take();

  await engine.startBackup(site, "full");
  assert.deepEqual(cli.take(), outputCalls("primary"));
  assert.deepEqual(aws.calls(), firstBackupSsmCalls(site, "eu-central-1", replacementHost.instanceId));
  // The old host's path closed before the new one's opened; every SQL step on the replacement.
  const reached = `access.open ${site} ${replacementHost.instanceId} ssh:2222 pg:15432`;
  assert.deepEqual(log, ["region.probe eu-central-1", "access.close primary", reached, reached, reached, `db.waitForRecovery ${site} standby 127.0.0.1:15432 as fp_admin`, reached, `db.promote ${site}`]);

  // A later failover fences the site again: the replacement's instance is updated too.
  await engine.fence("primary");
  const up = cli.take().find((a) => a[0] === "up")!;
  assert.deepEqual(up.filter((_, i) => up[i - 1] === "--target"), [
    "urn:pulumi:primary::fp-dr::fp-dr:site:Site$fp-dr:site:PostgresHost$aws:ec2/instance:Instance::primary-host-instance",
    "urn:pulumi:primary::fp-dr::fp-dr:site:Site$fp-dr:site:PostgresHost$aws:ec2/instance:Instance::primary-replacement-instance",
  ]);
});
