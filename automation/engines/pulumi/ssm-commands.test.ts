// Proves the SSM Run Command runner. The AWS CLI cannot run here, so a stand-in `aws` (a small
// node script) does what Run Command does on the instance: runs the AWS-RunShellScript command
// line with bash (for real, on this machine) and reports its status through
// get-command-invocation, first "does not exist yet", then InProgress, then the result. Proves:
// the exact send-command arguments; argv reaches the host's shell word for word (quotes, spaces,
// $); polling until the end; a failing command is HOST_COMMAND_FAILED with its stderr; a
// command that never ends is TIMEOUT (bounded).
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DrError } from "../../core/errors";
import { tempDir } from "../../../test/harness/temp-dir";
import type { SiteOutputs } from "../../../infra/outputs";
import { ssmRunCommand } from "./ssm-commands";

let fakeAws: string;
let dir: string;

before(() => {
  dir = tempDir("fp-dr-fake-ssm-");
  fakeAws = join(dir, "aws");
  writeFileSync(
    fakeAws,
    `#!${process.execPath}
const fs = require("node:fs");
const { spawnSync } = require("node:child_process");
const dir = ${JSON.stringify(dir)};
const args = process.argv.slice(2);
fs.appendFileSync(dir + "/argv.log", JSON.stringify(args) + "\\n");
const polls = dir + "/polls";
if (args[1] === "send-command") {
  fs.writeFileSync(dir + "/command", JSON.parse(args[args.indexOf("--parameters") + 1]).commands[0]);
  fs.writeFileSync(polls, "0");
  console.log(JSON.stringify({ Command: { CommandId: "0b1c2d3e-cmd" } }));
} else {
  const n = Number(fs.readFileSync(polls, "utf8")) + 1;
  fs.writeFileSync(polls, String(n));
  if (n === 1) { console.error("An error occurred (InvocationDoesNotExist) when calling the GetCommandInvocation operation:"); process.exit(254); }
  if (n === 2 || process.env.FAKE_SSM_HANG) { console.log(JSON.stringify({ Status: "InProgress" })); process.exit(0); }
  const r = spawnSync("bash", ["-c", fs.readFileSync(dir + "/command", "utf8")], { encoding: "utf8" });
  console.log(JSON.stringify({ Status: r.status === 0 ? "Success" : "Failed", StandardOutputContent: r.stdout, StandardErrorContent: r.stderr }));
}
`,
    { mode: 0o755 },
  );
});

const outputs = { instanceId: "i-0123456789abcdef0", region: "eu-west-1" } as unknown as SiteOutputs;

test("the command reaches the host's shell word for word, and its output comes back once it ends", async () => {
  const run = ssmRunCommand({ command: fakeAws, pollMs: 10 });
  const argv = ["printf", "%s|", "it's", "a b", "$HOME", '"q"'];
  const r = await run("secondary", outputs, argv);
  assert.equal(r.stdout, `it's|a b|$HOME|"q"|`);
  const calls = readFileSync(join(dir, "argv.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as string[]);
  assert.deepEqual(calls[0].slice(0, 10), ["ssm", "send-command", "--region", "eu-west-1", "--instance-ids", "i-0123456789abcdef0", "--document-name", "AWS-RunShellScript", "--comment", "fp-dr on secondary"]);
  assert.deepEqual(calls.slice(1), Array(3).fill(["ssm", "get-command-invocation", "--region", "eu-west-1", "--command-id", "0b1c2d3e-cmd", "--instance-id", "i-0123456789abcdef0", "--output", "json"]));
});

test("a failing command is HOST_COMMAND_FAILED with the host's error; one that never ends is TIMEOUT", async () => {
  const run = ssmRunCommand({ command: fakeAws, pollMs: 10 });
  await assert.rejects(run("secondary", outputs, ["sh", "-c", "echo 'Unit fp-dr-backup-full-repo1.service not found.' >&2; exit 5"]), (e: unknown) => {
    assert.ok(e instanceof DrError && e.code === "HOST_COMMAND_FAILED", String(e));
    assert.match(e.message, /ended Failed: Unit fp-dr-backup-full-repo1\.service not found\.$/);
    return true;
  });
  const hanging = ssmRunCommand({ command: fakeAws, pollMs: 10, timeoutMs: 300, env: { FAKE_SSM_HANG: "1" } });
  await assert.rejects(hanging("secondary", outputs, ["true"]), (e: unknown) => e instanceof DrError && e.code === "TIMEOUT" && /0b1c2d3e-cmd/.test(e.message));
});
