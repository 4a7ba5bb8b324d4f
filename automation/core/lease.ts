// One run at a time per environment, across machines: a lease in the shared store
// (`lease/<environment>.json`). It is created only if absent and renewed only on the version
// read, so two operators starting `dr failover` in the same millisecond cannot both hold it.
// The epoch only grows: every new holder (a takeover, a resume, a break) gets a higher one,
// and a run re-reads the lease before each step, so a run whose lease was broken or taken
// over stops before it changes anything more (fencing by epoch, as ZooKeeper's and etcd's
// leases are used). A released lease stays as an object so that the epoch keeps growing.
import { hostname, userInfo } from "node:os";
import { z } from "zod";
import { DrError } from "./errors";
import { parseStored, type SharedStore } from "./shared-store";

const leaseDoc = z.object({
  environment: z.string(),
  epoch: z.number().int().min(1),
  runId: z.string(),
  scenario: z.string(),
  holder: z.object({ user: z.string(), host: z.string(), pid: z.number().int() }),
  acquiredAt: z.string(),
  renewedAt: z.string(),
  expiresAt: z.string(),
  /** Set when the holder let go (or a person broke it): free for the next run. */
  released: z.object({ at: z.string(), by: z.string() }).optional(),
});
export type LeaseDoc = z.infer<typeof leaseDoc>;

export function leaseKey(environment: string): string {
  return `lease/${environment}.json`;
}

function userAtHost(): string {
  let user = "unknown";
  try {
    user = userInfo().username;
  } catch {
    /* no passwd entry (a container): keep "unknown" */
  }
  return `${user}@${hostname()}`;
}

/** Whether a process with this pid exists (EPERM: it does, as another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export async function readLease(store: SharedStore, environment: string): Promise<{ doc: LeaseDoc; etag: string } | undefined> {
  const cur = await store.get(leaseKey(environment));
  if (!cur) return undefined;
  const doc = parseStored(cur.body, leaseDoc);
  if (!doc) {
    throw new DrError("RUN_LOCKED", `the lease ${leaseKey(environment)} in ${store.where} is unreadable`, { hint: "`dr lease break --yes` replaces it once you know no run is going on" });
  }
  return { doc, etag: cur.etag };
}

/** Free for a new holder: released, expired, or its process is gone from this very host. */
export function leaseFree(doc: LeaseDoc, now = Date.now()): boolean {
  if (doc.released) return true;
  if (Date.parse(doc.expiresAt) < now) return true;
  return doc.holder.host === hostname() && !processAlive(doc.holder.pid);
}

export function describeHolder(doc: LeaseDoc): string {
  return `${doc.scenario} run ${doc.runId} (pid ${doc.holder.pid} of ${doc.holder.user}@${doc.holder.host}, since ${doc.acquiredAt}, epoch ${doc.epoch})`;
}

export class Lease {
  private timer?: NodeJS.Timeout;
  private lost?: LeaseDoc;

  constructor(
    private readonly store: SharedStore,
    private doc: LeaseDoc,
    private etag: string,
    private readonly ttlMs: number,
    /** The holder this lease was taken from (dead or expired), if any. */
    readonly tookOverFrom?: LeaseDoc,
  ) {}

  get epoch(): number {
    return this.doc.epoch;
  }

  /** Renews on a timer (a quarter of the time to live); a renewal that finds another version stops. */
  startRenewing(): void {
    this.timer = setInterval(() => void this.renew().catch(() => undefined), Math.max(250, this.ttlMs / 4));
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    if (this.lost) return;
    const now = new Date();
    const next: LeaseDoc = { ...this.doc, renewedAt: now.toISOString(), expiresAt: new Date(now.getTime() + this.ttlMs).toISOString() };
    const w = await this.store.replace(leaseKey(this.doc.environment), JSON.stringify(next, null, 2), this.etag);
    if (w) {
      this.doc = next;
      this.etag = w.etag;
      return;
    }
    const cur = await readLease(this.store, this.doc.environment);
    if (cur && (cur.doc.epoch !== this.doc.epoch || cur.doc.runId !== this.doc.runId || cur.doc.released)) this.lost = cur.doc;
  }

