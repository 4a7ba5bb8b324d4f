// Proves that `dr health --publish` sends exactly the request the alarms expect: the catalogue's
// namespace, one datum per metric present (absent ones skipped), the site's dimensions, units
// and the report's timestamp; and that publishHealth hands that request to CloudWatch.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PutMetricDataCommand, type CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { buildMetricData, publishHealth } from "./publish-metrics";
import type { HealthReport } from "../../automation/postgres/health-types";

const report: HealthReport = {
  site: "primary",
  checkedAt: "2025-08-30T10:15:00.000Z",
  worst: "warning",
  findings: [{ check: "connections", severity: "warning", message: "connections at 85% of max_connections", value: 85, unit: "%", threshold: 80 }],
  metrics: {
    DatabaseUp: 1,
    InRecovery: 0,
    DiskUsagePercent: 41.5,
    ConnectionUtilisationPercent: 85,
    ArchiveAgeSeconds: 42,
    FullBackupAgeSeconds: 3600,
    BackupAgeSeconds: 1800,
    SlowQueries: 0,
    FailedLogins: 3,
    ReplicationLagBytes: 8192,
    // Not applicable on a primary, or broken: neither may reach CloudWatch.
    ReplicationLagSeconds: undefined,
    LongTransactions: Number.NaN,
  },
};

const dims = [
  { Name: "Environment", Value: "production" },
  { Name: "Site", Value: "primary" },
];
const at = new Date("2025-08-30T10:15:00.000Z");
const datum = (MetricName: string, Value: number, Unit: string) => ({ MetricName, Dimensions: dims, Timestamp: at, Value, Unit, StorageResolution: 60 });

test("buildMetricData turns a report into the exact PutMetricData request the alarms watch", () => {
  const input = buildMetricData(report, { environment: "production" });
  assert.deepEqual(input, {
    Namespace: "FpDr",
    MetricData: [
      datum("DatabaseUp", 1, "Count"),
      datum("InRecovery", 0, "Count"),
      datum("DiskUsagePercent", 41.5, "Percent"),
      datum("ConnectionUtilisationPercent", 85, "Percent"),
      datum("ArchiveAgeSeconds", 42, "Seconds"),
      datum("FullBackupAgeSeconds", 3600, "Seconds"),
      datum("BackupAgeSeconds", 1800, "Seconds"),
      datum("ReplicationLagBytes", 8192, "Bytes"),
      datum("SlowQueries", 0, "Count"),
      datum("FailedLogins", 3, "Count"),
    ],
  });
});

test("a report of an unreachable database still publishes DatabaseUp = 0 (the alarm's input)", () => {
  const down: HealthReport = { ...report, worst: "critical", metrics: { DatabaseUp: 0 } };
  const input = buildMetricData(down, { environment: "staging" });
  assert.equal(input.MetricData?.length, 1);
  assert.deepEqual(input.MetricData?.[0], {
    MetricName: "DatabaseUp",
    Dimensions: [
      { Name: "Environment", Value: "staging" },
      { Name: "Site", Value: "primary" },
    ],
    Timestamp: at,
    Value: 0,
    Unit: "Count",
    StorageResolution: 60,
  });
});

test("an invalid checkedAt is refused rather than published at a wrong time", () => {
  assert.throws(() => buildMetricData({ ...report, checkedAt: "yesterday" }, { environment: "production" }), /invalid checkedAt/);
});

test("publishHealth sends one PutMetricDataCommand carrying the built request", async () => {
  const sent: unknown[] = [];
  const client = {
    send: async (command: unknown) => {
      sent.push(command);
      return {};
    },
  } as unknown as Pick<CloudWatchClient, "send">;
  const input = await publishHealth(report, client, { environment: "production" });
  assert.equal(sent.length, 1);
  assert.ok(sent[0] instanceof PutMetricDataCommand);
  assert.deepEqual((sent[0] as PutMetricDataCommand).input, input);
  assert.deepEqual(input, buildMetricData(report, { environment: "production" }));
});
