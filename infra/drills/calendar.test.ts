// Proves the drill schedule means the same to EventBridge Scheduler as to systemd: the shared
// default (monthly, first day, 04:00) and weekly forms convert, every converted expression is
// one systemd itself accepts as written, and what cron cannot say is refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { schedules } from "../../automation/config/common";
import { schedulerCron } from "./calendar";

test("the default monthly drill and a weekly one", () => {
  assert.equal(schedulerCron(schedules.parse({}).drill), "cron(0 4 1 * ? *)");
  assert.equal(schedulerCron("Sun *-*-* 03:00:00"), "cron(0 3 ? * SUN *)");
  assert.equal(schedulerCron("Mon-Fri *-*-* 22:30"), "cron(30 22 ? * MON-FRI *)");
  assert.equal(schedulerCron("*-01,07-01 05:15:00"), "cron(15 5 1 1,7 ? *)");
});

test("the forms converted are calendars systemd accepts", () => {
  for (const c of [schedules.parse({}).drill, "Sun *-*-* 03:00:00", "Mon-Fri *-*-* 22:30", "*-01,07-01 05:15:00"]) {
    const r = spawnSync("systemd-analyze", ["calendar", c], { encoding: "utf8" });
    assert.equal(r.status, 0, `${c}: ${r.stderr}`);
  }
});

test("what EventBridge cron cannot express is refused, not guessed", () => {
  assert.throws(() => schedulerCron("*-*-* 04:00:30"), /not of the form/);
  assert.throws(() => schedulerCron("Mon *-*-01 04:00"), /both a weekday and a day of month/);
  assert.throws(() => schedulerCron("*-*-32 04:00"), /day of month 32 is out of range/);
  assert.throws(() => schedulerCron("Funday *-*-* 04:00"), /not of the form|weekday/);
  assert.throws(() => schedulerCron("monthly"), /not of the form/);
});
