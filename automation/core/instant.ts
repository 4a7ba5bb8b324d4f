// The one way an operator's time reaches a recovery: "--target-time", "--before", "--since",
// "--incident-time", "--outage-at". A time without a zone is refused rather than guessed: read as
// the machine's local time (what Date does) or the server's TimeZone (what PostgreSQL does), the
// same words name instants hours apart, and at 3 a.m. in another region that is the difference
// between the rows before the deletion and the rows after it.
import { DrError, type ErrorCode } from "./errors";

/** Date and time (seconds and fraction optional) with "Z" or an offset; "T" or a space between. */
const INSTANT = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)$/i;

const INSTANT_HINT = 'use ISO 8601 with a zone, e.g. "2026-11-26T03:14:00Z" or "2026-11-26 04:14:00+01:00"';

/**
 * The instant `value` names, as ISO 8601 UTC. `notInFuture` refuses times later than now (plus a
 * minute of clock skew), for flags that name something that already happened.
 */
export function parseInstant(flag: string, value: string, opts: { code?: ErrorCode; notInFuture?: string } = {}): string {
  const code = opts.code ?? "TARGET_INVALID";
  const v = value.trim();
  if (!INSTANT.test(v)) {
    const why = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$/.test(v) ? "a time without a zone is ambiguous" : "not a time";
    throw new DrError(code, `${flag}: ${why}: ${value}`, { hint: INSTANT_HINT });
  }
  // Date accepts "+01" only as "+01:00"; the calendar check catches 2026-02-30 and 25:00.
  const t = Date.parse(v.replace(" ", "T").replace(/([+-]\d{2})$/, "$1:00"));
  if (Number.isNaN(t) || !sameCalendarFields(v)) throw new DrError(code, `${flag}: not a time: ${value}`, { hint: INSTANT_HINT });
  if (opts.notInFuture !== undefined && t > Date.now() + 60_000) {
    throw new DrError(code, `${flag} ${value} is in the future`, { hint: opts.notInFuture });
  }
  return new Date(t).toISOString();
}

/**
 * Date.parse already refuses bad minutes, seconds and offsets, but rolls 2026-02-30 over to
 * March and takes hour 24 as the next day's midnight: the written day must exist, the hour be
 * under 24.
 */
function sameCalendarFields(v: string): boolean {
  const [, y, mo, d, h] = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2})/.exec(v)!.map(Number);
  const day = new Date(0);
  day.setUTCFullYear(y, mo - 1, d);
  return day.getUTCMonth() === mo - 1 && day.getUTCDate() === d && h < 24;
}
