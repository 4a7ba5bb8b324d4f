// The requests the automation writes into a stack's config, and the conversion both ways:
//   fp-dr:restore  restore the host's cluster (a new requestId re-runs the restore command)
//   fp-dr:fence    keep a host from taking writes (failover, incident)
//   fp-dr:drill    what makes a stack a drill site (id, expiry, size)
//   fp-dr:promote  promote the site's standby (a new requestId runs pg_promote on the host once)
// The engine turns a restore target into a request (requestForTarget) and writes it as `--path`
// entries (requestEntries); Pulumi keeps those typed and nested (storedForm); the program reads
// the stored value through the schema (readRequest); the host's restore command turns the
// request back into the target (targetOfRequest). A round-trip test holds the four together.
import { z } from "zod";
import { duration } from "../../automation/config/common";
import type { RestoreTarget } from "../../automation/pgbackrest/options";

/** pgBackRest backup set label, e.g. 20250830-010000F or 20250830-010000F_20250830-063000I. */
const backupSetLabel = z.string().regex(/^\d{8}-\d{6}F(_\d{8}-\d{6}[DI])?$/, "a pgBackRest backup label such as 20250830-010000F");
/** Request ids: the trigger of the restore command, a tag of a fenced host. */
export const requestId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,79}$/, "letters, digits, '.', '_', ':' and '-'");

/** What the host does once recovery reaches the request's target. */
export const restoreModes = ["promote", "pause", "standby"] as const;

export const restoreRequest = z
  .object({
    /** Changing the id re-runs the restore (it is the command's trigger). */
    requestId,
    /** Backup set to restore; default the newest (for targetTime: the newest before it). */
    set: backupSetLabel.optional(),
    /**
     * Recovery targets, at most one (none: the end of the backup set, pgBackRest --type=immediate):
     * a point in time (ISO 8601 with offset; pgBackRest --type=time, handed over in its own
     * "YYYY-MM-DD HH:MM:SS.ffffff+00" form), an LSN (--type=lsn, e.g. 0/9000060) or a restore
     * point created with pg_create_restore_point (--type=name; drills restore to one).
     */
    targetTime: z.iso.datetime({ offset: true }).optional(),
    targetLsn: z.string().regex(/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/, "a PostgreSQL LSN such as 0/9000060").optional(),
    targetName: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,62}$/, "a restore point name: letters, digits, '.', '_', ':' and '-', at most 63 characters").optional(),
    /**
     * At the target: "promote" opens the cluster for writes by itself (--target-action=promote);
     * "pause" keeps it read-only, paused at the target, until the automation has verified it
     * and opens it (pg_promote) (--target-action=pause); "standby" takes no target: it replays
     * every archived WAL segment from the repository and keeps waiting for more, read-only
     * (--type=standby; the secondary's warm standby, and a failover to the latest data).
     * Default promote.
     */
    mode: z.enum(restoreModes).default("promote"),
    /** Repository to restore from (1 = this region's). */
    repo: z.union([z.literal(1), z.literal(2)]).default(1),
    /** How long the restore may take before Pulumi gives up. Default 4h (the corruption RTO). */
    timeout: duration.default(4 * 3600),
    /** Restore over a running primary. Default false: the automation fences first. */
    allowOverwrite: z.boolean().default(false),
    /**
     * mode standby only: stream from this primary too (its private address, over the path
     * between the site VPCs), as replication.role through replication.slot (primary_conninfo
     * and primary_slot_name in the restored cluster's recovery settings). Absent: the standby
     * replays from the archive alone. Reprotect writes it pointing at the new primary.
     */
    primaryHost: z.ipv4().optional(),
    /** The physical slot on primaryHost (default the replication block's slot for this site). */
    primarySlot: z.string().regex(/^[a-z0-9_]{1,63}$/, "a replication slot name: lowercase letters, digits and '_'").optional(),
  })
  .strict();

/**
 * Promotion of the site's standby (failover by promotion, switchover): the host's promote
 * command runs once per requestId (pg_promote, waiting until the server takes writes).
 */
export const promoteRequest = z
  .object({
    /** Changing the id runs the promotion again (a no-op on a server already out of recovery). */
    requestId,
    /** How long pg_promote may take on the host. Default 60 s. */
    waitSeconds: z.number().int().min(1).max(3600).default(60),
  })
  .strict();

/** How a fenced host is kept from taking writes (see `fence`). */
export const fenceModes = ["isolate", "stop"] as const;

/**
 * Fencing: set by the automation on a site it fails away from (and by `dr incident` on a
 * compromised one). "isolate": the host's only security group becomes the isolation group (no
 * ingress, no egress: nothing reaches PostgreSQL, the host reaches nothing, not even SSM).
 * "stop": isolated as well, and the instance is stopped (aws.ec2transitgateway.InstanceState).
 * Nothing is deleted or replaced: the data volume, its snapshots and the repository stay as
 * evidence. Removing the key restores the normal security groups; a stopped host stays stopped
 * until someone starts it (a human decision after a failover or an incident).
 */
export const fence = z
  .object({
    /** Default isolate. */
    mode: z.enum(fenceModes).default("isolate"),
    /** Who fenced the site (a failover run's or an incident's request id); tagged on the instance. */
    requestId,
  })
  .strict();

/**
 * Hardware failure (runbook §3): a replacement host for the primary site, in its region, on a
 * new data volume in the site's other availability zone; the old host stays (fenced) as it
 * was. Declared in two updates, as a new site is: first the host alone (`reachable` false),
 * then — once the automation reaches it — the site's host-bound resources (readiness, restore,
 * database objects, the host-apply association) and outputs move to it.
 */
