// Planning a restore: everything that can be known before a single file is touched. The
// plan names the backup set, the WAL it needs, the target, the destination and what would be
// overwritten, with an estimate of size and time. Every check that can fail does so here,
// so that `--dry-run` is honest and a real run never stops half way for a knowable reason.
import { DrError } from "../core/errors";
import { formatBytes } from "../core/output";
import type { Pgbackrest } from "../pgbackrest/client";
import type { BackupSet } from "../pgbackrest/info";
import { checkRestorePointName, formatTargetTime, type RestoreTarget } from "../pgbackrest/options";
import type { ClusterState } from "../postgres/cluster";
import { lsnBytes, lsnSegment, segmentName, segmentNumber } from "../backups/archive";
import { readCatalog, walGapsFor, type RepoCatalog } from "../backups/catalog";
import { findRestorePoint, type FoundRestorePoint } from "../backups/restore-points";
import { lastArchivedCommit, type ArchivedCommit } from "../backups/archived-commits";
import type { ArchivedSegment } from "../backups/archive";
import { chooseRecoveryPoint, endOfArchiveTarget, type RecoveryPoint } from "./recovery-point";
import { bytesNeeded } from "./disk-space";
import { restoreEstimate, restoreRate, type RestoreRate } from "./rate";

/** Where a restore goes: a named site or a scratch cluster. */
export interface RestoreDestination {
  name: string;
  kind: "site" | "scratch";
  dataDir: string;
  address: string;
  port: number;
  state: ClusterState;
  /** True when the service name answers with this site: it holds live data. */
  serving: boolean;
  /** Top-level entries in a non-empty data directory (for "what would be overwritten"). */
  existing?: string[];
  /** Room on the destination's filesystem: free, plus what the files being overwritten use. Unknown: not checked. */
  space?: { freeBytes: number; reusableBytes: number };
}

export interface RestoreRequest {
  set?: string;
  target: RestoreTarget;
  repo: 1 | 2;
  databases?: string[];
  /** Allowed to stop the destination and rewrite a non-empty data directory (delta). */
  overwrite?: boolean;
  /** Open for writes (promote) once recovery reached the target. */
  open?: boolean;
  /** A named target whose WAL is still on its way to the archive (a drill's restore point). */
  arriving?: ArrivingWal;
}

/**
 * A named target's WAL still on its way to the archive (a drill's restore point, taken a moment
 * ago): where the point is, read where it was taken, and the wait for its WAL. The plan places
 * the point from here instead of reading it from the archive; the restore lays the files down
 * meanwhile and awaits `archived` before it starts the copy, whose failure fails the restore.
 */
export interface ArrivingWal {
  lsn: string;
  archived: Promise<void>;
}

export interface PlanCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** Passed, with a risk the plan cannot rule out (said in detail). */
  warning?: boolean;
}

export interface RestorePlan {
  repo: 1 | 2;
  set: BackupSet;
  /** The set and the sets it depends on (diff/incr reference earlier ones), oldest first. */
  chain: string[];
  target: { kind: RestoreTarget["kind"]; value?: string; description: string };
  /** The target pgBackRest is given: as requested, but for a time no archived commit lies beyond (recoveryPoint). */
  targetSpec: RestoreTarget;
  /** For a time target: stop at it, or at the end of the archived WAL when no commit after it is archived, and why. */
  recoveryPoint?: RecoveryPoint;
  wal: { from: string; to: string; segments: number };
  destination: RestoreDestination & { willStop: boolean; willOverwrite: boolean };
  databases?: string[];
  open: boolean;
  /** bytes: the set; diskBytes: what the destination needs for it and the WAL it replays. */
  estimate: { bytes: number; diskBytes: number; seconds: number; basis: string };
  checks: PlanCheck[];
  /** Stream position the replay must reach for a "latest" restore. */
  endSegment: number;
  /** The target's WAL on its way to the archive: awaited before the copy starts. */
  arriving?: ArrivingWal;
}

export interface PlanInputs {
  pgb: Pgbackrest;
  destination: RestoreDestination;
  request: RestoreRequest;
  now?: Date;
  /** How fast restores copy files here (restoreRate over the journal); default: the conservative rate. */
  rate?: RestoreRate;
  /** The caller can pick the repository (`dr restore --repo`); a failover cannot. */
  repoChoosable?: boolean;
  /** Reads the newest commit in these archived segments (an engine's lastArchivedCommit); default: through `pgb`. */
  archivedCommit?: (segments: ArchivedSegment[]) => Promise<ArchivedCommit>;
}

