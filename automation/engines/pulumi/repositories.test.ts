// The pulumi engine's pgBackRest access to the S3 repositories (./repositories.ts). Proves:
//   pure — the rendered pgbackrest.conf for the AWS sites: each bucket in its own region at
//     s3.<region>.amazonaws.com, host-style, TLS verified, the instance profile (key type auto)
//     or the standard AWS_* keys with their session token; encrypted with the passphrase from
//     the environment or a private file; read-only (no async archiving, no expiry); repo1/repo2
//     taken from the primary stack's outputs, the secondary's bucket standing in for repo2;
//     refusals for what is missing, none of them quoting a secret
//   real — the same code path, from `openPulumiEngine` (Automation API on a recording double of
//     the Pulumi CLI: there is no Pulumi CLI here) to pgBackRest 2.45 reading the lab's S3 store
//     over TLS with its CA: catalog lists the lab's backup set and WAL, verify passes,
//     planRestore (the failover's assess pre-flight) picks the newest set, also into a hardware
//     failover's replacement host not declared yet (a new, empty host); repo1 "in the failed
//     region" does not hold up repo2; the file is 0600 in a 0700 directory of the user pgBackRest
//     runs as; a refused key leaves no secret in the error or in pgBackRest's own log
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseSiteOutputs, type SiteOutputs } from "../../../infra/outputs";
import { readCatalog } from "../../backups/catalog";
import { verifyRepositories } from "../../backups/verify";
import { parseConfig } from "../../core/load-config";
import type { DrConfig, PulumiRepositorySettings } from "../../config/schema";
import { DrError } from "../../core/errors";
import { redact } from "../../core/redact";
import { freePort } from "../../system/ports";
import { serviceUser } from "../../system/service-user";
import { startTestLab, type TestLab } from "../../../test/harness/lab";
import type { SiteDatabase } from "./access";
import { RecordingPulumiCli } from "./cli-double";
import { backendUrl, fakeProgram, repoRoot, storedConfigFromStackFile, testSecrets } from "./contract-fixtures";
import { openLocalWorkspace, type LocalWorkspaceStackOps } from "./local-workspace";
import { openPulumiEngine } from "./open";
import {
  PulumiRepositories,
  renderRepositoriesConf,
  repositoryCipherPass,
  repositoryCredentials,
  repositoryLocations,
  s3Endpoint,
  type RepositoriesConfInput,
} from "./repositories";
import type { PulumiEngine } from "./engine";
import { startSecretsManagerDouble } from "./secrets-manager-double";
import { cipherPassSecretName } from "../../../infra/naming";

/** The conf's lines as key → value (section headers and comments dropped). */
function lines(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of text.split("\n")) {
    const eq = l.indexOf("=");
    if (eq > 0 && !l.startsWith("#")) out.set(l.slice(0, eq), l.slice(eq + 1));
  }
  return out;
}

function outputsOf(stackFile: string): SiteOutputs {
  return parseSiteOutputs(fakeProgram(stackFile, storedConfigFromStackFile(stackFile)));
}

/** Everything a DrError could show: message, hint, JSON and the messages of its causes. */
function everythingShown(e: unknown): string {
  const parts: string[] = [];
  for (let c: unknown = e; c; c = (c as { cause?: unknown }).cause) {
    parts.push(String((c as Error).message));
    if (c instanceof DrError) parts.push(c.hint ?? "", JSON.stringify(c));
  }
  return parts.join("\n");
}

function settings(over: Partial<PulumiRepositorySettings> = {}): PulumiRepositorySettings {
  return { ...parseConfig({}).pulumi.repositories, ...over };
}

/** The pulumi engine's state (journal, shared store, own workspace) for these tests: never /var/lib/fp-dr. */
const stateDir = mkdtempSync(join(tmpdir(), "fp-dr-repositories-state-"));
process.on("exit", () => rmSync(stateDir, { recursive: true, force: true }));

