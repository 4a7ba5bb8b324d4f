// The WAL archive as pgBackRest stores it, read through `pgbackrest repo-ls` (so it works the
// same on a posix directory and on S3, encrypted or not): which segments exist, when the newest
// arrived, and whether a range is continuous. Pre-flight checks use this to prove that the WAL
// a restore needs is there before anything is touched.
import { z } from "zod";
import type { Pgbackrest } from "../pgbackrest/client";

/** 16 MiB segments: PostgreSQL's default, and what the lab and infra use. */
export const WAL_SEGMENT_BYTES = 16 * 1024 * 1024;
export const SEGMENTS_PER_XLOGID = 0x100000000 / WAL_SEGMENT_BYTES;

export interface ArchivedSegment {
  /** 24 hex characters: timeline, log, segment. */
  name: string;
  timeline: number;
  /** Position in the WAL stream (log * segments-per-log + seg). */
  number: number;
  size: number;
  archivedAt: Date;
}

const lsEntry = z.object({ type: z.string(), size: z.number().optional(), time: z.number().optional() }).loose();
const lsOutput = z.record(z.string(), lsEntry);

export function segmentNumber(name: string): { timeline: number; number: number } {
  const timeline = parseInt(name.slice(0, 8), 16);
  const log = parseInt(name.slice(8, 16), 16);
  const seg = parseInt(name.slice(16, 24), 16);
  return { timeline, number: log * SEGMENTS_PER_XLOGID + seg };
}

/** The segment an LSN ("16/B374D848") falls in, as a stream position. */
export function lsnSegment(lsn: string): number {
  const [hi, lo] = lsn.split("/").map((x) => parseInt(x, 16));
  return hi * SEGMENTS_PER_XLOGID + Math.floor(lo / WAL_SEGMENT_BYTES);
}

/** The LSN where a segment (as a stream position, see lsnSegment) begins. */
export function segmentStartLsn(segment: number): string {
  const hi = Math.floor(segment / SEGMENTS_PER_XLOGID);
  const lo = (segment % SEGMENTS_PER_XLOGID) * WAL_SEGMENT_BYTES;
  return `${hi.toString(16).toUpperCase()}/${lo.toString(16).toUpperCase()}`;
}

/** An LSN as a byte position in the WAL stream, for ordering two of them. */
export function lsnBytes(lsn: string): bigint {
  const [hi, lo] = lsn.split("/");
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
}

/** Every archived WAL segment of an archive id (e.g. "15-1") in one repository, in order. */
export async function listArchivedSegments(pgb: Pgbackrest, repo: 1 | 2, archiveId: string): Promise<ArchivedSegment[]> {
  const result = await pgb.exec([`--repo=${repo}`, "--recurse", "--output=json", "repo-ls", `archive/${pgb.opts.stanza}/${archiveId}`]);
  const entries = lsOutput.parse(JSON.parse(result.stdout || "{}"));
  const segments: ArchivedSegment[] = [];
  for (const [path, e] of Object.entries(entries)) {
    if (e.type !== "file") continue;
    const file = path.split("/").pop() ?? "";
    // "000000010000000000000003-<sha1>.lz4"; .partial and .backup/.history files are not segments.
    const m = /^([0-9A-F]{24})-[0-9a-f]{40}(\.\w+)?$/.exec(file);
    if (!m) continue;
    const { timeline, number } = segmentNumber(m[1]);
    segments.push({ name: m[1], timeline, number, size: e.size ?? 0, archivedAt: new Date((e.time ?? 0) * 1000) });
  }
  return segments.sort((a, b) => a.number - b.number || a.timeline - b.timeline);
}

export interface WalGap {
  after: string;
  missingFrom: number;
  missingTo: number;
}

/**
 * Gaps in the archived stream between two positions. A segment number counts as present when
 * any timeline has it (a timeline switch continues the stream on the next timeline).
 */
export function findGaps(segments: ArchivedSegment[], from: number, to: number): WalGap[] {
  const present = new Set(segments.map((s) => s.number));
  const gaps: WalGap[] = [];
  let last = segments.find((s) => s.number === from)?.name ?? "(start)";
  for (let n = from; n <= to; n++) {
    if (present.has(n)) {
      last = segments.find((s) => s.number === n)!.name;
      continue;
    }
    const start = n;
    while (n <= to && !present.has(n)) n++;
    gaps.push({ after: last, missingFrom: start, missingTo: n - 1 });
    n--;
  }
  return gaps;
}

/** A segment's file name for a stream position on a timeline. */
export function segmentName(timeline: number, number: number): string {
  const hex = (v: number) => v.toString(16).toUpperCase().padStart(8, "0");
  return hex(timeline) + hex(Math.floor(number / SEGMENTS_PER_XLOGID)) + hex(number % SEGMENTS_PER_XLOGID);
}
