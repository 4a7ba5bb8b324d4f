// Lab up after a failover or switchover moved the primary role off the site built as `primary`:
// the sites start as the recorded topology says (engines/local/topology.ts), not as they were
// built. The new primary starts; its standby starts when it is one (standby.signal, no fence);
// a fenced site stays stopped until `dr reprotect`. The database, backups and standby were
// built before the roles moved, so phases 3 and 4 have nothing to add.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { isolatedFor } from "../markers";
import { isFenced, type Topology } from "../topology";
import type { Lab, LabStep } from "../lab";

export async function startMovedRoles(lab: Lab, t: Topology, step: LabStep): Promise<void> {
  for (const site of [t.primary, t.standby]) {
    const c = lab.site(site).cluster;
    const dataDir = lab.layout.dataDir(site);
    const what = site === t.primary ? "the primary" : "its standby";
    if (isolatedFor(dataDir)) {
      step(`${site} is isolated for an incident: left as it is (evidence)`)();
    } else if (isFenced(lab, site)) {
      step(`${site} is fenced since a failover: left stopped until \`dr reprotect\``)();
    } else if (c.state() === "stopped" && (site === t.primary || existsSync(join(dataDir, "standby.signal")))) {
      const done = step(`start ${site} as ${what} (recorded topology: primary ${t.primary}, standby ${t.standby})`);
      await c.start();
      done(`${lab.site(site).address}:${lab.site(site).port}`);
    }
  }
}
