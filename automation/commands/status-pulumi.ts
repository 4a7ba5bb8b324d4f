// What `dr status` observes on AWS (the pulumi engine): the recorded pair (commands/topology.ts); each site's fence
// from its stack outputs (the backend, no cloud call); its role and replay position from a
// recovery-state query through the engine's access path (SSM port forward or the VPC); the S3
// repositories through the operator's pgBackRest (engine.catalog); the service name's answer
// through the engine's resolver. What cannot be read is reported as such, never guessed.
import type { DrConfig } from "../config/schema";
import type { Engine } from "../engines/engine";
import type { RecoveryState } from "../postgres/recovery-state";
import { readRole, type DrStatus, type Observed, type SiteStatusLine } from "./status-observed";
import { recordedPair } from "./topology";

export async function observePulumi(config: DrConfig, engine: Engine, now: Date): Promise<Observed> {
  const pair = await recordedPair(config, engine);
  const states = new Map<string, RecoveryState>();
  const sites: SiteStatusLine[] = [];
  for (const [name, recorded] of [[pair.source, "primary"], [pair.target, "standby"]] as const) {
    const line: SiteStatusLine = { site: name, recorded, role: "unknown", address: "" };
    try {
      const fenced = (await engine.standbyRoles?.fenced?.(name)) ?? false;
      const ep = await engine.endpoint(name);
      line.address = ep.address;
      await readRole(line, states, ep.admin, fenced);
    } catch (e) {
      line.error = (e as Error).message.split("\n")[0];
    }
    sites.push(line);
  }

  const repos: DrStatus["repos"] = [];
  let offsiteWalAgeSeconds: number | undefined;
  for (const repo of [1, 2] as const) {
    const name = repo === 1 ? "site" : "offsite";
    try {
      const c = await engine.catalog(repo);
      const newest = c.sets.filter((s) => !s.error).pop();
      repos.push({
        repo,
        name,
        reachable: true,
        newestSet: newest?.label,
        newestSetAt: newest?.stoppedAt.toISOString(),
        window: c.window ? { oldest: c.window.oldest.toISOString(), newest: c.window.newest.toISOString() } : undefined,
        newestWalAt: c.newestWalAt?.toISOString(),
      });
      if (repo === 2 && c.newestWalAt) offsiteWalAgeSeconds = Math.max(0, (now.getTime() - c.newestWalAt.getTime()) / 1000);
    } catch (e) {
      repos.push({ repo, name, reachable: false, error: (e as Error).message });
    }
  }

  const service: Observed["service"] = { name: config.serviceName };
  try {
    service.site = await engine.activeSite();
    if (service.site) service.answer = sites.find((s) => s.site === service.site)?.address || undefined;
    else service.error = "its answer is none of the sites' addresses (or it has none)";
  } catch (e) {
    service.error = (e as Error).message.split("\n")[0];
  }
  return { primary: pair.source, standby: pair.target, sites, states, repos, offsiteWalAgeSeconds, service };
}
