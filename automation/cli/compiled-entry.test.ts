// Proves the compiled copy the package ships: `npm run build` emits dist/ and its record of the
// sources; dr.cjs runs it (without loading tsx) only while it matches the sources beside it, and it
// prints what the sources print; a lab daemon starts from it with plain node. Works on a copy of
// the toolkit in /tmp, so editing sources and building never touches the checkout.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";

const checkout = join(__dirname, "..", "..");
const copy = mkdtempSync("/tmp/fp-dr-build-test-");
const DR = join(copy, "automation", "cli", "dr.cjs");
// Preloaded into dr: says at exit which code it loaded (the compiled copy, tsx, command modules).
const PROBE = join(copy, "probe.cjs");

before(() => {
  for (const dir of ["automation", "infra"]) cpSync(join(checkout, dir), join(copy, dir), { recursive: true, filter: (f) => !f.endsWith(".test.ts") });
  for (const file of ["package.json", "tsconfig.json", "tsconfig.build.json", ".gitignore"]) cpSync(join(checkout, file), join(copy, file));
  symlinkSync(realpathSync(join(checkout, "node_modules")), join(copy, "node_modules"));
  writeFileSync(
    PROBE,
    `process.on("exit", () => { const m = Object.keys(require.cache); process.stderr.write("PROBE " + JSON.stringify({ dist: m.some((f) => f.includes("/dist/automation/")), tsx: m.some((f) => f.includes("/node_modules/tsx/")), commands: m.some((f) => f.includes("/automation/commands/")) }) + "\\n"); });\n`,
  );
  const built = spawnSync("npm", ["run", "build"], { cwd: copy, encoding: "utf8", timeout: 300_000 });
  assert.equal(built.status, 0, `npm run build failed:\n${built.stdout}\n${built.stderr}`);
});

after(() => rmSync(copy, { recursive: true, force: true }));

interface Probe {
  dist: boolean;
  tsx: boolean;
  commands: boolean;
}

