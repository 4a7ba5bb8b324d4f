// The global flags as an operator meets them: `dr` run as a real subprocess (no lab needed).
// Proves: --version answers; every subcommand's help lists the global options; a usage error
// reads error[USAGE] + hint like every other failure; --quiet keeps only the result, warnings
// and failed steps; --no-color writes no escape codes even on a terminal.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { Writable } from "node:stream";
import { join } from "node:path";
import { test } from "node:test";
import { Output } from "../core/output";

const DR = join(__dirname, "dr.cjs");
function dr(args: string[]) {
  const r = spawnSync(process.execPath, [DR, ...args], { encoding: "utf8", timeout: 60_000, env: { ...process.env, FP_DR_LAB_DIR: "/nonexistent/fp-dr-flags-test" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("dr --version prints the package's version", () => {
  const r = dr(["--version"]);
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trim(), (require("../../package.json") as { version: string }).version);
});

test("every subcommand's help lists --json, --config, --verbose", () => {
  for (const args of [["health"], ["backup", "list"], ["lab", "up"], ["report", "show"]]) {
    const r = dr([...args, "--help"]);
    assert.equal(r.code, 0, args.join(" "));
    for (const flag of ["--json", "--config <file>", "--verbose", "--quiet", "--no-color"]) assert.ok(r.stdout.includes(flag), `${args.join(" ")} --help lacks ${flag}`);
  }
});

test("dr --help into a reader that stops after one line (| head -1) ends quietly, not with an EPIPE stack trace", () => {
  const r = spawnSync("bash", ["-c", `"${process.execPath}" "${DR}" --help | head -1 >/dev/null; echo "status \${PIPESTATUS[0]}" >&2`], { encoding: "utf8", timeout: 60_000 });
  assert.doesNotMatch(r.stderr, /EPIPE|Unhandled 'error' event/, r.stderr);
  assert.match(r.stderr, /^status 0$/m);
});

test("a usage error reads error[USAGE]: one line, then a hint line", () => {
  const r = dr(["backup", "full", "--repo", "7"]);
  const lines = r.stderr.trim().split("\n");
  assert.match(lines[0], /^error\[USAGE\]: option '--repo <n>' argument '7' is invalid/);
  assert.match(lines[1], /^hint: run `dr --help`/);
  assert.equal(lines.length, 2);
});

function capture(tty: boolean) {
  let text = "";
  const s = Object.assign(new Writable({ write: (c, _e, cb) => ((text += c), cb()) }), { isTTY: tty });
  return { s, text: () => text };
}

test("--quiet keeps the result, warnings and failed steps; --no-color writes no escape codes on a terminal", () => {
  const err = capture(false);
  const out = capture(false);
  const o = new Output({ json: false, quiet: true, stdout: out.s, stderr: err.s });
  o.info("an info line");
  o.step("a step that works")();
  o.step("a step that fails")("why", false);
  o.warn("a warning");
  o.result({}, () => "the result");
  assert.doesNotMatch(err.text(), /an info line|a step that works/);
  assert.match(err.text(), /✗ a step that fails .*why/);
  assert.match(err.text(), /warning: a warning/);
  assert.equal(out.text(), "the result\n");
  const tty = capture(true);
  new Output({ json: false, color: false, quiet: true, stderr: tty.s, stdout: out.s }).warn("plain");
  assert.equal(tty.text(), "warning: plain\n");
});

test("dr completion bash completes commands and options from the parser itself", () => {
  const script = dr(["completion", "bash"]);
  assert.equal(script.code, 0);
  const complete = (line: string) => {
    const words = line.split(" ");
    const r = spawnSync("bash", ["-c", `${script.stdout}\nCOMP_WORDS=(${words.join(" ")}); COMP_CWORD=${words.length - 1}; _dr_complete; echo "\${COMPREPLY[@]}"`], { encoding: "utf8" });
    return r.stdout.trim().split(" ");
  };
  assert.deepEqual(complete("dr lab u"), ["up"]);
  assert.deepEqual(complete("dr backup full --r"), ["--repo", "--reason"]);
  assert.ok(complete("dr ").includes("failover"));
  assert.equal(dr(["completion", "fish"]).code, 64);
});
