// Where runs keep their state, for both engines, in one place:
//   journal    <root>/journal/<run-id>.json (copied to the shared store: shared.bucket, else on the lab its
//              object store, else <root>/shared)
//   reports    reports.dir, else <root>/reports
//   incidents  <root>/incidents/<id>/ (chain of custody, evidence)
// <root> is the lab directory on the local engine (lab.dir, else a per-user state dir). On the
// pulumi engine there is no lab: <root> is the directory above pulumi.journalDir, else a per-user
// state dir of its own. Only paths here: commands that need one must not load the Pulumi SDK
// and the AWS clients, nor open the lab.
import { homedir, userInfo } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { DrConfig } from "../config/schema";
import { Journal } from "./journal";

/** /var/lib/fp-dr/… as root, else under the user's ~/.local/state/fp-dr/. */
function stateHome(...parts: string[]): string {
  return userInfo().uid === 0 ? join("/var/lib/fp-dr", ...parts) : join(homedir(), ".local", "state", "fp-dr", ...parts);
}

export function defaultLabDir(): string {
  return stateHome("lab");
}

/** The local lab's directory: lab.dir, else the per-user default. */
export function labDir(config: DrConfig): string {
  return config.lab.dir ?? defaultLabDir();
}

/** Where runs on the pulumi engine keep their journals: pulumi.journalDir, else a per-user state dir. */
export function pulumiJournalDir(config: DrConfig): string {
  return config.pulumi.journalDir ?? stateHome("pulumi", "journal");
}

function stateRoot(config: DrConfig): string {
  return config.engine === "pulumi" ? dirname(pulumiJournalDir(config)) : labDir(config);
}

/** The journal of this environment's runs. */
export function journalFor(config: DrConfig): Journal {
  return new Journal(config.engine === "pulumi" ? pulumiJournalDir(config) : join(stateRoot(config), "journal"));
}


/** Where this environment's reports are: `reports.dir`, else `<root>/reports`. */
export function reportsDir(config: DrConfig): string {
  return resolve(config.reports.dir ?? join(stateRoot(config), "reports"));
}

/** Where the security incidents' directories are (custody record and evidence). */
export function incidentsRoot(config: DrConfig): string {
  return join(stateRoot(config), "incidents");
}

/** The shared store's directory when no bucket is configured: `shared.dir`, else `<root>/shared`. */
export function sharedStoreDir(config: DrConfig): string {
  return resolve(config.shared.dir ?? join(stateRoot(config), "shared"));
}

/** The Automation API's own workspace (engines/pulumi/own-workspace.ts): never the operator's checkout. */
export function pulumiWorkspaceDir(config: DrConfig): string {
  return join(stateRoot(config), "workspace");
}
