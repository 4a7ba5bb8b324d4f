// Lab up, phase 2: every site's directory and pgBackRest configuration, then the primary
// cluster initialised (data checksums on) and started; the secondary is left provisioned and
// empty, waiting for a restore. A site isolated for an incident is left exactly as it is.
import type { Lab, LabStep } from "../lab";
import { existsSync } from "node:fs";
import { FENCE_MARKER, isolatedFor } from "../markers";
import { siteServerSettings, writeSitePgbackrestConf } from "../site";
import { makeServiceDir } from "../../../system/service-user";

/** Every site's directory and pgBackRest configuration. */
export function configureSites(lab: Lab): void {
  const { layout, state, user } = lab;
  for (const name of Object.keys(state.sites)) {
    makeServiceDir(layout.siteDir(name), user, 0o750);
    // An isolated (compromised) site keeps the repository access it had: the revoked one.
    if (isolatedFor(layout.dataDir(name))) continue;
    writeSitePgbackrestConf(lab.ctx, name);
  }
}

/** False when the primary is isolated (evidence) or fenced: nothing more is done to the lab. */
export async function startPrimary(lab: Lab, step: LabStep): Promise<boolean> {
  const { layout, user } = lab;
  let done: (detail?: string) => void;
  configureSites(lab);

  const primary = lab.site("primary");
  const isolated = isolatedFor(layout.dataDir("primary"));
  if (isolated) {
    step(`the primary site is isolated for incident ${isolated}: left as it is (evidence)`)();
    return false;
  }
  if (primary.cluster.state() === "absent" || primary.cluster.state() === "empty") {
    done = step("initialise the primary cluster (data checksums on)");
    await primary.cluster.init(siteServerSettings(lab.ctx, primary.configPath));
    done();
  }
  // A fenced primary (it lost the role in a failover) must not run: status would call it critical.
  if (existsSync(`${layout.dataDir("primary")}/${FENCE_MARKER}`)) {
    step("the primary site is fenced since a failover: left stopped")();
    return false;
  }
  done = step("start the primary cluster");
  await primary.cluster.start();
  done(`${primary.address}:${primary.port}`);
  // The secondary is a provisioned site waiting for a restore: its directory exists, empty.
  makeServiceDir(layout.dataDir("secondary"), user, 0o700);
  makeServiceDir(layout.runDir("secondary"), user, 0o755);
  return true;
}
