// The benchmark's own lab: a fresh directory under the system temp dir, its own loopback
// addresses and free ports, so that it never touches the operator's lab. Its configuration is
// the operator's pgBackRest tuning (that is what is measured) with the lab defaults for the rest.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../core/load-config";
import type { PgbackrestTuning } from "../config/common";
import type { DrConfig } from "../config/schema";
import { DrError } from "../core/errors";
import type { Lab } from "../engines/local/lab";
import { makeServiceDir } from "../system/service-user";

/** Loopback addresses of the benchmark's sites (the operator's lab defaults to 127.0.10.x). */
export const BENCH_ADDRESSES = { primary: "127.0.77.1", secondary: "127.0.77.2" };

/** A new, empty directory for one benchmark run, traversable by the service user. */
export function makeBenchDir(parent = tmpdir()): string {
  const dir = mkdtempSync(join(parent, `fp-dr-bench-${new Date().toISOString().replace(/[-:]/g, "").replace(/\..*$/, "")}-`));
  chmodSync(dir, 0o755);
  return dir;
}

/** The benchmark lab's configuration: `tuning` for pgBackRest, everything else the lab default. */
export function benchConfig(base: DrConfig, dir: string, scale: number, tuning: PgbackrestTuning = base.pgbackrest): DrConfig {
  return parseConfig(
    {
      stanza: base.stanza,
      database: base.database,
      pgbackrest: tuning,
      lab: { dir, scale, serviceUser: base.lab.serviceUser, addresses: BENCH_ADDRESSES, port: 0 },
      // The secondary becomes a streaming standby once the benchmark has a backup to build it from.
      standby: { enabled: true, streaming: true },
    },
    "benchmark configuration",
  );
}

/** The same benchmark lab with other pgBackRest settings (for `--tune`). */
export function withTuning(config: DrConfig, tuning: Partial<PgbackrestTuning>): DrConfig {
  return benchConfig(config, config.lab.dir!, config.lab.scale, { ...config.pgbackrest, ...tuning });
}

/** Stops a site's cluster and empties its data directory, so the next restore starts from nothing. */
export async function emptySite(lab: Lab, name: string): Promise<void> {
  const site = lab.site(name);
  if (site.role === "primary") throw new DrError("INTERNAL", "the benchmark never empties the primary", { hint: "this is a bug in the benchmark" });
  await site.cluster.stop("fast");
  const dataDir = lab.layout.dataDir(name);
  rmSync(dataDir, { recursive: true, force: true });
  makeServiceDir(dataDir, lab.user, 0o700);
}

/** A directory of the benchmark's own files inside the lab (dump, copies), the service user's. */
export function benchWorkDir(lab: Lab): string {
  const dir = join(lab.layout.root, "bench");
  makeServiceDir(dir, lab.user, 0o750);
  return dir;
}

/** The sample database's size on a site (pg_database_size). */
export async function databaseBytes(lab: Lab, site: string, database = lab.state.database): Promise<number> {
  const c = await lab.connect(site, "postgres");
  try {
    const r = await c.query<{ n: string }>("select pg_database_size($1)::text n", [database]);
    return Number(r.rows[0].n);
  } finally {
    await c.end();
  }
}
