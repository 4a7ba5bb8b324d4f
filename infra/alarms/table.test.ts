// Proves the alarm table covers the runbook: every alert of "Automated Monitoring Alerts" has
// an alarm at the runbook's severity; thresholds come from config (runbook defaults, and a
// changed config changes them); every metric is in the catalogue its producer publishes from;
// silence means failure where silence is the failure (no DatabaseUp, no backup age).
import { test } from "node:test";
import assert from "node:assert/strict";
import { alertThresholds } from "../../automation/config/common";
import { awsMetrics, eventMetricCatalogue, healthMetricCatalogue, metricNamespace } from "./metrics";
import { alarmTable, runbookAlerts } from "./table";

const table = alarmTable(alertThresholds.parse({}));

test("every runbook alert has at least one alarm, at the runbook's severity", () => {
  assert.deepEqual(Object.keys(runbookAlerts).sort(), [
    "backup-completed",
    "backup-failure",
    "connection-pool",
    "database-unavailable",
    "disk-space",
    "failed-logins",
    "maintenance-completed",
    "replication-lag",
    "slow-query",
  ]);
  for (const [id, alert] of Object.entries(runbookAlerts)) {
    const alarms = table.filter((a) => a.runbookAlert === id);
    assert.ok(alarms.length > 0, `${id}: no alarm`);
    for (const a of alarms) assert.equal(a.severity, alert.severity, a.id);
  }
  assert.equal(new Set(table.map((a) => a.id)).size, table.length, "alarm ids are unique");
});

test("thresholds are the runbook's numbers by default and follow the config", () => {
  const t = (id: string) => table.find((a) => a.id === id)!.threshold;
  assert.equal(t("disk-space"), 90);
  assert.equal(t("replication-lag"), 3600);
  assert.equal(t("archive-lag"), 3600);
  assert.equal(t("connection-pool"), 80);
  assert.equal(t("failed-logins"), 10);
  const custom = alarmTable(alertThresholds.parse({ diskUsagePercent: 85, replicationLag: "30m", connectionUtilisationPercent: 70, failedLoginsPerHour: 3, anyBackupAge: "8h" }));
  const c = (id: string) => custom.find((a) => a.id === id)!.threshold;
  assert.deepEqual([c("disk-space"), c("replication-lag"), c("connection-pool"), c("failed-logins"), c("backup-failure")], [85, 1800, 70, 3, 8 * 3600]);
});

test("every alarm's metric is in the catalogue of its producer", () => {
  for (const a of table) {
    if (a.producer === "health-publish") {
      assert.equal(a.namespace, metricNamespace);
      assert.ok(a.metric in healthMetricCatalogue, `${a.id}: ${a.metric} is not a health metric`);
      assert.equal(a.dimensions, "site");
    } else if (a.producer === "event") {
      assert.equal(a.namespace, metricNamespace);
      assert.ok(a.metric in eventMetricCatalogue, `${a.id}: ${a.metric} is not an event metric`);
    } else {
      assert.equal(a.namespace, awsMetrics.instanceStatusCheckFailed.namespace);
      assert.equal(a.metric, awsMetrics.instanceStatusCheckFailed.name);
      assert.equal(a.dimensions, "instance");
    }
  }
});

test("silence is failure for liveness and backups, not for metrics that only some sites have", () => {
  const missing = (id: string) => table.find((a) => a.id === id)!.treatMissingData;
  assert.equal(missing("database-unavailable"), "breaching");
  assert.equal(missing("backup-failure"), "breaching");
  assert.equal(missing("full-backup-failure"), "breaching");
  assert.equal(missing("repo1-backup-failure"), "breaching");
  assert.equal(missing("repo2-backup-failure"), "breaching");
  assert.equal(missing("replication-lag"), "notBreaching");
  for (const a of table.filter((x) => x.severity === "info")) assert.equal(a.notifyOnOk, false, `${a.id}: an event has nothing to clear`);
});

test("backup age is alarmed per repository, on the metric dr health publishes for it", () => {
  const repo = (n: number) => table.find((a) => a.id === `repo${n}-backup-failure`)!;
  assert.deepEqual([repo(1).metric, repo(2).metric], ["Repo1BackupAgeSeconds", "Repo2BackupAgeSeconds"]);
  for (const n of [1, 2]) {
    assert.equal(repo(n).runbookAlert, "backup-failure");
    assert.equal(repo(n).threshold, alertThresholds.parse({}).anyBackupAge);
  }
});
