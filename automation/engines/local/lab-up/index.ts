// `dr lab up`, idempotent: it starts what is stopped and builds what is missing, then leaves a
// first full backup offsite. Four phases, each in its own file:
//   1. services   dependencies, directories, secrets, object store, DNS, lab.json
//   2. primary    site directories and pgBackRest configuration; the primary initialised and
//                 started; the stanza in both repositories, so that archiving works before any
//                 data is written (4-backups.ts)
//   3. database   roles, the application database, fp-dr's heartbeat schema, the sample data
//   4. backups    the archive backlog shipped, archiving checked, a first full backup to each
//   then, with standby.enabled (the default), the secondary built as a warm standby (../standby.ts)
// An isolated (evidence of an incident) or fenced primary stops it after phase 2, one in recovery after 3.
// After a failover or switchover moved the primary role to another site, the sites start as the
// recorded topology says instead (moved-roles.ts).
import type { DrConfig } from "../../../config/schema";
import { Lab, noStep, type LabStep, type LabUpOptions } from "../lab";
import { startServices } from "./1-services";
import { configureSites, startPrimary } from "./2-primary";
import { startMovedRoles } from "./moved-roles";
import { recordedTopology } from "../topology";
import { prepareDatabase } from "./3-database";
import { createStanza, firstBackups } from "./4-backups";
import { ensureStandby } from "../standby";

export async function bringUpLab(config: DrConfig, opts: LabUpOptions = {}): Promise<Lab> {
  const step: LabStep = opts.step ?? noStep;
  const { fresh } = await startServices(config, opts, step);
  const lab = Lab.open(config);
  const roles = recordedTopology(lab);
  if (roles.primary !== "primary") {
    configureSites(lab);
    await startMovedRoles(lab, roles, step);
    return lab;
  }
  if (!(await startPrimary(lab, step))) return lab;
  await createStanza(lab, step);
  if (!(await prepareDatabase(lab, fresh, opts, step))) return lab;
  await firstBackups(lab, opts, step);
  if (config.standby.enabled) await ensureStandby(lab, step);
  return lab;
}
