// Free TCP ports on loopback addresses. The lab puts every site on its own loopback address
// but the same port (as production sites share 5432), so a port must be free on all of them.
import { createServer } from "node:net";

function tryListen(host: string, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(undefined));
    srv.listen({ host, port, exclusive: true }, () => {
      const addr = srv.address();
      const chosen = typeof addr === "object" && addr ? addr.port : undefined;
      srv.close(() => resolve(chosen));
    });
  });
}

/** A port free on every one of `hosts` (tries the kernel's pick on the first, then checks the rest). */
export async function freePort(hosts: string[] = ["127.0.0.1"], attempts = 50): Promise<number> {
  for (let i = 0; i < attempts; i++) {
    const candidate = await tryListen(hosts[0], 0);
    if (candidate === undefined) continue;
    let ok = true;
    for (const h of hosts.slice(1)) if ((await tryListen(h, candidate)) === undefined) ok = false;
    if (ok) return candidate;
  }
  throw new Error(`no free port on ${hosts.join(", ")} after ${attempts} attempts`);
}

/** True when nothing listens on host:port. */
export async function isPortFree(host: string, port: number): Promise<boolean> {
  return (await tryListen(host, port)) !== undefined;
}
