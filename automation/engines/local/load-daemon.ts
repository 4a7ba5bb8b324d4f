// The lab's write load (started by load.ts through daemon.ts):
//   node [--import tsx] load-daemon.ts|.js <lab-dir>
// Like the application: resolves the service name through the lab's DNS, connects as the app
// role, and every `interval` ms commits one heartbeat row (and a ledger-like write). Every
// commit the server acknowledged is appended to <lab>/load/acks.log as "<id> <iso time>", so a
// failover test can prove which committed transactions survived. On a failed write it
// reconnects, resolving the name again: after a DNS swap it follows the new primary.
import { appendFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import { resolveName } from "./dns";

interface LoadConfig {
  serviceName: string;
  dnsPort: number;
  port: number;
  database: string;
  password: string;
  intervalMs: number;
}

async function main(): Promise<void> {
  const labDir = process.argv[2];
  const cfg = JSON.parse(readFileSync(join(labDir, "load", "load.json"), "utf8")) as LoadConfig;
  const acks = join(labDir, "load", "acks.log");
  let client: Client | undefined;
  let stopping = false;
  const stop = () => {
    stopping = true;
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  let failures = 0;
  while (!stopping) {
    const started = Date.now();
    try {
      if (!client) {
        const host = await resolveName(cfg.serviceName, { port: cfg.dnsPort, timeoutMs: 1000 });
        const c = new Client({ host, port: cfg.port, database: cfg.database, user: "app", password: cfg.password, connectionTimeoutMillis: 1000, application_name: "fp-dr-load" });
        c.on("error", () => undefined);
        await c.connect();
        client = c;
      }
      const r = await client.query<{ id: string; at: Date }>("insert into fp_dr.heartbeat (at, writer) values (clock_timestamp(), inet_server_addr()::text) returning id, at");
      appendFileSync(acks, `${r.rows[0].id} ${r.rows[0].at.toISOString()}\n`);
      failures = 0;
    } catch (e) {
      failures++;
      if (failures === 1 || failures % 50 === 0) console.log(`${new Date().toISOString()} write failed (${failures}): ${(e as Error).message}`);
      await client?.end().catch(() => undefined);
      client = undefined;
    }
    const wait = cfg.intervalMs - (Date.now() - started);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await client?.end().catch(() => undefined);
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
