// Lab up, phase 4: the archive backlog shipped, archiving checked, and unless the caller makes
// its own, a first full backup to each repository (after recording the manifest the restores
// are verified against). The stanza is created earlier, right after the primary starts: with it
// missing, every segment the sample data writes queues up unarchived (about 480 at scale 80),
// and the check then gave up behind them.
import { describeProof, recordManifestWithProofs } from "../../../verify/backup-proofs";
import { invariantsFor } from "../../../verify/invariants";
import type { Lab, LabStep, LabUpOptions } from "../lab";
import { ensureStanza } from "../stanza";
import { whileLocked } from "../../../pgbackrest/while-locked";
import { shipBacklog } from "../../../postgres/archiver";
import { withClient } from "../../../postgres/client";

/** The stanza in both repositories, before the database is written: archiving works from the start. */
export async function createStanza(lab: Lab, step: LabStep): Promise<void> {
  const done = step("create the pgBackRest stanza in both repositories");
  done(await ensureStanza(lab.site("primary").pgbackrest, (text) => step(text)()));
}

export async function firstBackups(lab: Lab, opts: LabUpOptions, step: LabStep): Promise<void> {
  const primary = lab.site("primary");
  // Shipped at the archiver's pace, bounded by its progress: pgBackRest check waits only 60 s
  // for its own segment, which queues behind everything the sample data wrote.
  let done = step("ship the queued WAL to the archive and check archiving");
  const backlog = await withClient(primary.cluster.connection("postgres"), (c) => shipBacklog(c, { say: (text) => step(text)() }));
  await whileLocked(() => primary.pgbackrest.check(), { what: "check archiving", say: (text) => step(text)() });
  done(backlog.shipped ? `${backlog.shipped} segments shipped in ${Math.round(backlog.waitedMs / 1000)}s; archiving works` : "archiving works");

  if (!opts.skipBackup) {
    const sets = await primary.pgbackrest.sets({ repo: 2 });
    if (!sets.some((s) => s.type === "full")) {
      const c = await lab.connect("primary");
      try {
        // No standby yet (it is bootstrapped from this backup): the proofs run on the primary.
        done = step("prove the data on the primary (amcheck, orphans, invariants) and record the manifest");
        const { proofs } = await recordManifestWithProofs(c, "before the first full backup", { name: "primary", client: c, open: () => lab.connect("primary") }, { invariants: invariantsFor(lab.config), amcheck: lab.config.verification.amcheck, parallel: lab.config.verification.parallel });
        done(`${proofs.ok ? "" : "warning: FAILED (recorded with the backup): "}${describeProof(proofs)}`);
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
