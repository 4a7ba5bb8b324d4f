// The lab DNS server process (started by dns.ts through daemon.ts):
//   node [--import tsx] dns-daemon.ts|.js <dir> <port|0> <address>
// Serves the A records of <dir>/zone.json over UDP and TCP on the same port, authoritatively:
// NXDOMAIN for names it does not know, an empty answer for other types of a known name. The
// zone is re-read when the file changes (checked on each query: a swap is seen at once). Its
// pid and actual port go to <dir>/dns.json. SIGTERM / SIGINT close both sockets and exit 0.
import { readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import DNS from "dns2";
import { parseZone, DEFAULT_TTL, ZONE_FILE, type Zone } from "./dns";

const { Packet } = DNS;

const [dir, portArg, address = "127.0.0.1"] = process.argv.slice(2);
const zonePath = join(dir ?? ".", ZONE_FILE);
let zone: Zone = {};
let zoneStamp = "";

function log(message: string): void {
  console.log(`${new Date().toISOString()} ${message}`);
}

/** Re-reads the zone when the file's identity or contents changed; keeps the last good one. */
function currentZone(): Zone {
  let stamp: string;
  try {
    const st = statSync(zonePath);
    stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    stamp = "missing";
  }
  if (stamp === zoneStamp) return zone;
  zoneStamp = stamp;
  if (stamp === "missing") {
    zone = {};
    log("zone file missing: serving an empty zone");
    return zone;
  }
  try {
    zone = parseZone(readFileSync(zonePath, "utf8"), zonePath);
    log(`zone loaded: ${Object.entries(zone).map(([n, r]) => `${n}=${r.A}`).join(", ") || "(empty)"}`);
  } catch (e) {
    log(`zone not loaded, keeping the previous one: ${(e as Error).message}`);
  }
  return zone;
}

function answer(request: DNS.Packet, send: (response: DNS.Packet) => unknown): void {
  const response = Packet.createResponseFromRequest(request);
  response.header.aa = 1;
  response.header.ra = 0;
  const [question] = request.questions;
  if (!question) {
    response.header.rcode = 1; // FORMERR
    send(response);
    return;
  }
  const name = question.name.toLowerCase().replace(/\.$/, "");
  const record = currentZone()[name];
  if (!record) {
    response.header.rcode = 3; // NXDOMAIN
  } else if (question.type === Packet.TYPE.A || question.type === Packet.TYPE.ANY) {
    response.answers.push(Packet.createResourceFromQuestion(question, { type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl: record.ttl ?? DEFAULT_TTL, address: record.A }));
  }
  send(response);
}

function listenUdp(server: DNS.UDPServer, port: number): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const onError = (e: Error) => reject(e);
    server.once("error", onError);
    server.bind(port, address, () => {
      server.off("error", onError);
      resolvePromise(server.address().port);
    });
  });
}

function listenTcp(server: DNS.TCPServer, port: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const onError = (e: Error) => reject(e);
    server.once("error", onError);
    server.listen(port, address, () => {
      server.off("error", onError);
      resolvePromise();
    });
  });
}

async function main(): Promise<void> {
  if (!dir || portArg === undefined) throw new Error("usage: dns-daemon.ts <dir> <port|0> [address]");
  const wanted = Number(portArg);
  currentZone();

  // UDP first (it picks the port when asked for 0), then TCP on the same number; when 0 was
  // asked and TCP finds that number taken, try another.
  let udp: DNS.UDPServer | undefined;
  let tcp: DNS.TCPServer | undefined;
  let port = 0;
  for (let attempt = 0; attempt < 20 && !tcp; attempt++) {
    udp = DNS.createUDPServer();
    port = await listenUdp(udp, wanted);
    const candidate = DNS.createTCPServer();
    try {
      await listenTcp(candidate, port);
      tcp = candidate;
    } catch (e) {
      udp.close();
      if (wanted !== 0 || (e as NodeJS.ErrnoException).code !== "EADDRINUSE") throw e;
    }
  }
  if (!udp || !tcp) throw new Error("could not find a port free for both udp and tcp");
  for (const server of [udp, tcp] as const) {
    server.on("request", (request: DNS.Packet, send: (r: DNS.Packet) => unknown) => answer(request, send));
    server.on("requestError", (e: Error) => log(`bad request: ${e.message}`));
  }
  udp.on("error", (e: Error) => log(`udp error: ${e.message}`));
  tcp.on("error", (e: Error) => log(`tcp error: ${e.message}`));

  const stateFile = join(dir, "dns.json");
  const tmp = `${stateFile}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ host: address, port, pid: process.pid, tcp: true }, null, 2) + "\n");
  renameSync(tmp, stateFile);
  log(`dns listening on ${address}:${port} (udp, tcp), zone ${zonePath}`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    // An idle TCP client could hold close() open: the bound exits anyway (UDP has no sessions).
    setTimeout(() => process.exit(0), 1_000).unref();
    udp!.close();
    tcp!.close(() => process.exit(0));
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((e: Error) => {
  log(`dns server failed: ${e.stack ?? e.message}`);
  process.exit(1);
});
