// Proves the cost estimate is arithmetic over what is declared: each resource type priced by its
// declared size, NAT data and inter-region transfer only for a site that writes the offsite
// repository, no charge for the S3 gateway endpoint, and an unknown instance type refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { listPrices, monthlyCost, readmeUsage, renderCostTable, type DeclaredResource } from "./estimate";

const site: DeclaredResource[] = [
  { type: "aws:ec2/instance:Instance", inputs: { instanceType: "r6i.xlarge", rootBlockDevice: { volumeSize: 20 } } },
  { type: "aws:ebs/volume:Volume", inputs: { size: 500, iops: 6000, throughput: 250 } },
  { type: "aws:ec2/natGateway:NatGateway", inputs: {} },
  { type: "aws:ec2/vpcEndpoint:VpcEndpoint", inputs: { vpcEndpointType: "Gateway" } },
  { type: "aws:ec2/vpcEndpoint:VpcEndpoint", inputs: { vpcEndpointType: "Interface", subnetIds: ["a", "b"] } },
  { type: "aws:kms/key:Key", inputs: {} },
  { type: "aws:secretsmanager/secret:Secret", inputs: { replicas: [{ region: "eu-west-1" }] } },
  { type: "aws:cloudwatch/metricAlarm:MetricAlarm", inputs: {} },
  { type: "aws:s3/bucket:Bucket", inputs: {} },
];
const usage = { ...readmeUsage(true), customMetrics: 10 };
const line = (lines: ReturnType<typeof monthlyCost>, item: string) => lines.find((l) => l.item === item)?.usd;

test("every line is the declared size times its price", () => {
  const lines = monthlyCost(site, usage);
  assert.equal(line(lines, "EC2 r6i.xlarge"), 183.96);
  assert.equal(line(lines, "EBS gp3 root volume"), 1.6);
  assert.equal(line(lines, "EBS gp3 data volume"), 500 * 0.08 + 3000 * 0.005 + 125 * 0.04);
  assert.equal(line(lines, "NAT gateway"), 32.85);
  assert.equal(line(lines, "Interface endpoints (SSM, CloudWatch)"), 14.6, "two AZs of one interface endpoint; the gateway endpoint is free");
  assert.equal(line(lines, "KMS keys"), 1);
  assert.equal(line(lines, "Secrets Manager (passphrase and replicas)"), 0.8, "a replica is billed as a secret");
  assert.equal(line(lines, "CloudWatch custom metrics"), 3);
  // Offsite: 30 days of WAL (5 GiB/day) and of backups (a full and four 2 % incrementals a day), compressed.
  const offsite = (5 * 30 + (100 * 30 + 100 * 0.02 * 4 * 30)) * 0.35;
  assert.equal(line(lines, "Inter-region transfer"), Math.round(offsite * listPrices.interRegionGiB * 100) / 100);
  assert.equal(line(lines, "NAT data processing"), Math.round(offsite * listPrices.natGiB * 100) / 100);
  assert.deepEqual(lines.map((l) => l.usd), [...lines.map((l) => l.usd)].sort((a, b) => b - a), "largest first");
});

test("a site that does not write the offsite repository pays no NAT data and no inter-region transfer", () => {
  const lines = monthlyCost(site, { ...usage, writesOffsite: false });
  assert.equal(line(lines, "NAT data processing"), undefined);
  assert.equal(line(lines, "Inter-region transfer"), undefined);
});

test("an instance type without a price is refused, and the table totals its lines", () => {
  assert.throws(() => monthlyCost([{ type: "aws:ec2/instance:Instance", inputs: { instanceType: "x9.huge" } }], usage), /no price for instance type x9\.huge/);
  const table = renderCostTable("primary", [{ item: "a", basis: "b", usd: 1.25 }, { item: "c", basis: "d", usd: 2 }]);
  assert.match(table, /\| \*\*total\*\* \| \| \*\*3\.25\*\* \|$/);
});
