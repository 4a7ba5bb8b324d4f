// A stack's monthly cost, computed from the resources it declares (what the mock runtime records
// of the real program) plus stated usage: instances and volumes by their declared sizes, the
// NAT gateway and the data it carries, interface endpoints per AZ, keys, secrets, alarms, health
// checks, repository storage and requests, and the cross-region transfer of WAL and offsite
// backups. Pure, so the README's table is a test's output, never typed by hand. Prices are
// inputs (a dated list-price table below), not facts the code knows.

import { eventMetricCatalogue, healthMetricCatalogue } from "../alarms/metrics";

/** One declared resource: its Pulumi type token and its inputs. */
export interface DeclaredResource {
  type: string;
  inputs: Record<string, unknown>;
}

/** What the site does in a month, besides existing. */
export interface Usage {
  /** Database size (a full backup, compressed, is about compressionRatio of it). */
  databaseGiB: number;
  /** WAL generated per day. */
  walGiBPerDay: number;
  /** Compressed / raw size of backups and WAL. */
  compressionRatio: number;
  /** Full backups kept per repository (retention.full). */
  fullsKept: number;
  /** Incremental backups per day per repository, each this share of the database. */
  incrementalsPerDay: number;
  incrementalShare: number;
  /** This site's host writes the offsite repository (the primary; a promoted standby). */
  writesOffsite: boolean;
  /** Custom metrics the host publishes (dr health --publish: the catalogue's numbers). */
  customMetrics: number;
  /** S3 PUT requests per GiB written (pgBackRest's files and WAL segments). */
  putsPerGiB: number;
}

/** USD list prices (us-east-1, on demand, 2025); other regions are typically 5–20 % higher. */
export const listPrices = {
  instanceHour: { "r6i.large": 0.126, "r6i.xlarge": 0.252, "r6i.2xlarge": 0.504, "t3.large": 0.0832, "m6i.large": 0.096 } as Record<string, number>,
  gp3GiBMonth: 0.08,
  gp3IopsMonthOver3000: 0.005,
  gp3MiBsMonthOver125: 0.04,
  natHour: 0.045,
  natGiB: 0.045,
  interfaceEndpointHourPerAz: 0.01,
  kmsKeyMonth: 1,
  secretMonth: 0.4,
  alarmMonth: 0.1,
  customMetricMonth: 0.3,
  healthCheckMonth: 0.5,
  s3StandardGiBMonth: 0.023,
  s3PutPer1000: 0.005,
  interRegionGiB: 0.02,
};

export type Prices = typeof listPrices;

export interface CostLine {
  item: string;
  /** How it was computed, for the README. */
  basis: string;
  usd: number;
}

const hoursPerMonth = 730;
const daysPerMonth = 30;
const round2 = (x: number) => Math.round(x * 100) / 100;
const ofType = (rs: DeclaredResource[], type: string) => rs.filter((r) => r.type === type);
const num = (v: unknown, fallback: number) => (typeof v === "number" ? v : fallback);

