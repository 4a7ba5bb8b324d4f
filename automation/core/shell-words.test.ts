// Proves: a word quoted by shell-words reaches a real bash and a real sh byte for byte, however
// hostile (quotes, $(...), backticks, newlines, globs, the empty word), and safe words stay
// readable in the scripts and command lines the tests pin.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import test from "node:test";
import { shellLine, shellQuote, shellQuoteDeployed } from "./shell-words";

const hostile = [
  "it's",
  'say "hi"',
  "$(touch /tmp/fp-dr-shell-words-pwned)",
  "`touch /tmp/fp-dr-shell-words-pwned`",
  "line one\nline two\n",
  "  spaced  out  ",
  "*",
  "/tmp/*.conf",
  "",
  "it's \"both\" and !bang",
  "$HOME ${PATH} \\ back\\slash",
  "a;b&&c|d>e<f",
  "~root",
  "{a,b}",
  "[x]?",
  "#not a comment",
  "tab\there",
  "C:\\dir",
  "key=value",
  "-n",
  "ü ünïcode",
];

/** What the shell makes of the line: each argument printf'd NUL-terminated, so nothing is lost. */
function argvFrom(shell: string, line: string): string[] {
  const out = execFileSync(shell, ["-c", `printf '%s\\0' ${line}`], { encoding: "utf8" });
  return out.split("\0").slice(0, -1);
}

for (const shell of ["bash", "sh"]) {
  test(`hostile words come back byte for byte through ${shell} -c`, () => {
    for (const word of hostile) {
      assert.deepEqual(argvFrom(shell, shellQuote(word)), [word], `${JSON.stringify(word)} quoted as ${shellQuote(word)}`);
      assert.deepEqual(argvFrom(shell, shellQuoteDeployed(word)), [word], `${JSON.stringify(word)} quoted as ${shellQuoteDeployed(word)}`);
    }
    assert.deepEqual(argvFrom(shell, shellLine(hostile)), hostile);
    assert.throws(() => execFileSync("test", ["-e", "/tmp/fp-dr-shell-words-pwned"]), "nothing was executed");
  });
}

test("safe words stay bare, the rest are quoted", () => {
  assert.equal(shellQuote("/tmp/fp-dr-bench-1/bench/runbook.sql.gz"), "/tmp/fp-dr-bench-1/bench/runbook.sql.gz");
  assert.equal(shellQuote("ON_ERROR_STOP=1"), "ON_ERROR_STOP\\=1");
  assert.equal(shellQuote("a b"), "'a b'");
  assert.equal(shellQuote("it's"), `"it's"`);
  assert.equal(shellQuote(""), "''");
  assert.equal(shellLine(["pgbackrest", "--stanza=main", "info"]), "pgbackrest --stanza\\=main info");
});
