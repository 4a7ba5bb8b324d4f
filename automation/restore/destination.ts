// What an engine provides to restore into one destination: the copy phase (files.ts) and the
// recovery that follows it (run.ts) both work through it.
import type { Pgbackrest } from "../pgbackrest/client";
import type { Cluster } from "../postgres/cluster";

export interface RestoreDestinationHandle {
  cluster: Cluster;
  /** pgBackRest configured for the destination (pg1-path = its data directory). */
  pgbackrest: Pgbackrest;
  /** Creates directories and configuration before pgBackRest runs. */
  prepare(): Promise<void>;
  /** Server settings the restored cluster must run with at this destination. */
  serverSettings(): Record<string, string | number | boolean>;
  /** Proves the repository's store answers (STORE_UNREACHABLE naming it otherwise). */
  probeRepo?(repo: 1 | 2): Promise<void>;
}