/** The lines of one stack's monthly bill, largest first; throws on an instance type without a price. */
export function monthlyCost(resources: DeclaredResource[], usage: Usage, prices: Prices = listPrices): CostLine[] {
  const lines: CostLine[] = [];
  const add = (item: string, basis: string, usd: number) => {
    if (usd > 0) lines.push({ item, basis, usd: round2(usd) });
  };

  for (const i of ofType(resources, "aws:ec2/instance:Instance")) {
    const type = String(i.inputs.instanceType);
    const hourly = prices.instanceHour[type];
    if (hourly === undefined) throw new Error(`no price for instance type ${type}: add it to infra/cost/estimate.ts listPrices`);
    add(`EC2 ${type}`, `${hoursPerMonth} h × $${hourly}`, hoursPerMonth * hourly);
    const root = num((i.inputs.rootBlockDevice as { volumeSize?: unknown } | undefined)?.volumeSize, 8);
    add("EBS gp3 root volume", `${root} GiB`, root * prices.gp3GiBMonth);
  }
  for (const v of ofType(resources, "aws:ebs/volume:Volume")) {
    const size = num(v.inputs.size, 0);
    const iops = Math.max(0, num(v.inputs.iops, 3000) - 3000);
    const mibs = Math.max(0, num(v.inputs.throughput, 125) - 125);
    add("EBS gp3 data volume", `${size} GiB${iops ? `, +${iops} IOPS` : ""}${mibs ? `, +${mibs} MiB/s` : ""}`, size * prices.gp3GiBMonth + iops * prices.gp3IopsMonthOver3000 + mibs * prices.gp3MiBsMonthOver125);
  }

  // What leaves the region: WAL and backups to the offsite repository (S3 in another region
  // is not served by the gateway endpoint, so it goes through the NAT gateway). Verify reads
  // only the host's own region's repository, through the gateway endpoint: no NAT, no transfer.
  const walGiB = usage.walGiBPerDay * daysPerMonth * usage.compressionRatio;
  const backupGiB = (usage.databaseGiB * daysPerMonth + usage.databaseGiB * usage.incrementalShare * usage.incrementalsPerDay * daysPerMonth) * usage.compressionRatio;
  const offsiteGiB = usage.writesOffsite ? walGiB + backupGiB : 0;
  const nats = ofType(resources, "aws:ec2/natGateway:NatGateway").length;
  if (nats) {
    add("NAT gateway", `${nats} × ${hoursPerMonth} h`, nats * hoursPerMonth * prices.natHour);
    add("NAT data processing", `${Math.round(offsiteGiB)} GiB to the other region's repository`, offsiteGiB * prices.natGiB);
  }
  add("Inter-region transfer", `${Math.round(offsiteGiB)} GiB of WAL and offsite backups`, offsiteGiB * prices.interRegionGiB);

  const endpointAzs = ofType(resources, "aws:ec2/vpcEndpoint:VpcEndpoint")
    .filter((e) => e.inputs.vpcEndpointType === "Interface")
    .reduce((n, e) => n + (Array.isArray(e.inputs.subnetIds) ? e.inputs.subnetIds.length : 1), 0);
  add("Interface endpoints (SSM, CloudWatch)", `${endpointAzs} endpoint-AZs × ${hoursPerMonth} h`, endpointAzs * hoursPerMonth * prices.interfaceEndpointHourPerAz);

  const keys = ofType(resources, "aws:kms/key:Key").length + ofType(resources, "aws:kms/replicaKey:ReplicaKey").length;
  add("KMS keys", `${keys}`, keys * prices.kmsKeyMonth);
  const secrets = ofType(resources, "aws:secretsmanager/secret:Secret").reduce((n, s) => n + 1 + (Array.isArray(s.inputs.replicas) ? s.inputs.replicas.length : 0), 0);
  add("Secrets Manager (passphrase and replicas)", `${secrets}`, secrets * prices.secretMonth);
  const alarms = ofType(resources, "aws:cloudwatch/metricAlarm:MetricAlarm").length;
  add("CloudWatch alarms", `${alarms}`, alarms * prices.alarmMonth);
  if (ofType(resources, "aws:ec2/instance:Instance").length) add("CloudWatch custom metrics", `${usage.customMetrics}`, usage.customMetrics * prices.customMetricMonth);
  const checks = ofType(resources, "aws:route53/healthCheck:HealthCheck").length;
  add("Route 53 health checks", `${checks}`, checks * prices.healthCheckMonth);

  // This region's repository: the fulls kept plus their incrementals and the WAL between them
  // (object lock keeps replaced versions for the lock period: about one more retention window).
  const buckets = ofType(resources, "aws:s3/bucket:Bucket").length;
  if (buckets) {
    const stored = (usage.databaseGiB * usage.fullsKept * (1 + usage.incrementalShare * usage.incrementalsPerDay) + usage.walGiBPerDay * usage.fullsKept) * usage.compressionRatio * 2;
    add("S3 repository storage", `≈ ${Math.round(stored)} GiB (retention plus locked versions)`, stored * prices.s3StandardGiBMonth);
    const written = walGiB + backupGiB;
    add("S3 requests", `≈ ${Math.round(written * usage.putsPerGiB / 1000)}k PUTs`, (written * usage.putsPerGiB / 1000) * prices.s3PutPer1000);
  }
  return lines.sort((a, b) => b.usd - a.usd);
}

/** The README's table of one stack. */
export function renderCostTable(stack: string, lines: CostLine[]): string {
  const total = round2(lines.reduce((n, l) => n + l.usd, 0));
  return [`| ${stack} | basis | USD / month |`, "|---|---|---:|", ...lines.map((l) => `| ${l.item} | ${l.basis} | ${l.usd.toFixed(2)} |`), `| **total** | | **${total.toFixed(2)}** |`].join("\n");
}

/** The usage the README's tables assume: a 100 GiB database writing 5 GiB of WAL a day. */
export const readmeUsage = (writesOffsite: boolean): Usage => ({
  databaseGiB: 100,
  walGiBPerDay: 5,
  compressionRatio: 0.35,
  fullsKept: 7,
  incrementalsPerDay: 4,
  incrementalShare: 0.02,
  writesOffsite,
  customMetrics: Object.keys(healthMetricCatalogue).length + Object.keys(eventMetricCatalogue).length,
  putsPerGiB: 100,
});
