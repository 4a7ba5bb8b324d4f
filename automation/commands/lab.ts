// `dr lab up|status|down`: the local DR lab (see engines/local/lab.ts for what it is).
import type { Deps } from "./deps";
import { formatMs, table } from "../core/output";
import { Lab, type LabStatus } from "../engines/local/lab";
import { bringUpLab } from "../engines/local/lab-up";
import { DrError } from "../core/errors";
import { readAcks, startLoad, stopLoad } from "../engines/local/load";
import { confirmOrRefuse } from "./incident";
import { liveRunHolder, leftoverSites, refuseSiteInUse } from "./leftover-sites";
import { terminalConfirm } from "./run-context";
import { sharedStoreFor } from "./shared-store";
import { verdictExit } from "../core/exit-status";

export interface LabUpResult {
  status: LabStatus & { sharedStore: string };
  steps: { label: string; durationMs: number }[];
  totalMs: number;
}

export async function labUp(deps: Deps, opts: { scale?: number; skipBackup?: boolean } = {}): Promise<LabUpResult> {
  const started = Date.now();
  const lab = await bringUpLab(deps.config, {
    scale: opts.scale,
    skipBackup: opts.skipBackup,
    step: (label) => deps.out.step(label),
    onProgress: (done, total, label) => deps.out.progress(done, total, label),
  });
  const status = { ...(await lab.status()), sharedStore: (await sharedStoreFor(deps.config)).where };
  return { status, steps: deps.out.steps.map((s) => ({ label: s.label, durationMs: s.durationMs })), totalMs: Date.now() - started };
}

export interface LabStatusResult extends LabStatus {
  /** Drill sites no live run holds: left by a run that died before its clean-up (`dr lab remove-site`). */
  leftovers: string[];
  /** Where the runs' shared documents, the lease and the control state are (commands/shared-store.ts). */
  sharedStore: string;
}

export async function labStatus(deps: Deps): Promise<LabStatusResult> {
  const lab = Lab.open(deps.config);
  const status = await lab.status();
  // A store that does not answer is said by the status itself; leftovers are then not judged.
  const holder = await liveRunHolder(deps.config).then(
    (h) => ({ ok: true as const, h }),
    () => ({ ok: false as const }),
  );
  return { ...status, leftovers: holder.ok ? leftoverSites(lab, holder.h) : [], sharedStore: (await sharedStoreFor(deps.config)).where };
}

export async function labDown(deps: Deps, opts: { purge?: boolean } = {}): Promise<{ dir: string; purged: boolean }> {
  if (!Lab.exists(deps.config)) {
    throw new DrError("LAB_NOT_UP", `no lab at ${Lab.dirFor(deps.config)}`, { hint: "nothing to stop" });
  }
  const lab = Lab.open(deps.config);
  await lab.down({ purge: opts.purge, step: (label) => deps.out.step(label) });
  return { dir: lab.layout.root, purged: opts.purge === true };
}

/** `dr lab remove-site`: a drill or scratch site, after the refusals (nothing changed) and a confirmation. */
export async function labRemoveSite(deps: Deps, name: string, opts: { yes?: boolean } = {}): Promise<{ removed: string }> {
  const lab = Lab.open(deps.config);
  lab.site(name);
  await refuseSiteInUse(lab, name, await liveRunHolder(deps.config));
  await confirmOrRefuse(deps, `remove site ${name} (its cluster is stopped and its files deleted)`, opts.yes, terminalConfirm());
  await lab.removeSite(name);
  return { removed: name };
}

export async function labLoadStart(deps: Deps, opts: { fresh?: boolean } = {}): Promise<{ pid: number }> {
  return startLoad(Lab.open(deps.config), { fresh: opts.fresh });
}

export async function labLoadStop(deps: Deps): Promise<{ acknowledged: number }> {
  const lab = Lab.open(deps.config);
  await stopLoad(lab);
  return { acknowledged: readAcks(lab).length };
}

/**
 * Exit status of `dr lab status`: 2 when a site conflict (split brain, a fenced site running) is
 * critical; 1 when a service the commands need is down (the offsite store, DNS, the site the
 * service name serves), so a script or a monitor sees it without reading the text; else 0.
 */
export function labStatusExitCode(s: LabStatus): number {
  if (s.alerts.some((a) => a.severity === "critical")) return verdictExit("critical");
  return verdictExit(labServicesDown(s).length > 0 ? "warning" : "ok");
}

/** What is down among the lab's services, in words ("offsite object store", "DNS server", "site primary"). */
export function labServicesDown(s: LabStatus): string[] {
  const active = s.sites.find((x) => x.name === s.activeSite);
  return [
    ...(s.objectStore.running ? [] : ["offsite object store"]),
    ...(s.dns.running ? [] : ["DNS server"]),
    ...(active && active.state !== "running" ? [`site ${active.name} (the service name's)`] : []),
  ];
}

export function renderLabStatus(s: LabStatus & { leftovers?: string[]; sharedStore?: string }): string {
  const rows = s.sites.map((x) => [x.name, x.role, `${x.address}:${x.port}`, x.state + (x.restore ? ` (run ${x.restore.mark.runId})` : "") + (x.fenced ? " (FENCED)" : ""), x.inRecovery === undefined ? "" : x.inRecovery ? "in recovery" : "primary", x.serves ? "←" : ""]);
  return [
    `lab ${s.dir}: ${s.up ? "up" : "down"}`,
    table(["site", "role", "address", "cluster", "mode", s.serviceName], rows),
    `DNS ${s.serviceName} → ${s.answer ?? "(no answer)"}${s.activeSite ? ` (${s.activeSite})` : ""}; DNS server ${s.dns.running ? `up on port ${s.dns.port}` : "down"}`,
    `offsite object store ${s.objectStore.running ? `up at ${s.objectStore.endpoint}` : "down"}`,
    ...(s.sharedStore ? [`shared store: ${s.sharedStore}`] : []),
    `write load ${s.load.running ? "running" : "stopped"} (${s.load.acknowledged} commits acknowledged)`,
    ...(s.leftovers?.length ? [`leftover drill sites (no live run holds them): ${s.leftovers.join(", ")} — \`dr lab remove-site <name> --yes\` removes one`] : []),
    ...s.alerts.map((a) => `${a.severity.toUpperCase()}: ${a.message}`),
    ...(labServicesDown(s).length ? [`DOWN: ${labServicesDown(s).join(", ")} (\`dr lab up\` starts the lab's services)`] : []),
  ].join("\n");
}

export function renderLabUp(r: LabUpResult): string {
  return `${renderLabStatus(r.status)}\nlab ready in ${formatMs(r.totalMs)}`;
}
