// Lab up, phase 4: the pgBackRest stanza in both repositories, archiving checked, and unless the
// caller makes its own, a first full backup to each repository (after recording the manifest
// the restores are verified against).
import { recordManifest } from "../../../verify/manifest";
import { invariantsFor } from "../../../verify/invariants";
import type { Lab, LabStep, LabUpOptions } from "../lab";

export async function firstBackups(lab: Lab, opts: LabUpOptions, step: LabStep): Promise<void> {
  const primary = lab.site("primary");
  let done = step("create the pgBackRest stanza in both repositories and check archiving");
  await primary.pgbackrest.stanzaCreate();
  await primary.pgbackrest.check();
  done();

  if (!opts.skipBackup) {
    const sets = await primary.pgbackrest.sets({ repo: 2 });
    if (!sets.some((s) => s.type === "full")) {
      const c = await lab.connect("primary");
      try {
        await recordManifest(c, "before the first full backup", invariantsFor(lab.config));
      } finally {
        await c.end();
      }
      for (const repo of [1, 2] as const) {
        done = step(`first full backup to repo${repo} (${repo === 1 ? "site" : "offsite"})`);
        await primary.pgbackrest.backup({ type: "full", repo, annotations: { by: "dr lab up", why: "first full backup" } });
        done();
      }
    }
  }
}
