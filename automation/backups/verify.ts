// `dr backup verify`: pgBackRest's verify (every file's checksum and size against the
// manifests, every archived WAL segment's checksum) per repository, plus our own WAL
// continuity check (verify's text output does not report gaps), with one verdict per set.
import { DrError, type ErrorCode } from "../core/errors";
import type { Pgbackrest } from "../pgbackrest/client";
import { findGaps, segmentName, segmentNumber } from "./archive";
import { readCatalog } from "./catalog";

export interface SetVerdict {
  label: string;
  ok: boolean;
  status: string;
  filesChecked: number;
  filesValid: number;
  missing: number;
  checksumInvalid: number;
  sizeInvalid: number;
  other: number;
  /** The files that failed, relative to the set (pg_data/…), each with what was wrong. */
  invalidFiles: string[];
  detail: string;
}

export interface RepoVerdict {
  repo: 1 | 2;
  ok: boolean;
  error?: string;
  /** The error's code when the repository could not be verified at all (STORE_UNREACHABLE...). */
  errorCode?: ErrorCode;
  sets: SetVerdict[];
  archive?: { ok: boolean; checked: number; valid: number; gaps: string[]; detail: string };
}

export interface RepoVerifyReport {
  ok: boolean;
  repos: RepoVerdict[];
}

const COUNTS = /missing: (\d+), checksum invalid: (\d+), size invalid: (\d+), other: (\d+)/;
/** pgBackRest's info log line for each bad file: `invalid checksum '<set>/pg_data/base/1/1255.lz4'`. */
const INVALID_FILE = /INFO: (invalid checksum|invalid size|file missing|invalid result[^']*) '([^'/]+)\/([^']+)'/;
const NAMED = 5;

/**
 * Parses `pgbackrest verify --output=text --verbose`, with its info log lines when asked for
 * (nameFiles): they name each invalid file, and repeat the report, so a set counts once.
 */
export function parseVerifyText(text: string): { status: string; sets: SetVerdict[]; archive?: { id: string; checked: number; valid: number; problems: number } } {
  const lines = text.split("\n").map((l) => l.trim());
  const invalid = new Map<string, string[]>();
  for (const l of lines) {
    const m = INVALID_FILE.exec(l);
    if (m) invalid.set(m[2], [...(invalid.get(m[2]) ?? []), `${m[3]} (${m[1]})`]);
  }
  const status = /^status: (\w+)/.exec(lines.find((l) => l.startsWith("status:")) ?? "")?.[1] ?? "unknown";
  const sets: SetVerdict[] = [];
  let archive: { id: string; checked: number; valid: number; problems: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const counts = COUNTS.exec(lines[i + 1] ?? "");
    const [missing, checksumInvalid, sizeInvalid, other] = counts ? counts.slice(1).map(Number) : [0, 0, 0, 0];
    const b = /^backup: ([^,]+), status: ([^,]+), total files checked: (\d+), total valid files: (\d+)/.exec(lines[i]);
    if (b && !sets.some((s) => s.label === b[1])) {
      const files = invalid.get(b[1]) ?? [];
      const named = files.length ? `: ${files.slice(0, NAMED).join(", ")}${files.length > NAMED ? ` and ${files.length - NAMED} more` : ""}` : "";
      const ok = b[2] === "valid" && missing + checksumInvalid + sizeInvalid + other === 0;
      const problems = [missing && `${missing} missing`, checksumInvalid && `${checksumInvalid} with bad checksums`, sizeInvalid && `${sizeInvalid} with wrong sizes`, other && `${other} other errors`].filter(Boolean);
      sets.push({
        label: b[1],
        status: b[2],
        ok,
        filesChecked: Number(b[3]),
        filesValid: Number(b[4]),
        missing,
        checksumInvalid,
        sizeInvalid,
        other,
        invalidFiles: files,
        detail: ok ? `${b[3]} files, all valid` : `${b[2]}: ${problems.join(", ") || "see the pgBackRest log"}${named}`,
      });
    }
    const a = /^archiveId: ([^,]+), total WAL checked: (\d+), total valid WAL: (\d+)/.exec(lines[i]);
    if (a) archive = { id: a[1], checked: Number(a[2]), valid: Number(a[3]), problems: missing + checksumInvalid + sizeInvalid + other };
  }
  return { status, sets, archive };
}

export async function verifyRepositories(pgb: Pgbackrest, opts: { repos: (1 | 2)[]; set?: string; probe?: (repo: 1 | 2) => Promise<void> }): Promise<RepoVerifyReport> {
  const repos: RepoVerdict[] = [];
  for (const repo of opts.repos) {
    try {
      await opts.probe?.(repo);
      const cat = await readCatalog(pgb, repo);
      if (opts.set && !cat.sets.some((s) => s.label === opts.set)) {
        throw new DrError("BACKUP_UNKNOWN", `backup set ${opts.set} is not in repo${repo}`, { hint: "`dr backup list` shows the sets" });
      }
      const parsed = parseVerifyText((await pgb.verify({ repo, set: opts.set, nameFiles: true })).stdout);
      // Continuity from the oldest set's first WAL segment to the newest archived one.
      const oldest = cat.sets.find((s) => !s.error && s.walStart);
      const last = cat.segments[cat.segments.length - 1];
      const gaps = oldest?.walStart && last ? findGaps(cat.segments, segmentNumber(oldest.walStart).number, last.number) : [];
      const gapText = gaps.map((g) => `${segmentName(last!.timeline, g.missingFrom)}${g.missingTo > g.missingFrom ? `..${segmentName(last!.timeline, g.missingTo)}` : ""}`);
      const archiveOk = gaps.length === 0 && (parsed.archive ? parsed.archive.problems === 0 && parsed.archive.checked === parsed.archive.valid : cat.segments.length === 0);
      const archive = {
        ok: archiveOk,
        checked: parsed.archive?.checked ?? 0,
        valid: parsed.archive?.valid ?? 0,
        gaps: gapText,
        detail: parsed.archive
          ? `${parsed.archive.valid}/${parsed.archive.checked} segments valid${gaps.length ? `; missing ${gapText.join(", ")}` : ""}`
          : cat.segments.length
            ? `pgBackRest verify found no archive to check although ${cat.segments.length} segments are listed`
            : "no WAL archived",
      };
      repos.push({ repo, ok: parsed.status === "ok" && parsed.sets.every((s) => s.ok) && archiveOk, sets: parsed.sets, archive });
    } catch (e) {
      if (e instanceof DrError && e.code === "BACKUP_UNKNOWN") throw e;
      repos.push({ repo, ok: false, error: (e as Error).message.split("\n")[0], ...(e instanceof DrError ? { errorCode: e.code } : {}), sets: [] });
    }
  }
  return { ok: repos.every((r) => r.ok), repos };
}
