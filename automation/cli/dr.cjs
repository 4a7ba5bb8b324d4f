#!/usr/bin/env node
// The `dr` command. TypeScript sources run through tsx, so there is no build step between a
// checkout and a working CLI (that matters on a rebuilt host at 3 a.m.).
require("tsx/cjs");
const cli = require("./main.ts");
cli.main(process.argv).then((code) => {
  process.exitCode = code;
  // Interrupted: what the signal cut short may still hold a socket or a timer; the run has said
  // and journaled everything, so the process ends now instead of waiting on them.
  if (cli.interruptedBy()) process.exit(code);
});
