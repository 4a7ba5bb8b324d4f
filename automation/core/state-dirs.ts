// Where runs on the pulumi engine keep their journals. Its own small file: commands that only
// need the path (every run resolves its journal) must not load the Pulumi SDK and AWS clients.
import { homedir, userInfo } from "node:os";
import { join } from "node:path";
import type { DrConfig } from "../config/schema";

/** Where runs on the pulumi engine keep their journals: pulumi.journalDir, else a per-user state dir. */
export function pulumiJournalDir(config: DrConfig): string {
  if (config.pulumi.journalDir) return config.pulumi.journalDir;
  return userInfo().uid === 0 ? "/var/lib/fp-dr/pulumi/journal" : join(homedir(), ".local", "state", "fp-dr", "pulumi", "journal");
}
