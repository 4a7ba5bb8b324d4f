// Proves that the names stacks agree on without seeing each other are stable and valid: the
// bucket of a region (the primary's repo2 is the secondary's repo1), the alarm the secondary's
// health check watches, the host-role pattern bucket policies deny deletes to.
import { test } from "node:test";
import assert from "node:assert/strict";
import { alarmName, backupBucketName, backupKeyAlias, hostRoleArnPattern, hostRoleName, topicName } from "./naming";

test("a region's backup bucket name is derived from environment, region and account, within S3's rules", () => {
  const name = backupBucketName("production", "eu-west-1", "123456789012");
  assert.equal(name, "fp-dr-production-pgbackrest-eu-west-1-123456789012");
  assert.match(name, /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/);
  // The longest environment the config allows, in a long region, still fits.
  assert.ok(backupBucketName("abcdefghijklmnop", "ap-southeast-1", "123456789012").length <= 63);
  assert.throws(() => backupBucketName("an-environment-name-far-too-long", "ap-southeast-1", "123456789012"), /longer than 63/);
});

test("host roles of every site match the pattern the bucket policies deny deletes to", () => {
  const pattern = hostRoleArnPattern("production", "123456789012");
  const regex = new RegExp(`^${pattern.replace(/[.*+?^${}()|[\]\\]/g, (c) => (c === "*" ? ".*" : `\\${c}`))}$`);
  for (const site of ["primary", "secondary", "drill-20250901t040000"]) {
    assert.match(`arn:aws:iam::123456789012:role/${hostRoleName("production", site)}`, regex);
  }
  assert.doesNotMatch(`arn:aws:iam::123456789012:role/${hostRoleName("staging", "primary")}`, regex);
});

test("alarm, topic and key names", () => {
  assert.equal(alarmName("production", "primary", "database-unavailable"), "fp-dr-production-primary-database-unavailable");
  assert.equal(topicName("production", "secondary", "critical"), "fp-dr-production-secondary-critical");
  assert.equal(backupKeyAlias("production"), "alias/fp-dr-production-backups");
});