/** CPU time of the children this process has waited for (/proc/self/stat cutime + cstime, 10 ms ticks). */
function childrenCpuMs(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

function dr(args: string[], from: "compiled" | "source", extraEnv: Record<string, string> = {}) {
  const env: NodeJS.ProcessEnv = { ...process.env, COLUMNS: "100", FP_DR_LAB_DIR: join(copy, "no-lab"), ...extraEnv };
  delete env.FP_DR_FROM_SOURCE;
  if (from === "source") env.FP_DR_FROM_SOURCE = "1";
  const [started, cpuBefore] = [process.hrtime.bigint(), childrenCpuMs()];
  const r = spawnSync(process.execPath, ["--require", PROBE, DR, ...args], { env, encoding: "utf8", timeout: 60_000 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const cpuMs = childrenCpuMs() - cpuBefore;
  const line = /^PROBE (.*)$/m.exec(r.stderr);
  assert.ok(line, `no probe line from dr ${args.join(" ")}:\n${r.stderr}`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, probe: JSON.parse(line[1]) as Probe, ms, cpuMs };
}

/** Which code dr.cjs would choose in the copy (its own check, run here: a dr start per case is slow). */
function chosen(): "compiled" | "source" {
  const { compiledEntry } = require(join(copy, "automation", "cli", "compiled-entry.cjs")) as { compiledEntry: () => string | undefined };
  return compiledEntry() === join(copy, "dist", "automation", "cli", "main.js") ? "compiled" : "source";
}

test("npm run build emits the compiled entry and a record of every source, no tests", () => {
  assert.ok(existsSync(join(copy, "dist", "automation", "cli", "main.js")));
  assert.ok(existsSync(join(copy, "dist", "automation", "engines", "local", "dns-daemon.js")));
  const recorded = Object.keys((JSON.parse(readFileSync(join(copy, "dist", "sources.json"), "utf8")) as { files: Record<string, string> }).files);
  assert.ok(recorded.includes("automation/cli/main.ts") && recorded.includes("infra/index.ts"));
  assert.equal(recorded.filter((f) => f.endsWith(".test.ts")).length, 0);
});

test("npm pack ships the git-ignored dist/ beside the sources, without tests", () => {
  const r = spawnSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: copy, encoding: "utf8", timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const files = (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
  for (const f of ["dist/automation/cli/main.js", "dist/sources.json", "automation/cli/dr.cjs", "automation/cli/compiled-entry.cjs", "automation/cli/main.ts"]) assert.ok(files.includes(f), `${f} is packed`);
  assert.deepEqual(files.filter((f) => f.endsWith(".test.ts")), []);
});

test("dr --version and --help print the same compiled and from source; the compiled path loads no tsx, neither loads a command module", () => {
  for (const args of [["--version"], ["--help"]]) {
    const compiled = dr(args, "compiled");
    const source = dr(args, "source");
    assert.deepEqual(compiled.probe, { dist: true, tsx: false, commands: false }, `dr ${args.join(" ")} compiled`);
    assert.deepEqual(source.probe, { dist: false, tsx: true, commands: false }, `dr ${args.join(" ")} from source`);
    assert.equal(compiled.code, 0);
    assert.equal(compiled.code, source.code);
    assert.equal(compiled.stdout, source.stdout);
  }
  assert.equal(dr(["--version"], "compiled").stdout.trim(), (JSON.parse(readFileSync(join(copy, "package.json"), "utf8")) as { version: string }).version);
});

test("a command runs from the compiled copy as from source, loading its module when it runs", () => {
  const compiled = dr(["plan", "show", "drill"], "compiled");
  const source = dr(["plan", "show", "drill"], "source");
  assert.deepEqual(compiled.probe, { dist: true, tsx: false, commands: true });
  assert.equal(compiled.code, 0);
  assert.match(compiled.stdout, /monthly DR drill/);
  assert.equal(compiled.stdout, source.stdout);
});

test("modules loaded on demand resolve compiled and from source: an S3 shared store is opened and found unreachable", () => {
  // tsx's CommonJS hook, which dr.cjs uses, does not resolve a dynamic import() of a .ts path
  const config = join(copy, "dr.config.yaml");
  writeFileSync(config, "shared:\n  bucket: fp-dr-shared-test\n  region: eu-west-1\n  endpoint: http://127.0.0.1:9\n");
  const env = { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test" };
  for (const from of ["compiled", "source"] as const) {
    const r = dr(["-c", config, "lease", "show"], from, env);
    assert.match(r.stderr, /^error\[STORE_UNREACHABLE\]: the shared store s3:\/\/fp-dr-shared-test\//m, `${from}: ${r.stderr}`);
  }
});

test("a source edited, added or removed after the build sends dr to the sources; a touch alone does not", () => {
  const file = join(copy, "automation", "core", "errors.ts");
  const original = readFileSync(file);
  const later = new Date(Date.now() + 60_000);
  assert.equal(chosen(), "compiled");
  // newer mtime, same content (as npm leaves an installed package): still the build
  utimesSync(file, later, later);
  assert.equal(chosen(), "compiled");
  appendFileSync(file, "// edited after the build\n");
  assert.equal(chosen(), "source");
  assert.deepEqual(dr(["--version"], "compiled").probe, { dist: false, tsx: true, commands: false }, "dr.cjs ran the build after an edit");
  writeFileSync(file, original);
  assert.equal(chosen(), "compiled");
  const added = join(copy, "infra", "added-after-build.ts");
  writeFileSync(added, "export const x = 1;\n");
  assert.equal(chosen(), "source");
  rmSync(added);
  assert.equal(chosen(), "compiled");
  // a record without a compiled entry (tsc failed: noEmitOnError) is not a build
  const entry = join(copy, "dist", "automation", "cli", "main.js");
  const entryText = readFileSync(entry);
  rmSync(entry);
  assert.equal(chosen(), "source");
  writeFileSync(entry, entryText);
  assert.equal(chosen(), "compiled");
});

test("the lab's DNS daemon starts from the compiled copy with plain node and answers", async () => {
  const dns = require(join(copy, "dist", "automation", "engines", "local", "dns.js")) as typeof import("../engines/local/dns");
  const dir = join(copy, "dns");
  try {
    const info = await dns.startDns({ dir, records: { "db.fp.internal": "127.0.10.9" } });
    const [, script] = readFileSync(join(dir, "dns.pid"), "utf8").split("\n");
    assert.equal(script, join(copy, "dist", "automation", "engines", "local", "dns-daemon.js"));
    const argv = readFileSync(`/proc/${info.pid}/cmdline`, "utf8").split("\0");
    assert.ok(argv.includes(script) && !argv.some((a) => a.includes("tsx")), `daemon argv: ${argv.join(" ")}`);
    // the pid file's script check recognises the compiled daemon as ours
    assert.equal(dns.dnsStatus(dir).running, true);
    assert.equal(await dns.resolveName("db.fp.internal", { port: info.port }), "127.0.10.9");
  } finally {
    await dns.stopDns(dir);
  }
  assert.equal(dns.dnsStatus(dir).running, false);
});

test("dr --help start time, compiled and from source (printed, not asserted)", (t) => {
  const runs = 5;
  const times = { compiled: [] as number[], source: [] as number[] };
  const cpu = { compiled: [] as number[], source: [] as number[] };
  for (let i = 0; i < runs; i++) {
    for (const from of ["compiled", "source"] as const) {
      const r = dr(["--help"], from);
      times[from].push(r.ms);
      cpu[from].push(r.cpuMs);
    }
  }
  const median = (xs: number[]) => Math.round([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]);
  for (const from of ["compiled", "source"] as const) {
    t.diagnostic(`dr --help ${from}: median ${median(times[from])} ms wall, ${median(cpu[from])} ms cpu over ${runs} runs (wall ${times[from].map(Math.round).join(", ")} ms)`);
  }
});