  /** Before acting: refuses if the lease was broken or taken by another holder (a stale epoch). */
  async check(): Promise<void> {
    const cur = this.lost ? { doc: this.lost } : await readLease(this.store, this.doc.environment);
    const d = cur?.doc;
    if (d && d.epoch === this.doc.epoch && d.runId === this.doc.runId && !d.released) return;
    this.lost ??= d;
    const now = !d ? "no lease at all" : d.released ? `it was released by ${d.released.by} at ${d.released.at}` : `${describeHolder(d)} holds it`;
    throw new DrError("LEASE_LOST", `this run's lease (epoch ${this.doc.epoch}) is no longer current: ${now}; nothing more was changed`, {
      hint: `\`dr lease show\` says who holds it; \`dr resume ${this.doc.runId}\` continues this run once that one is over`,
    });
  }

  /** Lets go: the object stays, marked released, so the next holder's epoch is higher. */
  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (let attempt = 0; attempt < 3; attempt++) {
      const cur = await readLease(this.store, this.doc.environment);
      if (!cur || cur.doc.epoch !== this.doc.epoch || cur.doc.runId !== this.doc.runId || cur.doc.released) return;
      const released: LeaseDoc = { ...cur.doc, released: { at: new Date().toISOString(), by: `run ${this.doc.runId}` } };
      if (await this.store.replace(leaseKey(this.doc.environment), JSON.stringify(released, null, 2), cur.etag)) return;
    }
  }
}

export interface LeaseRequest {
  environment: string;
  runId: string;
  scenario: string;
  ttlMs: number;
}

/** Takes the environment's lease or fails at once naming the live holder (RUN_LOCKED). */
export async function acquireLease(store: SharedStore, req: LeaseRequest): Promise<Lease> {
  const key = leaseKey(req.environment);
  for (let attempt = 0; attempt < 5; attempt++) {
    const now = new Date();
    const cur = await readLease(store, req.environment);
    if (cur && !leaseFree(cur.doc, now.getTime())) {
      throw new DrError("RUN_LOCKED", `another run holds the ${req.environment} lease: ${describeHolder(cur.doc)}`, {
        hint: `wait for it; if its machine is gone, the lease expires at ${cur.doc.expiresAt}, or \`dr lease break --yes\`; \`dr resume ${cur.doc.runId}\` continues that run`,
        details: { holder: cur.doc },
      });
    }
    const [user, host] = userAtHost().split("@");
    const doc: LeaseDoc = {
      environment: req.environment,
      epoch: (cur?.doc.epoch ?? 0) + 1,
      runId: req.runId,
      scenario: req.scenario,
      holder: { user, host, pid: process.pid },
      acquiredAt: now.toISOString(),
      renewedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + req.ttlMs).toISOString(),
    };
    const body = JSON.stringify(doc, null, 2);
    const w = cur ? await store.replace(key, body, cur.etag) : await store.create(key, body);
    if (w) {
      const lease = new Lease(store, doc, w.etag, req.ttlMs, cur && !cur.doc.released ? cur.doc : undefined);
      lease.startRenewing();
      return lease;
    }
    // Lost a race with another process: read again and decide again.
  }
  throw new DrError("RUN_LOCKED", `could not take the ${req.environment} lease: other runs kept taking it`, { hint: "`dr lease show` says who holds it; try again" });
}

/** `dr lease break`: marks the lease released with a higher epoch, so its holder stops at its next step. */
export async function breakLease(store: SharedStore, environment: string): Promise<LeaseDoc | undefined> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const cur = await readLease(store, environment).catch(() => undefined);
    const raw = cur ? undefined : await store.get(leaseKey(environment));
    if (!cur && !raw) return undefined;
    const base = cur?.doc;
    const now = new Date().toISOString();
    const broken: LeaseDoc = base
      ? { ...base, epoch: base.epoch + 1, released: { at: now, by: `dr lease break by ${userAtHost()}` } }
      : { environment, epoch: 1, runId: "unknown", scenario: "unknown", holder: { user: "unknown", host: "unknown", pid: 0 }, acquiredAt: now, renewedAt: now, expiresAt: now, released: { at: now, by: `dr lease break by ${userAtHost()}` } };
    if (await store.replace(leaseKey(environment), JSON.stringify(broken, null, 2), cur?.etag ?? raw!.etag)) return broken;
  }
  throw new DrError("RUN_LOCKED", `could not break the ${environment} lease: it kept changing`, { hint: "try again" });
}
