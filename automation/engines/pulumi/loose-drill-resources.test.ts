// The reaper's sweep of loose drill resources against a recording double of EC2 (no AWS here):
// the exact describe filters (drill role, this environment, an expiry tag), paging, deletion of
// expired drill resources only, a resource whose own tags are not a drill's never deleted even
// when returned, and a failed deletion recorded while the others still go.
import { test } from "node:test";
import assert from "node:assert/strict";
import { sweepLooseDrillResources, type SweepEc2Api } from "./loose-drill-resources";

const now = new Date("2026-03-01T12:00:00Z");
const past = "2026-03-01T08:00:00Z";
const future = "2026-03-01T18:00:00Z";
const drillTags = (expiresAt: string, env = "production") => [
  { Key: "fp-dr:role", Value: "drill" },
  { Key: "fp-dr:environment", Value: env },
  { Key: "fp-dr:expires-at", Value: expiresAt },
];

interface Sent {
  command: string;
  region: string;
  input: Record<string, unknown>;
}

function fakeEc2(sent: Sent[]): (region: string) => SweepEc2Api {
  return (region) =>
    ({
      async send(command: { input: Record<string, unknown> }) {
        const name = command.constructor.name;
        sent.push({ command: name, region, input: structuredClone(command.input) });
        if (region !== "eu-west-1") return {};
        if (name === "DescribeInstancesCommand") {
          // Two pages: paging is followed.
          if (!command.input.NextToken) return { Reservations: [{ Instances: [{ InstanceId: "i-expired", Tags: drillTags(past) }] }], NextToken: "p2" };
          return { Reservations: [{ Instances: [{ InstanceId: "i-running-drill", Tags: drillTags(future) }] }] };
        }
        // A production volume a wrong filter let through: its own tags keep it.
        if (name === "DescribeVolumesCommand") return { Volumes: [{ VolumeId: "vol-expired", Tags: drillTags(past) }, { VolumeId: "vol-production", Tags: [{ Key: "fp-dr:role", Value: "primary" }, { Key: "fp-dr:expires-at", Value: past }] }] };
        if (name === "DescribeSnapshotsCommand") return { Snapshots: [{ SnapshotId: "snap-expired", Tags: drillTags(past) }, { SnapshotId: "snap-staging", Tags: drillTags(past, "staging") }] };
        if (name === "DeleteSnapshotCommand") throw new Error("InvalidSnapshot.InUse: snap-expired is in use by ami-1");
        return {};
      },
    }) as unknown as SweepEc2Api;
}

test("expired drill instances, loose volumes and snapshots are deleted in every site region; nothing else is", async () => {
  const sent: Sent[] = [];
  const r = await sweepLooseDrillResources({ environment: "production", regions: ["eu-central-1", "eu-west-1", "eu-west-1"], ec2: fakeEc2(sent), now });
  const filters = [
    { Name: "tag:fp-dr:role", Values: ["drill"] },
    { Name: "tag:fp-dr:environment", Values: ["production"] },
    { Name: "tag-key", Values: ["fp-dr:expires-at"] },
  ];
  const describes = (region: string, paged: boolean) => [
    { command: "DescribeInstancesCommand", region, input: { Filters: [...filters, { Name: "instance-state-name", Values: ["pending", "running", "stopping", "stopped"] }] } },
    ...(paged ? [{ command: "DescribeInstancesCommand", region, input: { Filters: [...filters, { Name: "instance-state-name", Values: ["pending", "running", "stopping", "stopped"] }], NextToken: "p2" } }] : []),
    { command: "DescribeVolumesCommand", region, input: { Filters: [...filters, { Name: "status", Values: ["available"] }] } },
    { command: "DescribeSnapshotsCommand", region, input: { OwnerIds: ["self"], Filters: filters } },
  ];
  const strip = (s: Sent) => ({ ...s, input: Object.fromEntries(Object.entries(s.input).filter(([, v]) => v !== undefined)) });
  assert.deepEqual(sent.map(strip), [
    ...describes("eu-central-1", false),
    ...describes("eu-west-1", true),
    { command: "TerminateInstancesCommand", region: "eu-west-1", input: { InstanceIds: ["i-expired"] } },
    { command: "DeleteVolumeCommand", region: "eu-west-1", input: { VolumeId: "vol-expired" } },
    { command: "DeleteSnapshotCommand", region: "eu-west-1", input: { SnapshotId: "snap-expired" } },
  ]);
  assert.deepEqual(r.deleted.map((d) => d.id), ["i-expired", "vol-expired"]);
  assert.deepEqual(r.kept.map((d) => d.id), ["i-running-drill", "vol-production", "snap-staging"]);
  assert.deepEqual(r.failed.map((f) => [f.id, f.error]), [["snap-expired", "InvalidSnapshot.InUse: snap-expired is in use by ami-1"]]);
});
