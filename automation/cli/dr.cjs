#!/usr/bin/env node
// The `dr` command. TypeScript sources run through tsx, so there is no build step between a
// checkout and a working CLI (that matters on a rebuilt host at 3 a.m.).
require("tsx/cjs");
require("./main.ts")
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
