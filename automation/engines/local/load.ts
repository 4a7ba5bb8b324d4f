// Start / stop the lab's write load (load-daemon.ts) and read what it committed.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "pg";
import { daemonStatus, scriptBeside, startDaemon, stopDaemon } from "./daemon";
import type { LabLayout } from "./layout";
import type { LabSecrets } from "./secrets";
import type { LabState } from "./state";

/** The parts of a lab the load needs (the Lab itself imports this file). */
interface Lab {
  layout: LabLayout;
  state: LabState;
  secrets: LabSecrets;
}

const NAME = "load";

export interface Ack {
  id: number;
  at: Date;
}

function loadDir(lab: Lab): string {
  return join(lab.layout.root, "load");
}

/** Starts the write load (idempotent). `fresh` clears the acknowledgements of an earlier load. */
export async function startLoad(lab: Lab, opts: { intervalMs?: number; fresh?: boolean } = {}): Promise<{ pid: number }> {
  const dir = loadDir(lab);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (opts.fresh) rmSync(join(dir, "acks.log"), { force: true });
  // The password goes in a 0600 file, never on the command line (ps shows argv).
  writeFileSync(
    join(dir, "load.json"),
    JSON.stringify({ serviceName: lab.state.serviceName, dnsPort: lab.state.dns.port, port: lab.state.port, database: lab.state.database, password: lab.secrets.appPassword, intervalMs: opts.intervalMs ?? 100 }),
    { mode: 0o600 },
  );
  const before = readAcks(lab).length;
  return startDaemon({
    name: NAME,
    dir,
    script: scriptBeside(__filename, "load-daemon"),
    args: [lab.layout.root],
    // Ready once it has committed through the service name.
    readyCheck: () => readAcks(lab).length > before,
    timeoutMs: 20_000,
  });
}

export async function stopLoad(lab: Lab): Promise<void> {
  await stopDaemon(loadDir(lab), NAME);
}

export function loadRunning(lab: Lab): boolean {
  return daemonStatus(loadDir(lab), NAME).running;
}

/** Every commit the server acknowledged to the load, in order. */
export function readAcks(lab: Lab): Ack[] {
  const file = join(loadDir(lab), "acks.log");
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => /^\d+ \S+$/.test(l))
    .map((l) => {
      const [id, at] = l.split(" ");
      return { id: Number(id), at: new Date(at) };
    });
}

/**
 * The acknowledged commits a site does not hold. A commit survived when the same row (id and
 * commit time) is there: ids alone are not enough, since a new primary's sequence hands out
 * ids the lost commits had.
 */
export async function missingAcks(lab: { connect(site: string): Promise<Client> }, site: string, acks: Ack[]): Promise<Ack[]> {
  const key = (id: number | string, at: Date) => `${id}@${at.toISOString()}`;
  const c = await lab.connect(site);
  try {
    const r = await c.query<{ id: string; at: Date }>("select id, at from fp_dr.heartbeat where id = any($1::bigint[])", [acks.map((a) => a.id)]);
    const present = new Set(r.rows.map((row) => key(row.id, row.at)));
    return acks.filter((a) => !present.has(key(a.id, a.at)));
  } finally {
    await c.end();
  }
}