export const replacement = z
  .object({
    /** The replacement's id (the failover's target site is replacement-<id>). */
    id: z.string().regex(/^[a-z0-9]{1,20}$/, "lowercase letters and digits"),
    /** The automation reaches the new host: the site's host-bound resources move to it. Default false. */
    reachable: z.boolean().default(false),
    /**
     * The fence request in force on the old host when the replacement was declared: it stays
     * on the old host only. A later fence (another request) fences the replacement as well.
     */
    oldHostFence: requestId.optional(),
  })
  .strict();

export const drill = z
  .object({
    /** Drill id, also the stack name suffix (drill-<id>). */
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,24}$/, "lowercase letters, digits and dashes"),
    /** When the drill's resources may be destroyed by the sweeper (tag fp-dr:expires-at). */
    expiresAt: z.iso.datetime({ offset: true }),
    /**
     * Default: the site's production instance type (host.instanceType), so the drill's restore
     * and verification times are the ones a failover would see; set a smaller one to save cost,
     * knowing its RTO then says less.
     */
    instanceType: z.string().regex(/^[a-z0-9]+\.[a-z0-9]+$/, "an EC2 instance type such as t3.large").optional(),
  })
  .strict();

export type RestoreRequest = z.output<typeof restoreRequest>;
export type FenceRequest = z.output<typeof fence>;
export type DrillRequest = z.output<typeof drill>;
export type PromoteRequest = z.output<typeof promoteRequest>;
export type ReplacementRequest = z.output<typeof replacement>;

const schemas = { restore: restoreRequest, fence, drill, promote: promoteRequest, replacement } as const;
type Kind = keyof typeof schemas;
type RequestOf<K extends Kind> = z.output<(typeof schemas)[K]>;

/** The target fields of a restore request. */
export type RequestTarget = Pick<RestoreRequest, "mode" | "targetTime" | "targetLsn" | "targetName">;

/**
 * How a restore target maps onto a request (the host runs it with restoreArguments).
 * Nothing opens for writes by itself: the automation does that, after verification.
 * - latest: "standby" (pgBackRest --type=standby): the host replays every archived WAL segment
 *   and stays read-only.
 * - time, lsn, name: "pause" with the target (--type=time|lsn|name --target-action=pause): the
 *   host recovers to the target and stays there, read-only and paused.
 * - immediate: "pause" without a target (--type=immediate): the end of the backup set.
 */
export function requestForTarget(target: RestoreTarget): RequestTarget {
  switch (target.kind) {
    case "latest":
      return { mode: "standby" };
    case "time":
      return { mode: "pause", targetTime: target.time.toISOString() };
    case "lsn":
      return { mode: "pause", targetLsn: target.lsn };
    case "name":
      return { mode: "pause", targetName: target.name };
    case "immediate":
      return { mode: "pause" };
  }
}

/** The request's recovery target: a standby replays everything; else time, LSN, name, or the set alone. */
export function targetOfRequest(r: RequestTarget): RestoreTarget {
  if (r.mode === "standby") return { kind: "latest" };
  if (r.targetTime) return { kind: "time", time: pointInTime(r.targetTime) };
  if (r.targetLsn) return { kind: "lsn", lsn: r.targetLsn };
  if (r.targetName) return { kind: "name", name: r.targetName };
  // A backup set alone: the database as that backup left it.
  return { kind: "immediate" };
}

export function pointInTime(iso: string): Date {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) throw new Error(`not a point in time: ${iso}`);
  return d;
}

/** `--path` config entries ("fp-dr:restore.repo" → "2"): every value as text, as the CLI takes it. */
export type PathEntries = Record<string, { value: string }>;

/** The order entries are written in (the CLI invocation the contract test pins). */
const fieldOrder: { [K in Kind]: (keyof z.input<(typeof schemas)[K]>)[] } = {
  restore: ["requestId", "mode", "repo", "allowOverwrite", "set", "targetTime", "targetLsn", "targetName", "primaryHost", "primarySlot", "timeout"],
  fence: ["mode", "requestId"],
  drill: ["id", "expiresAt", "instanceType"],
  promote: ["requestId", "waitSeconds"],
  replacement: ["id", "reachable", "oldHostFence"],
};

/**
 * A request as `--path` entries under fp-dr:<kind>. Durations are written as seconds ("14400s"),
 * everything else as text. The caller removes the old key first so no field survives.
 */
export function requestEntries<K extends Kind>(kind: K, r: z.input<(typeof schemas)[K]>): PathEntries {
  const e: PathEntries = {};
  for (const field of fieldOrder[kind] as string[]) {
    const v = (r as Record<string, unknown>)[field];
    if (v === undefined) continue;
    e[`fp-dr:${kind}.${field}`] = { value: field === "timeout" && typeof v === "number" ? `${Math.ceil(v)}s` : String(v) };
  }
  return e;
}

/** What Pulumi keeps for `--path` entries: nested objects, "true"/"false" as booleans, integers as numbers. */
export function storedForm(entries: PathEntries): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [path, { value }] of Object.entries(entries)) {
    const parts = path.slice(path.indexOf(":") + 1).split(".");
    let at = out;
    for (const p of parts.slice(0, -1)) at = (at[p] ??= {}) as Record<string, unknown>;
    at[parts[parts.length - 1]] = value === "true" || value === "false" ? value === "true" : /^[+-]?\d+$/.test(value) ? Number(value) : value;
  }
  return out;
}

/** A stored request (the value of fp-dr:<kind>) read back through its schema. */
export function readRequest<K extends Kind>(kind: K, stored: unknown): RequestOf<K> {
  return schemas[kind].parse(stored) as RequestOf<K>;
}