export async function planRestore(inputs: PlanInputs): Promise<RestorePlan> {
  const { pgb, destination: dest, request } = inputs;
  const now = inputs.now ?? new Date();
  const checks: PlanCheck[] = [];
  if (request.target.kind === "name") checkRestorePointName(request.target.name);

  // 1. Never restore over live data; never over a running or non-empty cluster unless told.
  if (dest.serving && dest.state === "running") {
    throw new DrError("CLUSTER_RUNNING", `site ${dest.name} is running and serves the service name: it holds live data`, {
      hint: "restore to another site or a scratch cluster (--scratch); a failover fences this site first (`dr failover`)",
    });
  }
  if (dest.state === "running" && !request.overwrite) {
    throw new DrError("CLUSTER_RUNNING", `site ${dest.name} is running; refusing to restore over it`, {
      hint: `pass --overwrite to stop it and restore over it (delta), or restore to --scratch`,
    });
  }
  if (dest.state === "stopped" && !request.overwrite) {
    throw new DrError("CLUSTER_NOT_EMPTY", `the data directory of ${dest.name} (${dest.dataDir}) is not empty`, {
      hint: "pass --overwrite to restore over it with --delta (only changed files are rewritten), or restore to --scratch",
      details: { existing: dest.existing?.slice(0, 20) },
    });
  }
  checks.push({ name: "destination", ok: true, detail: `${dest.name} is ${dest.state}${dest.state === "absent" || dest.state === "empty" ? "" : " (will be overwritten)"}` });

  // 2. The repository answers and holds the stanza.
  const cat: RepoCatalog = await readCatalog(pgb, request.repo);
  checks.push({ name: "repository", ok: true, detail: `repo${request.repo}: ${cat.sets.length} backup sets, ${cat.segments.length} WAL segments` });
  const usable = cat.sets.filter((s) => !s.error);
  if (usable.length === 0) {
    throw new DrError("BACKUP_NONE", `repo${request.repo} holds no usable backup`, { hint: "take one with `dr backup full`" });
  }

  // 3. A named target must be in the archived WAL: find it (its position picks the set). One
  //    whose WAL is still on its way is placed where it was taken (its WAL is awaited later).
  const arriving = request.target.kind === "name" ? request.arriving : undefined;
  const timeline = cat.segments[cat.segments.length - 1]?.timeline ?? 1;
  const located =
    request.target.kind !== "name"
      ? undefined
      : arriving
        ? { name: request.target.name, lsn: arriving.lsn, segment: segmentName(timeline, lsnSegment(arriving.lsn)) }
        : await locateRestorePoint(pgb, request.repo, cat, usable, request.target.name);
  const point = located && "lsn" in located ? located : undefined;
  // The backup set: the one asked for, or the newest that can reach the target.
  const set = chooseSet(usable, request, cat, now, point?.lsn);
  checks.push({ name: "backup set", ok: true, detail: `${set.label} (${set.type}, finished ${set.stoppedAt.toISOString()})` });
  if (point && set.lsnStop && lsnBytes(set.lsnStop) > lsnBytes(point.lsn)) {
    throw new DrError("TARGET_BEFORE_WINDOW", `restore point ${JSON.stringify(point.name)} (LSN ${point.lsn}) is before the end of backup ${set.label} (LSN ${set.lsnStop})`, {
      hint: "recovery could never reach it from that set: leave --set out (the plan picks the newest set before the point) or choose an older set",
    });
  }

  // 4. The target lies inside the restorable window.
  let target = describeTarget(request.target);
  let targetSpec = request.target;
  let recoveryPoint: RecoveryPoint | undefined;
  if (request.target.kind === "time") {
    const t = request.target.time;
    if (t.getTime() > now.getTime()) {
      throw new DrError("TARGET_IN_FUTURE", `target time ${t.toISOString()} is in the future`, { hint: "give a time in the past; `dr backup list` shows the restorable window" });
    }
    if (t < set.stoppedAt) {
      throw new DrError("TARGET_BEFORE_WINDOW", `target time ${t.toISOString()} is before the end of backup ${set.label} (${set.stoppedAt.toISOString()}), the oldest point it can reach`, {
        hint: `the restorable window of repo${request.repo} starts at ${cat.window?.oldest.toISOString()}; choose a later time or an older set`,
      });
    }
    if (cat.newestWalAt && t > cat.newestWalAt && t > set.stoppedAt) {
      throw new DrError("TARGET_IN_FUTURE", `target time ${t.toISOString()} is after the newest archived WAL (${cat.newestWalAt.toISOString()})`, {
        hint: "WAL after that point has not reached this repository; choose an earlier time or wait for archiving (`dr health`)",
      });
    }
    // Reached only at a commit after it: without one archived, stop at the end of the archive.
    const stop = await recoveryStop(inputs, cat, set, t);
    recoveryPoint = stop.point;
    if (stop.end) {
      targetSpec = stop.end.target;
      target = { ...describeTarget(stop.end.target), description: `${stop.end.description}, the same state as time ${t.toISOString()}` };
    }
  }
  if (request.target.kind === "lsn") {
    const last = cat.segments[cat.segments.length - 1];
    if (!last || lsnSegment(request.target.lsn) > last.number) {
      throw new DrError("TARGET_IN_FUTURE", `target LSN ${request.target.lsn} is beyond the newest archived WAL (${last?.name ?? "none"}) in repo${request.repo}`, {
        hint: "WAL after that point has not reached this repository; choose an earlier LSN or wait for archiving (`dr backup list` shows the newest segment)",
      });
    }
  }
  const where = arriving && point ? ` at LSN ${point.lsn} (segment ${point.segment}, on its way to the archive: awaited before the copy starts)` : point ? ` at LSN ${point.lsn} (segment ${point.segment})` : located && "unverified" in located ? ` (not looked up: ${located.unverified})` : "";
  checks.push({ name: "target", ok: true, detail: target.description + where });
  if (recoveryPoint) checks.push({ name: "recovery point", ok: true, detail: recoveryPoint.why, ...(recoveryPoint.kind === "time" && !recoveryPoint.lastArchivedCommitAt ? { warning: true } : {}) });

  // 5. The WAL from the set to the target is all there, without a gap.
  const endSegment = (point ? lsnSegment(point.lsn) : endSegmentFor(targetSpec, cat)) ?? segmentNumber(set.walStop ?? set.walStart ?? "000000010000000000000000").number;
  const gaps = walGapsFor(cat, set, endSegment);
  if (gaps.length > 0) {
    const g = gaps[0];
    const tl = cat.segments[cat.segments.length - 1].timeline;
    throw new DrError("WAL_GAP", `WAL gap in repo${request.repo}: segment${g.missingTo > g.missingFrom ? "s" : ""} ${segmentName(tl, g.missingFrom)}${g.missingTo > g.missingFrom ? `..${segmentName(tl, g.missingTo)}` : ""} missing after ${g.after}`, {
      hint: `the restore cannot replay past the gap: choose a target before it, ${inputs.repoChoosable ? `restore from the other repository (--repo ${request.repo === 1 ? 2 : 1}), ` : ""}or take a new full backup (\`dr backup full\`)`,
      details: { gaps },
    });
  }
  const walFrom = set.walStart ?? "";
  const walTo = request.target.kind === "latest" ? cat.walMax ?? "" : segmentName(timeline, endSegment);
  // The archiver ships segments in order: once the arriving one is archived, so is all before it.
  const archivedTo = cat.segments[cat.segments.length - 1];
  const onItsWay = arriving && (!archivedTo || archivedTo.number < endSegment) ? `, archived to ${archivedTo?.name ?? "none"} so far (the rest is awaited before the copy starts)` : "";
  checks.push({ name: "wal", ok: true, detail: `continuous from ${walFrom} to ${walTo}${onItsWay}` });

  // 6. Only databases the set holds (pgBackRest would find out after the destination was prepared).
  if (request.databases?.length) await checkDatabases(pgb, request.repo, set, request.databases);

  // 7. Room for the set and the WAL it replays on the destination's filesystem.
  const bytes = set.size;
  const walSegments = set.walStart ? Math.max(1, endSegment - segmentNumber(set.walStart).number + 1) : 0;
  const diskBytes = bytesNeeded(bytes, walSegments);
  if (dest.space) {
    const room = dest.space.freeBytes + dest.space.reusableBytes;
    if (room < diskBytes) {
      throw new DrError("SPACE_INSUFFICIENT", `${dest.name} has room for ${formatBytes(room)} at ${dest.dataDir}; the restore needs ${formatBytes(diskBytes)} (set ${formatBytes(bytes)} plus ${walSegments} WAL segments to replay)`, {
        hint: "free space on that filesystem, restore to another site, or choose a later set (less WAL to replay)",
        details: { freeBytes: dest.space.freeBytes, reusableBytes: dest.space.reusableBytes, neededBytes: diskBytes },
      });
    }
    checks.push({ name: "disk space", ok: true, detail: `needs ${formatBytes(diskBytes)}, has ${formatBytes(room)}` });
  } else checks.push({ name: "disk space", ok: true, detail: `needs ${formatBytes(diskBytes)}; the destination's free space is not visible from here` });

  const { seconds, basis } = restoreEstimate(bytes, inputs.rate ?? restoreRate([]));
  return {
    repo: request.repo,
    set,
    chain: chainOf(set, cat.sets),
    target,
    targetSpec,
    recoveryPoint,
    wal: { from: walFrom, to: walTo, segments: walSegments },
    destination: { ...dest, willStop: dest.state === "running", willOverwrite: dest.state === "running" || dest.state === "stopped" },
    databases: request.databases,
    open: request.open === true,
    estimate: {
      bytes,
      diskBytes,
      seconds,
      basis,
    },
    checks,
    endSegment,
    ...(arriving ? { arriving } : {}),
  };
}

