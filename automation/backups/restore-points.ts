// Where a named restore point is in the archived WAL. PostgreSQL keeps no list of restore
// points: pg_create_restore_point() writes a WAL record and nothing else. So the only proof
// that a `--target-name` exists, and where, is the archive itself: each segment is fetched
// with pgBackRest archive-get (decrypted, decompressed) into a private temporary directory
// outside the lab and read with pg_waldump, newest first, until the name is found.
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Pgbackrest } from "../pgbackrest/client";
import { pgBin, run } from "../system/exec";
import type { ArchivedSegment } from "./archive";

export interface FoundRestorePoint {
  name: string;
  lsn: string;
  segment: string;
}

/** The newest restore point called `name` in `segments` (searched newest first), if any. */
export async function findRestorePoint(pgb: Pgbackrest, repo: 1 | 2, segments: ArchivedSegment[], name: string): Promise<FoundRestorePoint | undefined> {
  const dir = mkdtempSync(join(tmpdir(), "fp-dr-waldump-"));
  try {
    if (pgb.opts.user.switched) chownSync(dir, pgb.opts.user.uid, pgb.opts.user.gid);
    for (const seg of [...segments].reverse()) {
      const file = join(dir, seg.name);
      await pgb.exec([`--repo=${repo}`, "--no-archive-async", "archive-get", seg.name, file]);
      // pg_waldump exits 1 at a record continuing into the next segment (not fetched): the
      // records before it are printed all the same.
      const dump = await run(pgBin("pg_waldump"), ["--rmgr=XLOG", file], { okCodes: [1] });
      rmSync(file, { force: true });
      const hits = dump.stdout.split("\n").map((l) => /lsn: ([0-9A-F]+\/[0-9A-F]+),.* desc: RESTORE_POINT (.*)$/.exec(l)).filter((m) => m && m[2].trimEnd() === name);
      const last = hits[hits.length - 1];
      if (last) return { name, lsn: last[1], segment: seg.name };
    }
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
