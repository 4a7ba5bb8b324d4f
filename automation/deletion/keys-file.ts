// The side file of a table recovery: every key the diff found (missing, changed with
// production's row hash, added since, and the dependants' missing keys). The journal holds only
// counts and samples; the apply and the gate read the keys from here. It sits beside the journal.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { DrError } from "../core/errors";

export interface KeysFile {
  table: { missing: string[]; changed: { key: string; productionHash: string }[]; added: string[] };
  dependents: Record<string, string[]>;
}

export function keysFilePath(journalDir: string, runId: string): string {
  return join(journalDir, `${runId}.recover-table.keys`);
}

export function writeKeys(path: string, keys: KeysFile): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(keys) + "\n", { mode: 0o600 });
}

export function readKeys(path: string | undefined): KeysFile {
  if (!path || !existsSync(path)) throw new DrError("INTERNAL", "the diff's key list is gone", { hint: "run the recovery again (the diff step recreates it)" });
  return JSON.parse(readFileSync(path, "utf8")) as KeysFile;
}
