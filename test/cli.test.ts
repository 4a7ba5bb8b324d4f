// Scenario: the `dr` command as an operator runs it (a real subprocess against a real lab).
// Proves: every command answers --json with one parseable document; failures print one line
// with a stable code, a hint line and a non-zero exit; an invalid config lists every problem
// with its field path; `dr config show` lists the invariants in force; and no secret (passwords, cipher passphrases, S3 keys) ever appears in
// output, errors, or any log the lab writes.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { sampleInvariants } from "../automation/verify/invariants";
import { drSync } from "./harness/cli";
import { startTestLab, type TestLab } from "./harness/lab";
import { LAB_SHARED_BUCKET } from "../automation/engines/local/object-store";

let t: TestLab;
const transcripts: string[] = [];

function dr(args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const r = drSync(t.dir, args, env, 180_000);
  transcripts.push(`$ dr ${args.join(" ")}\n${r.stdout}\n${r.stderr}`);
  return { code: r.code ?? -1, stdout: r.stdout, stderr: r.stderr };
}

before(async () => {
  t = await startTestLab();
});
after(async () => {
  await t?.destroy();
});

describe("dr command line", () => {
  test("--json everywhere: one parseable document", () => {
    for (const args of [["lab", "status"], ["backup", "list"], ["restore", "--dry-run"], ["config", "show"], ["health"], ["analyze"], ["statistics"], ["backup", "verify", "--repo", "1"]]) {
      const r = dr([...args, "--json"]);
      assert.ok(r.code === 0 || args[0] === "health", `${args.join(" ")} exited ${r.code}: ${r.stderr}`);
      assert.doesNotThrow(() => JSON.parse(r.stdout), `${args.join(" ")} printed non-JSON: ${r.stdout.slice(0, 200)}`);
    }
    const status = JSON.parse(dr(["lab", "status", "--json"]).stdout);
    assert.equal(status.activeSite, "primary");
    assert.equal(status.objectStore.running, true);
  });

  test("one JSON envelope: success is the command's document, failure { error: { code, message, hint, exit }, runId? }; a failed run exits with its error's class", () => {
    // A run that fails at its first step (an injected INTERNAL error): 70, not 6 for every failed run.
    const failedRun = dr(["drill", "--yes", "--json"], { FP_DR_FAULT: "fail-in:restore-point" });
    const runDoc = JSON.parse(failedRun.stdout);
    const runId = runDoc.runId as string;
    assert.match(runId, /^drill-/);
    const cases: { args: string[]; env?: Record<string, string>; code?: string; exit: number; run?: boolean }[] = [
      { args: ["lab", "status"], exit: 0 },
      { args: ["backup", "list", "--repo", "1"], exit: 0 },
      { args: ["report", "list"], exit: 0 },
      { args: ["report", "show", runId], exit: 0 },
      { args: ["restore", "--set", "20200101-000000F", "--to", "secondary", "--overwrite", "--yes"], code: "BACKUP_UNKNOWN", exit: 5 },
      { args: ["lab", "remove-site", "nowhere"], code: "SITE_UNKNOWN", exit: 64 },
      { args: ["resume", runId], code: "RUN_FINISHED", exit: 5 },
      { args: ["report", "show", "drill-nothing-0000"], code: "REPORT_UNKNOWN", exit: 64 },
      { args: ["backup", "full", "--repo", "7"], code: "USAGE", exit: 64 },
    ];
    const check = (c: (typeof cases)[number], r: { code: number; stdout: string; stderr: string }) => {
      const what = `dr ${c.args.join(" ")} --json`;
      assert.equal(r.code, c.exit, `${what}: ${r.stderr}`);
      const doc = JSON.parse(r.stdout);
      assert.ok(!/^\s*[{[]/m.test(r.stderr), `${what}: JSON on stderr: ${r.stderr}`);
      // only a failure carries error.exit (a failed run's own report has an error, without it)
      if (!c.code) return assert.equal(doc.error?.exit, undefined, `${what}: ${r.stdout.slice(0, 300)}`);
      assert.deepEqual([doc.error.code, doc.error.exit, typeof doc.error.message, typeof doc.error.hint], [c.code, c.exit, "string", "string"], what);
    };
    check({ args: ["drill", "--yes"], code: "INTERNAL", exit: 70 }, failedRun);
    assert.equal(runDoc.result.status, "failed", "the run's record goes with its failure");
    for (const c of cases) check(c, dr([...c.args, "--json"], c.env));
    // report show --json is the report's own JSON document, not a rendering wrapped in one
    const shown = JSON.parse(dr(["report", "show", runId, "--json"]).stdout);
    assert.deepEqual([shown.runId, shown.status, shown.error.code], [runId, "failed", "INTERNAL"]);
    assert.equal(shown.content, undefined);
  });

  test("config show lists the invariants in force: the lab's built-in ones, or the configured ones instead", () => {
    const j = JSON.parse(dr(["config", "show", "--json"]).stdout);
    assert.equal(j.invariantsInForce.origin, "built-in (the lab's sample database)");
    assert.deepEqual(j.invariantsInForce.invariants.map((i: { name: string }) => i.name), sampleInvariants.map((i) => i.name));
    const text = dr(["config", "show"]).stdout;
    assert.match(text, new RegExp(`^# invariants in force .*: ${sampleInvariants.length}, built-in \\(the lab's sample database\\)$`, "m"));
    assert.match(text, /^# {3}- every household has a client \(expect 0\): select count\(\*\)::int from app\.households h /m);
    const own = join(t.dir, "own-invariants.yaml");
    writeFileSync(own, "verification:\n  invariants:\n    - { name: no negative balances, sql: select count(*) from app.accounts where balance < 0, expect: 0 }\n");
    const configured = JSON.parse(dr(["--config", own, "config", "show", "--json"]).stdout);
    assert.equal(configured.invariantsInForce.origin, "configured (verification.invariants)");
    assert.deepEqual(configured.invariantsInForce.invariants.map((i: { name: string }) => i.name), ["no negative balances"]);
  });

  test("a failure: one line with the code, a hint line, non-zero exit; --json carries the same", () => {
    const r = dr(["restore", "--to", "secondary", "--overwrite", "--target-time", "2001-01-01T00:00:00Z"]);
    assert.equal(r.code, 5);
    const lines = r.stderr.trim().split("\n");
    assert.match(lines.find((l) => l.startsWith("error"))!, /^error\[TARGET_BEFORE_WINDOW\]: target time 2001-01-01T00:00:00.000Z is before/);
    assert.ok(lines.some((l) => l.startsWith("hint: ")), r.stderr);
    const j = dr(["restore", "--set", "20200101-000000F", "--to", "secondary", "--overwrite", "--json"]);
    assert.notEqual(j.code, 0);
    const doc = JSON.parse(j.stdout);
    assert.equal(doc.error.code, "BACKUP_UNKNOWN");
    assert.equal(doc.error.exit, 5);
    assert.ok(doc.error.hint);
  });

  test("usage errors are caught by the parser with a hint", () => {
    const r = dr(["backup", "full", "--repo", "7"]);
    assert.equal(r.code, 64);
    assert.match(r.stderr, /must be 1 \(primary region\), 2 \(offsite\) or all/);
    assert.match(r.stderr, /hint:/);
  });

  test("an invalid config lists every problem with its field path and changes nothing", () => {
    const bad = join(t.dir, "bad.yaml");
    writeFileSync(bad, "engine: cloud\nalerts:\n  diskUsagePercent: -3\nobjectives:\n  hardware: { rto: fast, rpo: 30m }\n");
    const r = dr(["--config", bad, "lab", "status"]);
    assert.equal(r.code, 64);
    assert.match(r.stderr, /error\[CONFIG_INVALID\]: .* is invalid \(3 problems\)/);
    for (const path of ["engine:", "alerts.diskUsagePercent:", "objectives.hardware.rto:"]) assert.ok(r.stderr.includes(path), `missing ${path} in:\n${r.stderr}`);
    assert.match(r.stderr, /hint: /);
  });

  test("smaller refusals: an unknown site to remove, an empty --config, a bad FP_DR_ENGINE, a huge argument", () => {
    const nowhere = dr(["lab", "remove-site", "nowhere"]);
    assert.equal(nowhere.code, 64);
    assert.match(nowhere.stderr, /error\[SITE_UNKNOWN\]: no site named nowhere/);
    const empty = dr(["--config", "", "lab", "status"]);
    assert.equal(empty.code, 64);
    assert.match(empty.stderr, /error\[CONFIG_INVALID\]: --config was given an empty file name/);
    const engine = dr(["lab", "status"], { FP_DR_ENGINE: "bogus" });
    assert.equal(engine.code, 64);
    assert.match(engine.stderr, /FP_DR_ENGINE from the environment is invalid[\s\S]*engine: .*\(set by FP_DR_ENGINE\)/);
    const huge = "x".repeat(100_000);
    for (const args of [["lab", "remove-site", huge], ["backup", "full", "--repo", huge]]) {
      const r = dr(args);
      assert.equal(r.code, 64);
      assert.ok(r.stderr.length < 1000, `${args[0]} ${args[1]}: ${r.stderr.length} characters of error`);
      assert.match(r.stderr, /…\(1000\d\d characters\)/);
    }
  });

  test("every command has --help with examples", () => {
    const commands = [
      ["lab", "up"], ["lab", "drill"], ["lab", "failover-demo"], ["lab", "load", "start"], ["backup", "incr"], ["backup", "list"], ["backup", "verify"],
      ["restore"], ["health"], ["analyze"], ["statistics"], ["verify"], ["bench"], ["config", "show"], ["failover"], ["drill"], ["resume"],
      ["plan", "show"], ["status"], ["switchover"], ["reprotect"], ["report", "list"], ["report", "show"], ["check", "corruption"], ["recover", "corruption"], ["recover-table"], ["incident", "isolate"], ["incident", "preserve"], ["incident", "restore"], ["host", "apply"],
    ];
    for (const args of commands) {
      const r = dr([...args, "--help"]);
      assert.equal(r.code, 0, args.join(" "));
      assert.match(r.stdout, /Example/, `${args.join(" ")} --help has no examples`);
    }
  });

  test("no secret appears in any output, error or log", () => {
    // A failure that involves the secrets' neighbourhood: pgBackRest run against a dead store.
    dr(["backup", "list", "--repo", "2", "--json"]);
    dr(["restore", "--scratch", "--target-lsn", "not-an-lsn"]);
    const secrets = Object.values(JSON.parse(readFileSync(join(t.dir, "secrets.json"), "utf8"))) as string[];
    assert.ok(secrets.length >= 7);
    const logs: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) {
          if (!/\/data$|\/repos$|objectstore\/data$/.test(p)) walk(p);
        } else if (/\.log$/.test(name) || /reports|journal|shared/.test(p)) logs.push(`${p}\n${readFileSync(p, "utf8")}`);
      }
    };
    walk(t.dir);
    // The runs' shared documents are objects in the lab's store (its data is skipped above).
    const sharedBucket = join(t.dir, "objectstore", "data", LAB_SHARED_BUCKET);
    walk(sharedBucket);
    assert.ok(logs.some((l) => l.startsWith(join(sharedBucket, "fp-dr", "runs", "lab", "drill-"))), "the failed drill's journal copy and report were read");
    assert.ok(logs.length >= 3, `expected server, pgBackRest and daemon logs, found ${logs.length}`);
    const everything = [...transcripts, ...logs, ...t.captured].join("\n");
    for (const s of secrets) assert.ok(!everything.includes(s), `a secret leaked (…${s.slice(-4)})`);
    assert.ok(existsSync(join(t.dir, "pgbackrest", "log")));
  });
});
