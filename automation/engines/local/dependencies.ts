// What the lab needs from the machine. Checked before anything is created, so a missing
// package is one clear error with the command that installs it, not a failure half way.
import { existsSync } from "node:fs";
import { DrError } from "../../core/errors";
import { pgBin, run } from "../../system/exec";

export async function checkDependencies(): Promise<{ postgres: string; pgbackrest: string }> {
  const missing: string[] = [];
  for (const bin of ["initdb", "pg_ctl", "postgres", "psql", "pg_dump"]) if (!existsSync(pgBin(bin))) missing.push(`PostgreSQL 15 (${pgBin(bin)})`);
  let pgbackrest = "";
  try {
    pgbackrest = (await run("pgbackrest", ["version"])).stdout.trim();
  } catch {
    missing.push("pgbackrest");
  }
  try {
    await run("openssl", ["version"]);
  } catch {
    missing.push("openssl");
  }
  if (missing.length > 0) {
    throw new DrError("DEPENDENCY_MISSING", `missing on this machine: ${[...new Set(missing)].join(", ")}`, {
      hint: "run `npm run setup` (as root: installs postgresql-15, postgresql-contrib, pgbackrest and openssl from Debian)",
    });
  }
  const postgres = (await run(pgBin("postgres"), ["--version"])).stdout.trim();
  return { postgres, pgbackrest };
}
