// Proves: s3rver and dns2 are the lab's alone. They are optional dependencies that hosts do not
// install (cloud-init: npm install --omit=optional), so nothing a host runs may load them: the
// `dr` command line and every command module load without either; only the lab's two daemons
// (separate processes) require them. The AWS SDK is not loaded by any command module either: only
// the code that calls AWS loads it, when it runs (it was most of every `dr` start).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

const ROOT = join(__dirname, "..", "..", "..");

test("the command line and the commands load without s3rver, dns2 or the AWS SDK; package.json keeps the first two optional", () => {
  const probe = `
    require("tsx/cjs");
    require("./automation/cli/main.ts").buildProgram();
    for (const f of require("node:fs").readdirSync("automation/commands")) if (f.endsWith(".ts") && !f.endsWith(".test.ts")) require("./automation/commands/" + f);
    console.log(JSON.stringify(Object.keys(require.cache).filter((k) => /node_modules\\/(s3rver|dns2|@aws-sdk)\\//.test(k))));`;
  const r = spawnSync(process.execPath, ["-e", probe], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim().split("\n").pop()!), []);
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as Record<string, Record<string, string>>;
  for (const name of ["s3rver", "dns2"]) {
    assert.ok(pkg.optionalDependencies?.[name], `${name} is an optional dependency`);
    assert.equal(pkg.dependencies[name], undefined, `${name} is not a runtime dependency`);
  }
});
