// A throwaway PostgreSQL 15 cluster for tests: a fresh directory under /tmp, a free loopback
// port, a superuser password, and `destroy()` that stops the server and removes everything.
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClientConfig } from "pg";
import { makeServiceDir, serviceUser } from "../system/service-user";
import { Cluster } from "./cluster";

export interface ScratchCluster {
  cluster: Cluster;
  dir: string;
  password: string;
  /** node-postgres settings for the superuser over TCP. */
  connection(database?: string): ClientConfig;
  /** Stops the server (immediately) and removes the directory. */
  destroy(): Promise<void>;
}

/** A TCP port nobody listens on right now (the kernel's choice for port 0). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Initialises and starts a scratch cluster with `settings` added to its configuration. */
export async function startScratchCluster(settings: Record<string, string | number | boolean> = {}, prefix = "fp-dr-scratch-"): Promise<ScratchCluster> {
  const user = serviceUser();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  makeServiceDir(dir, user, 0o755);
  const password = randomBytes(18).toString("base64url");
  const cluster = new Cluster({ dataDir: join(dir, "data"), runDir: join(dir, "run"), host: "127.0.0.1", port: await freePort(), user, password });
  const destroy = async () => {
    await cluster.stop("immediate").catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await cluster.init(settings);
    await cluster.start();
  } catch (e) {
    await destroy();
    throw e;
  }
  return {
    cluster,
    dir,
    password,
    connection: (database = "postgres") => ({ ...cluster.connection(database) }),
    destroy,
  };
}