function chooseSet(sets: BackupSet[], request: RestoreRequest, cat: RepoCatalog, now: Date, pointLsn?: string): BackupSet {
  if (request.set) {
    const s = cat.sets.find((x) => x.label === request.set);
    if (!s) {
      throw new DrError("BACKUP_UNKNOWN", `backup set ${request.set} is not in repo${request.repo}`, {
        hint: `\`dr backup list\` shows the sets; newest here is ${sets[sets.length - 1].label}`,
      });
    }
    if (s.error) throw new DrError("BACKUP_INVALID", `backup set ${s.label} is marked as having errors`, { hint: "choose another set (`dr backup list`)" });
    return s;
  }
  const t = pointLsn ? { kind: "lsn" as const, lsn: pointLsn } : request.target;
  if (t.kind === "time") {
    const before = sets.filter((s) => s.stoppedAt <= t.time);
    if (before.length === 0) {
      if (t.time.getTime() > now.getTime()) return sets[sets.length - 1];
      throw new DrError("TARGET_BEFORE_WINDOW", `target time ${t.time.toISOString()} is before the oldest backup in repo${request.repo} (finished ${sets[0].stoppedAt.toISOString()})`, {
        hint: `the restorable window starts at ${sets[0].stoppedAt.toISOString()}`,
      });
    }
    return before[before.length - 1];
  }
  if (t.kind === "lsn") {
    const target = lsnSegment(t.lsn);
    const before = sets.filter((s) => s.lsnStop && lsnSegment(s.lsnStop) <= target);
    if (before.length === 0) throw new DrError("TARGET_BEFORE_WINDOW", `target ${pointLsn ? `restore point at LSN ${t.lsn}` : `LSN ${t.lsn}`} is before the end of the oldest backup`, { hint: "choose a later target" });
    return before[before.length - 1];
  }
  return sets[sets.length - 1];
}

