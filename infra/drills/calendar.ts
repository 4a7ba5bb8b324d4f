// The drill's schedule is written once, as a systemd OnCalendar expression (`schedules.drill`,
// shared with the hosts' timers); EventBridge Scheduler takes a cron(...) expression. This
// converts the subset a monthly or weekly drill needs, "[Weekday] *-*-DD HH:MM[:00]" with `*`,
// numbers, lists and ranges, and refuses anything else rather than guess.
const weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

function field(v: string, what: string, min: number, max: number): string {
  if (v === "*") return "*";
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(v)) throw new Error(`the drill schedule's ${what} "${v}" is not a number, list or range`);
  for (const n of v.split(/[,-]/).map(Number)) if (n < min || n > max) throw new Error(`the drill schedule's ${what} ${n} is out of range ${min}-${max}`);
  return v.split(",").map((part) => part.split("-").map((n) => String(Number(n))).join("-")).join(",");
}

/** "*-*-01 04:00:00" → "cron(0 4 1 * ? *)"; "Sun *-*-* 03:00:00" → "cron(0 3 ? * SUN *)". */
export function schedulerCron(calendar: string): string {
  const m = /^\s*(?:([A-Za-z]{3}(?:[,-][A-Za-z]{3})*)\s+)?\*-(\*|[\d,-]+)-(\*|[\d,-]+)\s+(\*|[\d,-]+):(\d{1,2})(?::(00?))?\s*$/.exec(calendar);
  if (!m) throw new Error(`the drill schedule "${calendar}" is not of the form "[Weekday] *-*-DD HH:MM[:00]" that EventBridge Scheduler can express`);
  const [, dow, month, day, hour, minute] = m;
  const dowField = dow
    ? dow
        .split(",")
        .map((part) =>
          part
            .split("-")
            .map((d) => {
              const i = weekdays.findIndex((w) => w.toLowerCase() === d.toLowerCase());
              if (i < 0) throw new Error(`the drill schedule's weekday "${d}" is not one of ${weekdays.join(", ")}`);
              return weekdays[i].toUpperCase();
            })
            .join("-"),
        )
        .join(",")
    : undefined;
  const dom = field(day, "day of month", 1, 31);
  if (dowField && dom !== "*") throw new Error(`the drill schedule "${calendar}" names both a weekday and a day of month; EventBridge cron takes one of them`);
  return `cron(${field(minute, "minute", 0, 59)} ${field(hour, "hour", 0, 23)} ${dowField ? "?" : dom} ${field(month, "month", 1, 12)} ${dowField ?? "?"} *)`;
}