const awsKeys = { AWS_ACCESS_KEY_ID: "AKIAFPDRTESTKEY00001", AWS_SECRET_ACCESS_KEY: "test-aws-secret-key-5f0e9c8b7a6d5e4f3a2b1c0d", AWS_SESSION_TOKEN: "test-aws-session-token-IQoJb3JpZ2luX2VjEJ7wEaCWV1" };

describe("pgbackrest.conf for the AWS sites (pure)", () => {
  const primary = outputsOf("Pulumi.primary.yaml");
  const secondary = outputsOf("Pulumi.secondary.yaml");
  const base = (over: Partial<RepositoriesConfInput> = {}): RepositoriesConfInput => ({
    locations: repositoryLocations(primary),
    connections: { repo1: settings().repo1, repo2: settings().repo2 },
    credentials: { kind: "instance-profile" },
    cipherPass: testSecrets.repoCipherPass,
    dir: "/run/fp-dr-test",
    tuning: parseConfig({}).pgbackrest,
    ioTimeout: settings().ioTimeout,
    ...over,
  });

  test("instance profile: each bucket at s3.<region>.amazonaws.com, host-style, TLS verified, key type auto, encrypted, read-only", () => {
    const c = lines(renderRepositoriesConf(base()));
    const expected: Record<string, string> = {
      "repo1-type": "s3",
      "repo1-path": "/pgbackrest",
      "repo1-s3-bucket": primary.repositories.repo1.bucket,
      "repo1-s3-region": "eu-central-1",
      "repo1-s3-endpoint": "s3.eu-central-1.amazonaws.com",
      "repo1-s3-uri-style": "host",
      "repo1-storage-verify-tls": "y",
      "repo1-s3-key-type": "auto",
      "repo1-cipher-type": "aes-256-cbc",
      "repo1-cipher-pass": testSecrets.repoCipherPass,
      "repo2-type": "s3",
      "repo2-s3-bucket": primary.repositories.repo2!.bucket,
      "repo2-s3-region": "eu-west-1",
      "repo2-s3-endpoint": "s3.eu-west-1.amazonaws.com",
      "repo2-s3-uri-style": "host",
      "repo2-s3-key-type": "auto",
      "repo2-cipher-pass": testSecrets.repoCipherPass,
      "pg1-path": "/run/fp-dr-test/pg1-placeholder",
      "log-path": "/run/fp-dr-test/log",
      "lock-path": "/run/fp-dr-test/lock",
      "expire-auto": "n",
      "io-timeout": "20",
      // The hosts' repository options: small files bundled.
      "repo1-bundle": "y",
      "repo2-bundle": "y",
    };
    for (const [k, v] of Object.entries(expected)) assert.equal(c.get(k), v, k);
    // The offsite bucket is the secondary region's own.
    assert.equal(c.get("repo2-s3-bucket"), secondary.repositories.repo1.bucket);
    // No keys with the instance profile; nothing that connects elsewhere or skips TLS checks.
    for (const k of ["s3-key", "s3-key-secret", "s3-token", "storage-host", "storage-port", "storage-ca-file"]) {
      assert.equal(c.get(`repo1-${k}`), undefined, k);
      assert.equal(c.get(`repo2-${k}`), undefined, k);
    }
    // This machine never archives (so never async) and never expires.
    assert.equal(c.get("archive-async"), undefined);
    assert.match(renderRepositoriesConf(base()), /^\[fp\]$/m, "the stanza from the outputs");
    assert.equal(s3Endpoint("cn-north-1"), "s3.cn-north-1.amazonaws.com.cn");
  });

  test("shared keys from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, for both repositories", () => {
    const credentials = repositoryCredentials({}, { ...awsKeys });
    assert.equal(credentials.kind, "environment", "keys in the environment are used by default");
    const c = lines(renderRepositoriesConf(base({ credentials })));
    for (const r of ["repo1", "repo2"]) {
      assert.equal(c.get(`${r}-s3-key-type`), "shared");
      assert.equal(c.get(`${r}-s3-key`), awsKeys.AWS_ACCESS_KEY_ID);
      assert.equal(c.get(`${r}-s3-key-secret`), awsKeys.AWS_SECRET_ACCESS_KEY);
      assert.equal(c.get(`${r}-s3-token`), awsKeys.AWS_SESSION_TOKEN);
    }
    // Long-lived keys: no token line.
    const { AWS_SESSION_TOKEN: _, ...longLived } = awsKeys;
    assert.equal(lines(renderRepositoriesConf(base({ credentials: repositoryCredentials({}, longLived) }))).get("repo1-s3-token"), undefined);
    // Asked for the instance profile: keys in the environment are ignored.
    assert.deepEqual(repositoryCredentials({ credentials: "instance-profile" }, { ...awsKeys }), { kind: "instance-profile" });
  });

  test("credentials: the instance profile without keys; refusals name what is missing and quote no secret", () => {
    assert.deepEqual(repositoryCredentials({}, {}), { kind: "instance-profile" });
    const profile = assert.throws(() => repositoryCredentials({}, { AWS_PROFILE: "fp-dr-ops" }), (e: DrError) => e.code === "CONFIG_INVALID" && /cannot read AWS profiles/.test(e.message) && /export-credentials/.test(e.hint ?? ""));
    void profile;
    try {
      repositoryCredentials({ credentials: "environment" }, { AWS_ACCESS_KEY_ID: awsKeys.AWS_ACCESS_KEY_ID, AWS_SESSION_TOKEN: awsKeys.AWS_SESSION_TOKEN });
      assert.fail("no secret key: refused");
    } catch (e) {
      assert.ok(e instanceof DrError && e.code === "CONFIG_INVALID" && /AWS_SECRET_ACCESS_KEY is not set/.test(e.message));
      assert.ok(!everythingShown(e).includes(awsKeys.AWS_SESSION_TOKEN));
    }
  });

  test("the passphrase: from the environment variable, else the first line of a private file; refused when missing, world-readable or multi-line", () => {
    const dir = mkdtempSync(join(tmpdir(), "fp-dr-pass-"));
    try {
      assert.equal(repositoryCipherPass(settings(), { FP_DR_REPO_CIPHER_PASS: testSecrets.repoCipherPass }), testSecrets.repoCipherPass);
      assert.equal(repositoryCipherPass(settings({ cipherPassEnv: "MY_PASS" }), { MY_PASS: "from-my-variable-0123456789" }), "from-my-variable-0123456789");
      const file = join(dir, "pass");
      writeFileSync(file, `${testSecrets.repoCipherPass}\n# comment\n`, { mode: 0o600 });
      assert.equal(repositoryCipherPass(settings({ cipherPassFile: file }), {}), testSecrets.repoCipherPass);
      assert.equal(repositoryCipherPass(settings(), {}), undefined);
      chmodSync(file, 0o644);
      assert.throws(() => repositoryCipherPass(settings({ cipherPassFile: file }), {}), (e: DrError) => e.code === "CONFIG_INVALID" && /every user/.test(e.message) && e.hint === `chmod 600 ${file}` && !e.message.includes(testSecrets.repoCipherPass));
      assert.throws(() => repositoryCipherPass(settings({ cipherPassFile: join(dir, "none") }), {}), (e: DrError) => e.code === "CONFIG_INVALID" && /ENOENT/.test(e.message));
      // Encrypted repositories and no passphrase: refused before anything is written.
      assert.throws(() => renderRepositoriesConf(base({ cipherPass: undefined })), (e: DrError) => e.code === "CONFIG_INVALID" && /repo1 and repo2 are encrypted/.test(e.message) && /FP_DR_REPO_CIPHER_PASS/.test(e.hint ?? ""));
      // A line break would smuggle an option into the file.
      const smuggled = `${testSecrets.repoCipherPass}\nrepo2-path=/elsewhere`;
      assert.throws(() => renderRepositoriesConf(base({ cipherPass: smuggled })), (e: DrError) => e.code === "CONFIG_INVALID" && !everythingShown(e).includes(testSecrets.repoCipherPass));
      const badToken = repositoryCredentials({}, { ...awsKeys, AWS_SESSION_TOKEN: `${awsKeys.AWS_SESSION_TOKEN}\nrepo1-s3-key-type=auto` });
      assert.throws(() => renderRepositoriesConf(base({ credentials: badToken })), (e: DrError) => e.code === "CONFIG_INVALID" && /AWS_SESSION_TOKEN must be a single line/.test(e.message));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("locations: the primary stack's repo1/repo2; the secondary's own bucket stands in for a missing repo2", () => {
    const both = repositoryLocations(primary, secondary);
    assert.deepEqual(both, {
      stanza: "fp",
      repo1: { bucket: primary.repositories.repo1.bucket, region: "eu-central-1", path: "/pgbackrest", cipher: true },
      repo2: { bucket: primary.repositories.repo2!.bucket, region: "eu-west-1", path: "/pgbackrest", cipher: true },
    });
    // Primary outputs unreadable: only the offsite bucket, still numbered 2.
    assert.deepEqual(repositoryLocations(undefined, secondary), { stanza: "fp", repo2: both.repo2 });
    const c = lines(renderRepositoriesConf(base({ locations: repositoryLocations(undefined, secondary) })));
    assert.equal(c.get("repo1-type"), undefined);
    assert.equal(c.get("repo2-s3-bucket"), primary.repositories.repo2!.bucket);
    assert.throws(() => repositoryLocations(undefined, undefined), (e: DrError) => e.code === "REPO_UNKNOWN");
  });

  test("locations from the backend: the primary stack's outputs alone when they name both; the secondary's when the primary's are unreadable", async () => {
    const config = parseConfig({ engine: "pulumi" });
    const asked: string[] = [];
    const raw = (o: SiteOutputs) => JSON.parse(JSON.stringify(o)) as Record<string, { value: unknown; secret: boolean }>;
    const both = new PulumiRepositories({ config, ops: { outputs: async (s) => (asked.push(s), raw(s === "primary" ? primary : secondary)) } });
    assert.deepEqual(await both.locations(), repositoryLocations(primary));
    assert.deepEqual(asked, ["primary"], "the secondary's outputs are not needed");
    const noPrimary = new PulumiRepositories({
      config,
      ops: {
        outputs: async (s) => {
          if (s === "primary") throw new DrError("STACK_NOT_FOUND", "no stack named primary in the backend");
          return raw(secondary);
        },
      },
    });
    assert.deepEqual(await noPrimary.locations(), { stanza: "fp", repo2: repositoryLocations(primary).repo2 });
    const neither = new PulumiRepositories({ config, ops: { outputs: async (s) => Promise.reject(new DrError("STACK_NOT_FOUND", `no stack named ${s} in the backend`)) } });
    await assert.rejects(neither.locations(), (e: DrError) => e.code === "STACK_NOT_FOUND" && /primary/.test(e.message) && /secondary/.test(e.message));
  });

  test("overrides for a VPC endpoint or an S3-compatible store: endpoint, host, port, CA file, path style", () => {
    const repo2 = { ...settings().repo2, endpoint: "bucket.vpce-0a1b2c3d-4e5f6a7b.s3.eu-west-1.vpce.amazonaws.com", port: 8443, caFile: "/etc/ssl/private-ca.pem", uriStyle: "path" as const, host: "10.30.0.12" };
    const c = lines(renderRepositoriesConf(base({ connections: { repo1: settings().repo1, repo2 } })));
    assert.equal(c.get("repo2-s3-endpoint"), repo2.endpoint);
    assert.equal(c.get("repo2-storage-host"), "10.30.0.12");
    assert.equal(c.get("repo2-storage-port"), "8443");
    assert.equal(c.get("repo2-storage-ca-file"), "/etc/ssl/private-ca.pem");
    assert.equal(c.get("repo2-s3-uri-style"), "path");
    assert.equal(c.get("repo1-s3-endpoint"), "s3.eu-central-1.amazonaws.com", "repo1 keeps its default");
    // The schema documents and checks them.
    const parsed = parseConfig({ pulumi: { repositories: { repo2: { endpoint: "s3.lab.fp.internal", port: 9000, uriStyle: "path" } } } }).pulumi.repositories;
    assert.equal(parsed.repo2.verifyTls, true);
    assert.equal(parsed.repo1.uriStyle, "host");
    assert.equal(parsed.enabled, true);
    assert.equal(parsed.cipherPassEnv, "FP_DR_REPO_CIPHER_PASS");
    assert.throws(() => parseConfig({ pulumi: { repositories: { repo2: { endpoint: "https://s3/x" } } } }));
  });

  test("every secret read is registered: redact masks the rendered file's keys, token and passphrase", () => {
    const credentials = repositoryCredentials({}, { ...awsKeys });
    const pass = repositoryCipherPass(settings(), { FP_DR_REPO_CIPHER_PASS: "a-passphrase-only-this-test-knows-4d3c2b1a" });
    const text = renderRepositoriesConf(base({ credentials, cipherPass: pass }));
    const shown = redact(`pgbackrest failed with this configuration:\n${text}\nsecret was ${awsKeys.AWS_SECRET_ACCESS_KEY}, token ${awsKeys.AWS_SESSION_TOKEN}, pass ${pass}`);
    for (const s of [awsKeys.AWS_ACCESS_KEY_ID, awsKeys.AWS_SECRET_ACCESS_KEY, awsKeys.AWS_SESSION_TOKEN, pass!]) assert.ok(!shown.includes(s), "a secret survived redact");
    // Errors are DrErrors, whose messages pass through redact.
    assert.ok(!new DrError("PGBACKREST_FAILED", `bad token ${awsKeys.AWS_SESSION_TOKEN}`).message.includes(awsKeys.AWS_SESSION_TOKEN));
  });
});

describe("openPulumiEngine's default", () => {
  async function openWith(over: { enabled?: boolean; path?: string }): Promise<PulumiEngine> {
    const cli = new RecordingPulumiCli(fakeProgram);
    cli.addStack("primary", storedConfigFromStackFile("Pulumi.primary.yaml"));
    const config = parseConfig({ engine: "pulumi", pulumi: { workDir: repoRoot, backendUrl, journalDir: join(stateDir, "journal"), repositories: { enabled: over.enabled ?? true } } });
    const saved = process.env.PATH;
    if (over.path !== undefined) process.env.PATH = over.path;
    try {
      return await openPulumiEngine(config, { pulumiCommand: cli });
    } finally {
      process.env.PATH = saved;
    }
  }

  test("without pgbackrest on PATH, or with pulumi.repositories.enabled false, the engine's honest refusal stands", async () => {
    for (const engine of [await openWith({ path: "/nonexistent" }), await openWith({ enabled: false })]) {
      await assert.rejects(engine.catalog(2), (e: DrError) => e.code === "DEPENDENCY_MISSING");
    }
  });

  test("with pgbackrest installed, a missing passphrase surfaces on first use as CONFIG_INVALID naming the variable", async () => {
    const saved = { pass: process.env.FP_DR_REPO_CIPHER_PASS, profile: process.env.AWS_PROFILE };
    delete process.env.FP_DR_REPO_CIPHER_PASS;
    delete process.env.AWS_PROFILE;
    try {
      const engine = await openWith({});
      await assert.rejects(engine.catalog(2), (e: DrError) => e.code === "CONFIG_INVALID" && /no repository passphrase/.test(e.message) && /FP_DR_REPO_CIPHER_PASS/.test(e.hint ?? ""));
    } finally {
      if (saved.pass !== undefined) process.env.FP_DR_REPO_CIPHER_PASS = saved.pass;
      if (saved.profile !== undefined) process.env.AWS_PROFILE = saved.profile;
    }
  });
});

describe("against the lab's S3 store over TLS (real pgBackRest 2.45)", () => {
  let t: TestLab;
  let config: DrConfig;
  let engine: PulumiEngine;
  let cli: RecordingPulumiCli;
  let repos: PulumiRepositories;
  let ops: LocalWorkspaceStackOps;
  let labEnv: NodeJS.ProcessEnv;
  let offsitePath: string;
  const savedEnv = { ...process.env };
  const token = "lab-session-token-FwoGZXIvYXdzEJr-0123456789abcdef";

  /** The lab store as the stacks would name it: repo2 is the lab bucket; repo1 lives "in the failed region". */
  function labProgram(lab: TestLab): (stack: string, cfg: Parameters<typeof fakeProgram>[1]) => Record<string, unknown> {
    const s = lab.lab.state.objectStore;
    return (stack, cfg) => {
      const o = fakeProgram(stack, cfg) as unknown as SiteOutputs;
      const labRepo = { bucket: s.bucket, region: s.region, path: offsitePath, cipher: true };
      o.stanza = lab.lab.state.stanza;
      o.repositories = o.role === "primary" ? { repo1: { ...labRepo, path: "/pgbackrest-primary-region" }, repo2: labRepo } : { repo1: labRepo };
      return JSON.parse(JSON.stringify(o)) as Record<string, unknown>;
    };
  }

  before(async () => {
    t = await startTestLab();
    const s = t.lab.state.objectStore;
    offsitePath = t.config.repositories.offsite.path;
    // repo1 is "in the primary region", which is down: nothing listens on its port.
    const deadPort = await freePort();
    const labConnection = { endpoint: s.endpoint, host: s.host, uriStyle: "path" as const, caFile: s.caFile };
    config = parseConfig({
      environment: "production",
      engine: "pulumi",
      sites: { primary: { role: "primary", region: "eu-central-1" }, secondary: { role: "secondary", region: "eu-west-1" } },
      // A short io-timeout keeps the dead repo1's test short (pgBackRest retries about four times).
      pulumi: { workDir: repoRoot, backendUrl, journalDir: join(stateDir, "journal"), repositories: { ioTimeout: "3s", repo1: { ...labConnection, port: deadPort }, repo2: { ...labConnection, port: s.port } } },
      lab: { serviceUser: t.config.lab.serviceUser },
    });
    // The standard variables, as an operator would export them (the lab checks the key id only).
    labEnv = { AWS_ACCESS_KEY_ID: t.lab.secrets.s3AccessKey, AWS_SECRET_ACCESS_KEY: t.lab.secrets.s3SecretKey, AWS_SESSION_TOKEN: token, FP_DR_REPO_CIPHER_PASS: t.lab.secrets.repo2CipherPass };
    Object.assign(process.env, labEnv);
    delete process.env.AWS_PROFILE;
    cli = new RecordingPulumiCli(labProgram(t));
    cli.addStack("primary", storedConfigFromStackFile("Pulumi.primary.yaml"));
    cli.addStack("secondary", storedConfigFromStackFile("Pulumi.secondary.yaml", ["adminPassword"]));
    // The hosts' private network and Route 53 are not here: the site probe says unreachable.
    const database: SiteDatabase = {
      async probe() {
        return { reachable: false, error: "no route to the site's private network from the test machine" };
      },
      async waitForRecovery() {
        throw new Error("not used");
      },
      async promote() {
        throw new Error("not used");
      },
    };
    engine = await openPulumiEngine(config, { pulumiCommand: cli, database, resolver: async () => [] });
    ops = await openLocalWorkspace({ workDir: repoRoot, pulumiCommand: cli, backendUrl });
    repos = new PulumiRepositories({ ops, config, env: labEnv });
  });
  after(async () => {
    repos?.dispose();
    for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
    Object.assign(process.env, savedEnv);
    await t?.destroy();
  });

  test("openPulumiEngine wires it: catalog(2) lists the lab's backup set and WAL, read from the stack outputs in the backend only", async () => {
    cli.take();
    const cat = await engine.catalog(2);
    const own = await t.lab.site("primary").pgbackrest.sets({ repo: 2 });
    assert.ok(own.length >= 1, "the lab took a first full backup offsite");
    assert.deepEqual(
      cat.sets.map((s) => s.label),
      own.map((s) => s.label),
      "the same sets the lab's own pgBackRest sees in repo2",
    );
    assert.equal(cat.sets[0].type, "full");
    assert.ok(cat.segments.length > 0, "archived WAL is listed");
    assert.ok(cat.walMax && cat.newestWalAt && cat.window, "WAL range and restorable window");
    // Pulumi was asked for the primary stack's outputs and nothing else (no update, no config, no refresh).
    const calls = cli.take().filter((a) => a[0] !== "version");
    assert.ok(calls.length >= 1 && calls.every((a) => a[0] === "stack" && a[1] === "output" && a.includes("primary")), JSON.stringify(calls));
  });

  test("no passphrase given here: read from its escrow in the repositories' region (a double of Secrets Manager), and the lab's encrypted repo2 is read with it", async () => {
    const name = cipherPassSecretName("production");
    // Both lab repositories sit in the lab store's region (the replica fallback: passphrase-escrow.test.ts).
    const region = t.lab.state.objectStore.region;
    const sm = await startSecretsManagerDouble({ [region]: { [name]: t.lab.secrets.repo2CipherPass } }, [region]);
    const { FP_DR_REPO_CIPHER_PASS: _given, ...withoutPass } = labEnv;
    const escrowed = new PulumiRepositories({ ops, config, env: withoutPass, secretsClientFor: sm.clientFor });
    try {
      const sets = await (await escrowed.client()).sets({ repo: 2 });
      assert.ok(sets.length >= 1, "the encrypted repository was read with the escrowed passphrase");
      assert.deepEqual(sm.requests.map((r) => [r.region, r.target, r.body.SecretId]), [[region, "secretsmanager.GetSecretValue", name]]);
    } finally {
      escrowed.dispose();
      await sm.close();
    }
  });

  test("verifyBackup(2, newest) runs pgBackRest verify over S3 and passes", async () => {
    const cat = await engine.catalog(2);
    const newest = cat.sets[cat.sets.length - 1].label;
    const verdict = await engine.verifyBackup(2, newest);
    assert.ok(verdict.ok, verdict.detail);
    assert.match(verdict.detail, /files, all valid/);
  });

  test("planRestore (the failover's assess pre-flight) picks the newest set of repo2 and the WAL to reach", async () => {
    const cat = await engine.catalog(2);
    const plan = await engine.planRestore({ site: "secondary", repo: 2, target: { kind: "latest" }, overwrite: true });
    assert.equal(plan.set.label, cat.sets[cat.sets.length - 1].label);
    assert.ok(plan.checks.every((c) => c.ok), JSON.stringify(plan.checks));
  });

  test("a hardware failover's assess plans onto a replacement host the primary's stack does not declare yet: a new, empty host, nothing overwritten", async () => {
    const plan = await engine.planRestore({ site: "replacement-kx3j2", repo: 2, target: { kind: "latest" }, overwrite: true });
    assert.deepEqual(
      { address: plan.destination.address, state: plan.destination.state, serving: plan.destination.serving, willOverwrite: plan.destination.willOverwrite },
      { address: "(a new host)", state: "empty", serving: false, willOverwrite: false },
    );
    assert.ok(plan.checks.every((c) => c.ok), JSON.stringify(plan.checks));
    await assert.rejects(engine.endpoint("replacement-kx3j2"), (e: unknown) => e instanceof DrError && e.code === "SITE_UNKNOWN" && /replacement host kx3j2 is not declared in stack primary/.test(e.message));
  });

  test("readCatalog and verifyRepositories on the client: the set, the WAL, verify ok, archive continuous", async () => {
    const pgb = await repos.client();
    assert.equal(await repos.client(), pgb, "built once, then reused");
    const cat = await readCatalog(pgb, 2);
    assert.ok(cat.sets.length >= 1 && cat.sets.every((s) => !s.error));
    assert.ok(cat.segments.length > 0);
    const report = await verifyRepositories(pgb, { repos: [2] });
    assert.ok(report.ok, JSON.stringify(report));
    assert.ok(report.repos[0].sets.length >= 1);
    assert.ok(report.repos[0].archive!.ok && report.repos[0].archive!.valid > 0, report.repos[0].archive!.detail);
  });

  test("repo1 in a failed region: reading it fails as STORE_UNREACHABLE within about 4 × io-timeout; repo2 is not held up by it", async () => {
    const started = Date.now();
    await assert.rejects(engine.catalog(1), (e: DrError) => e.code === "STORE_UNREACHABLE" && /repo1 cannot be read/.test(e.message));
    const repo1Ms = Date.now() - started;
    assert.ok(repo1Ms < 6 * config.pulumi.repositories.ioTimeout * 1000, `repo1's failure took ${repo1Ms} ms`);
    const again = Date.now();
    await engine.catalog(2);
    assert.ok(Date.now() - again < 2 * config.pulumi.repositories.ioTimeout * 1000, "repo2 answers without waiting on repo1");
  });

  test("the file: 0600 in a 0700 directory owned by the user pgBackRest runs as (not root); dispose removes it", async () => {
    const pgb = await repos.client();
    const path = repos.configPath!;
    const user = serviceUser(config.lab.serviceUser);
    assert.equal(pgb.opts.user.uid, user.uid);
    assert.notEqual(pgb.opts.user.uid, 0, "pgBackRest never runs as root");
    const f = statSync(path);
    const d = statSync(join(path, ".."));
    assert.equal(f.mode & 0o777, 0o600);
    assert.equal(d.mode & 0o777, 0o700);
    assert.equal(f.uid, user.uid);
    assert.equal(d.uid, user.uid);
    const text = readFileSync(path, "utf8");
    assert.match(text, /^repo2-s3-token=/m, "the session token is passed on");
    assert.match(text, /^repo2-storage-ca-file=/m);
    assert.match(text, /^repo2-storage-verify-tls=y$/m);
    const scratch = new PulumiRepositories({ ops, config, env: labEnv });
    await scratch.client();
    const dir = join(scratch.configPath!, "..");
    scratch.dispose();
    assert.ok(!existsSync(dir), "the temporary directory is gone");
  });

  test("a refused key: the error names the repository and what to check, and neither it nor pgBackRest's log holds a secret", async () => {
    const wrong = { ...labEnv, AWS_ACCESS_KEY_ID: "FPDRLABWRONGKEYID0000" };
    const refused = new PulumiRepositories({ ops, config, env: wrong });
    try {
      const pgb = await refused.client();
      let err: unknown;
      try {
        await readCatalog(pgb, 2);
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof DrError, "the lab store refuses an unknown key id");
      assert.equal(err.code, "STORE_UNREACHABLE");
      assert.match(err.message, /repo2 cannot be read/);
      assert.match(err.hint ?? "", /bucket and credentials/);
      const shown = everythingShown(err);
      for (const s of [t.lab.secrets.s3SecretKey, token, t.lab.secrets.repo2CipherPass]) assert.ok(!shown.includes(s), "a secret in the error");
      // verify logs to a file (info does not): its options are listed there, secrets redacted by pgBackRest.
      await pgb.verify({ repo: 2 });
      for (const r of [refused, repos]) {
        const logDir = join(r.configPath!, "..", "log");
        const logs = readdirSync(logDir).map((f) => readFileSync(join(logDir, f), "utf8")).join("\n");
        assert.match(logs, /verify command begin/, "pgBackRest wrote its log");
        assert.match(logs, /--repo2-s3-token=<redacted>/);
        for (const s of [t.lab.secrets.s3SecretKey, token, t.lab.secrets.repo2CipherPass]) assert.ok(!logs.includes(s), "a secret in pgBackRest's log");
      }
    } finally {
      refused.dispose();
    }
  });
});
