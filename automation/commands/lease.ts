// `dr lease show|break`: the environment's lease (core/lease.ts) for the humans. Breaking it is
// for a holder whose machine is gone before its lease expires: the epoch goes up, so that holder,
// if it comes back, stops at its next step instead of acting on a decision someone else now owns.
import type { Deps } from "./deps";
import { DrError } from "../core/errors";
import { breakLease, describeHolder, leaseFree, readLease, type LeaseDoc } from "../core/lease";
import { sharedStoreFor } from "./shared-store";

export interface LeaseView {
  environment: string;
  store: string;
  state: "none" | "held" | "free";
  lease?: LeaseDoc;
}

export async function leaseShow(deps: Deps): Promise<LeaseView> {
  const store = await sharedStoreFor(deps.config);
  const cur = await readLease(store, deps.config.environment);
  const base = { environment: deps.config.environment, store: store.where };
  if (!cur) return { ...base, state: "none" };
  return { ...base, state: leaseFree(cur.doc) ? "free" : "held", lease: cur.doc };
}

export async function leaseBreak(deps: Deps, opts: { yes?: boolean }): Promise<LeaseView> {
  if (!opts.yes) {
    throw new DrError("NOT_CONFIRMED", "breaking the lease lets another run act while its holder may still be acting", {
      hint: "check with `dr lease show` that the holder's machine is gone, then pass --yes",
    });
  }
  const store = await sharedStoreFor(deps.config);
  const broken = await breakLease(store, deps.config.environment);
  return { environment: deps.config.environment, store: store.where, state: broken ? "free" : "none", lease: broken };
}

export function renderLease(v: LeaseView): string {
  if (v.state === "none") return `no lease for ${v.environment} in ${v.store}: no run has taken it`;
  const d = v.lease!;
  if (d.released) return `${v.environment} lease is free (epoch ${d.epoch}): released by ${d.released.by} at ${d.released.at}; last holder ${describeHolder(d)}`;
  if (v.state === "free") return `${v.environment} lease is free (epoch ${d.epoch}): its holder ${describeHolder(d)} is gone or expired at ${d.expiresAt}`;
  return `${v.environment} lease is held by ${describeHolder(d)}; renewed ${d.renewedAt}, expires ${d.expiresAt} (store ${v.store})`;
}
