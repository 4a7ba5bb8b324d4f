// Lab up, phase 4: the pgBackRest stanza in both repositories, archiving checked, and unless the
// caller makes its own, a first full backup to each repository (after recording the manifest
// the restores are verified against).
import { recordManifest } from "../../../verify/manifest";
import { invariantsFor } from "../../../verify/invariants";
import type { Lab, LabStep, LabUpOptions } from "../lab";
import { ensureStanza } from "../stanza";
import { whileLocked } from "../../../pgbackrest/while-locked";

export async function firstBackups(lab: Lab, opts: LabUpOptions, step: LabStep): Promise<void> {
  const primary = lab.site("primary");
  let done = step("create the pgBackRest stanza in both repositories and check archiving");
  const stanza = await ensureStanza(primary.pgbackrest, (text) => step(text)());
  await whileLocked(() => primary.pgbackrest.check(), { what: "check archiving", say: (text) => step(text)() });
  done(stanza);

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
        await whileLocked(() => primary.pgbackrest.backup({ type: "full", repo, annotations: { by: "dr lab up", why: "first full backup" } }), { what: `take the first full backup to repo${repo}`, say: (text) => step(text)() });
        done();
      }
    }
  }
}
