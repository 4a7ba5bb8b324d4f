// Which code `dr` runs: the compiled copy in dist/ (`npm run build`) only when it was compiled from
// exactly the sources beside it, else the TypeScript sources through tsx. Old code must never run
// because someone edited a .ts file and forgot to build.
//
// The build records a digest of every source before it compiles (dist/sources.json, so a file
// edited while tsc runs counts as changed). At start a source whose mtime is not newer than that
// record is taken as unchanged (one stat each: about 8 ms of CPU in all); a newer one is hashed and must
// match. Hashing, not only mtimes, because npm extracts an installed package with the time of
// extraction as every file's mtime (pacote's noMtime), in tarball order: sources written after
// the record would otherwise turn every installed host back to tsx.
//
//   node automation/cli/compiled-entry.cjs record   (the build's first step)
"use strict";
const { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } = require("node:fs");
const { join } = require("node:path");

const PACKAGE_ROOT = join(__dirname, "..", "..");
const SOURCE_DIRS = ["automation", "infra"];
const RECORD = join("dist", "sources.json");
const ENTRY = join("dist", "automation", "cli", "main.js");

/** The compiled sources, relative to the package root (tests are not compiled). */
function sources(root) {
  const found = [];
  // A walk of our own: Node 20's recursive readdirSync costs ten times as much (about 10 ms).
  const walk = (rel) => {
    for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (path.endsWith(".ts") && !path.endsWith(".test.ts") && !path.endsWith(".d.ts")) found.push(path);
    }
  };
  for (const dir of SOURCE_DIRS) walk(dir);
  return found;
}

// node:crypto is loaded only when a file needs hashing: it is a few ms of every start otherwise.
const digest = (file) => require("node:crypto").createHash("sha1").update(readFileSync(file)).digest("hex");

/** Writes dist/sources.json: every source and its digest. */
function recordSources(root = PACKAGE_ROOT) {
  const files = {};
  for (const f of sources(root).sort()) files[f] = digest(join(root, f));
  mkdirSync(join(root, "dist"), { recursive: true });
  writeFileSync(join(root, RECORD), `${JSON.stringify({ files }, null, 1)}\n`);
}

/**
 * The compiled entry point when it is current, else undefined: no build, a source added or
 * removed since, or one whose content changed. Anything unreadable counts as not current.
 */
function compiledEntry(root = PACKAGE_ROOT) {
  try {
    const entry = join(root, ENTRY);
    if (!existsSync(entry)) return undefined;
    const recordedAt = statSync(join(root, RECORD)).mtimeMs;
    const recorded = JSON.parse(readFileSync(join(root, RECORD), "utf8")).files;
    const present = sources(root);
    if (present.length !== Object.keys(recorded).length) return undefined;
    for (const f of present) {
      const want = recorded[f];
      if (want === undefined) return undefined;
      const file = join(root, f);
      if (statSync(file).mtimeMs > recordedAt && digest(file) !== want) return undefined;
    }
    return entry;
  } catch {
    return undefined;
  }
}

module.exports = { compiledEntry, recordSources };

if (require.main === module) {
  if (process.argv[2] !== "record") {
    console.error("usage: node automation/cli/compiled-entry.cjs record");
    process.exit(2);
  }
  recordSources();
}
