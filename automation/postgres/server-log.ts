// Reading the PostgreSQL server log (stderr format, log_line_prefix starting with %m or %t)
// for failed logins. Only the tail of the file is read, so a large log costs little; only
// user names are taken from the lines (a failed login never logs the password tried).
import { closeSync, openSync, readSync, statSync } from "node:fs";

export interface FailedLogins {
  /** Failed authentication attempts at or after `since`. */
  count: number;
  /** The same, per user name tried. */
  byUser: Record<string, number>;
  /** Matching lines whose time could not be read (not counted). */
  undated: number;
  /** Bytes of the log's tail that were read. */
  bytesRead: number;
}

const FAILED = /authentication failed for user "((?:[^"]|"")*)"/;
const STAMP = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(\.\d+)? ([A-Za-z]{1,6}|[+-]\d{2}(?::?\d{2})?)\b/;

/** The time at the start of a log line written with %m or %t, or undefined. */
export function logLineTime(line: string): Date | undefined {
  const m = STAMP.exec(line);
  if (!m) return undefined;
  const [, day, time, frac = "", zone] = m;
  let offset: string;
  if (/^(UTC|GMT|UCT|Z)$/i.test(zone)) offset = "Z";
  else if (/^[+-]/.test(zone)) offset = zone.length === 3 ? `${zone}:00` : zone.includes(":") ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  else offset = ""; // a zone abbreviation: read as this machine's local time (best effort)
  const d = new Date(`${day}T${time}${frac.slice(0, 4)}${offset}`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Counts "authentication failed" lines at or after `since` in the last `maxBytes` of the log. */
export function countFailedLogins(path: string, since: Date, maxBytes = 16 * 1024 * 1024): FailedLogins {
  const size = statSync(path).size;
  const start = Math.max(0, size - maxBytes);
  const buf = Buffer.alloc(size - start);
  const fd = openSync(path, "r");
  try {
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, start + off);
      if (n === 0) break;
      off += n;
    }
  } finally {
    closeSync(fd);
  }
  let lines = buf.toString("utf8").split("\n");
  if (start > 0) lines = lines.slice(1); // the first line is probably cut
  const out: FailedLogins = { count: 0, byUser: {}, undated: 0, bytesRead: buf.length };
  for (const line of lines) {
    const m = FAILED.exec(line);
    if (!m) continue;
    const at = logLineTime(line);
    if (!at) {
      out.undated++;
      continue;
    }
    if (at < since) continue;
    const user = m[1].replace(/""/g, '"');
    out.count++;
    out.byUser[user] = (out.byUser[user] ?? 0) + 1;
  }
  return out;
}
