#!/usr/bin/env node
// The `dr` command. A packed toolkit carries compiled JavaScript (dist/, built by prepack), which
// starts without transpiling anything; a checkout runs the TypeScript through tsx, so there is no
// build step between an edit and a working CLI (that matters on a rebuilt host at 3 a.m.). A build
// runs only while it matches the sources (compiled-entry.cjs). FP_DR_FROM_SOURCE=1 forces tsx.
const { compiledEntry } = require("./compiled-entry.cjs");

// `dr --help | head`, `dr lab drill | head`: the reader went away. What is still to be written
// is dropped, quietly, and the command goes on to its own end (a recovery run must not stop half
// way because nobody reads it any more: its journal and report still say everything), instead
// of dying on an unhandled EPIPE with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e) => {
    if (e.code !== "EPIPE") throw e;
    stream.write = () => true;
  });
}

// The AWS SDK warns once per process, on stderr, that its releases from 2027 on will need Node 22.
// That is for whoever upgrades the toolkit's dependencies (package.json's engines say what runs
// it), not for an operator in the middle of a failover: seven lines of it between the steps of
// `dr lab up` or `dr failover` read like a fault. Whoever wants it back sets the variable to false.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const compiled = process.env.FP_DR_FROM_SOURCE === "1" ? undefined : compiledEntry();
if (compiled === undefined) require("tsx/cjs");
const cli = require(compiled ?? "./main.ts");
cli.main(process.argv).then((code) => {
  process.exitCode = code;
  // Interrupted: what the signal cut short may still hold a socket or a timer; the run has said
  // and journaled everything, so the process ends now instead of waiting on them.
  if (cli.interruptedBy()) process.exit(code);
});