function endSegmentFor(target: RestoreTarget, cat: RepoCatalog): number | undefined {
  const last = cat.segments.length ? cat.segments[cat.segments.length - 1].number : undefined;
  if (target.kind === "lsn") return lsnSegment(target.lsn);
  // The end of the backup: its own WAL (the caller's fallback).
  if (target.kind === "immediate") return undefined;
  if (target.kind === "time") {
    // The first segment archived at or after the target holds WAL up to it.
    const after = cat.segments.find((s) => s.archivedAt >= target.time);
    return after?.number ?? last;
  }
  return last;
}

/**
 * Where a time-targeted restore from `set` stops (recovery-point.ts): the archived WAL the set
 * replays is read newest segment first until a commit turns up. A commit after the target:
 * the target stands. None after it: `end` is the stop the plan carries out instead. The scan
 * could not tell (or the archive could not be read from here): the target stands, with a warning.
 */
async function recoveryStop(inputs: PlanInputs, cat: RepoCatalog, set: BackupSet, time: Date): Promise<{ point: RecoveryPoint; end?: ReturnType<typeof endOfArchiveTarget> }> {
  const from = set.walStart ? segmentNumber(set.walStart).number : 0;
  const replayed = cat.segments.filter((s) => s.number >= from);
  const read = inputs.archivedCommit ?? ((segments: ArchivedSegment[]) => lastArchivedCommit(inputs.pgb, inputs.request.repo, segments));
  let archived: ArchivedCommit;
  try {
    archived = await read(replayed);
  } catch (e) {
    if (!(e instanceof DrError)) throw e;
    return { point: { kind: "time", why: `the archived WAL could not be read (${e.message.split("\n")[0]}): replay to ${time.toISOString()}, which fails if the archive holds no commit after it` } };
  }
  const point = chooseRecoveryPoint(time.toISOString(), archived);
  return point.kind === "end-of-archive" ? { point, end: endOfArchiveTarget(archived, set) } : { point };
}

function chainOf(set: BackupSet, all: BackupSet[]): string[] {
  const chain = [set.label];
  let prior = set.prior;
  while (prior) {
    chain.unshift(prior);
    prior = all.find((s) => s.label === prior)?.prior;
  }
  return chain;
}

function describeTarget(t: RestoreTarget): RestorePlan["target"] {
  switch (t.kind) {
    case "latest":
      return { kind: "latest", description: "the end of the archived WAL (latest)" };
    case "immediate":
      return { kind: "immediate", description: "the end of the backup (consistent point)" };
    case "time":
      return { kind: "time", value: formatTargetTime(t.time), description: `time ${t.time.toISOString()}` };
    case "lsn":
      return { kind: "lsn", value: t.lsn, description: `LSN ${t.lsn}` };
    case "name":
      return { kind: "name", value: t.name, description: `restore point "${t.name}"` };
  }
}

/**
 * Finds a restore point in the WAL the usable sets can replay (from the oldest one's start).
 * Reading the archive needs a pgBackRest configuration whose pg1-path holds a cluster (archive-get
 * checks its system id); where there is none (an operator's machine on AWS), the name is not
 * looked up and the plan says so.
 */
async function locateRestorePoint(pgb: Pgbackrest, repo: 1 | 2, cat: RepoCatalog, usable: BackupSet[], name: string): Promise<FoundRestorePoint | { unverified: string }> {
  const from = usable[0].walStart ? segmentNumber(usable[0].walStart).number : 0;
  let found: FoundRestorePoint | undefined;
  try {
    found = await findRestorePoint(pgb, repo, cat.segments.filter((s) => s.number >= from), name);
  } catch (e) {
    if (!(e instanceof DrError)) throw e;
    return { unverified: e.message.split("\n")[0] };
  }
  if (!found) {
    throw new DrError("TARGET_UNKNOWN", `no restore point named ${JSON.stringify(name)} in the WAL archived in repo${repo} since ${usable[0].label}`, {
      hint: "check the name (pg_create_restore_point() on the primary); its WAL must be archived (`dr backup list` shows the newest segment)",
    });
  }
  return found;
}

/** System databases always come back; others must be in the set (pgBackRest's own list of it). */
async function checkDatabases(pgb: Pgbackrest, repo: 1 | 2, set: BackupSet, wanted: string[]): Promise<void> {
  const info = await pgb.info({ repo, set: set.label });
  const entry = info.backup.find((b) => b.label === set.label) as { "database-ref"?: { name: string }[] } | undefined;
  const held = (entry?.["database-ref"] ?? []).map((d) => d.name);
  for (const db of wanted) {
    if (["postgres", "template0", "template1"].includes(db)) {
      throw new DrError("TARGET_INVALID", `--database ${db}: system databases are always restored`, { hint: `name an application database: ${held.filter((d) => d !== "postgres").join(", ") || "(none in this set)"}` });
    }
    if (!held.includes(db)) {
      throw new DrError("TARGET_UNKNOWN", `backup set ${set.label} holds no database named ${JSON.stringify(db)}`, { hint: `databases in that set: ${held.join(", ") || "(none listed)"}` });
    }
  }
}
