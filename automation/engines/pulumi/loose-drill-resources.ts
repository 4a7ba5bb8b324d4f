// The reaper's second sweep: EC2 resources a drill left outside any stack (an instance whose
// stack was removed from the backend, a volume detached half way, a snapshot a restore took),
// found by their tags and deleted once their fp-dr:expires-at is past. Bounded to drill
// resources twice: the describe filters ask for fp-dr:role=drill of this environment, and each
// result's own tags are checked again before anything is deleted (the reaper's IAM role allows
// deletion of drill-tagged resources only; this keeps a filter mistake from ever reaching it).
import type {
  DeleteSnapshotCommand, DeleteVolumeCommand, DescribeInstancesCommand, DescribeInstancesCommandOutput, DescribeSnapshotsCommand,
  DescribeSnapshotsCommandOutput, DescribeVolumesCommand, DescribeVolumesCommandOutput, Filter, Tag, TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";

type Commands = Pick<typeof import("@aws-sdk/client-ec2"), "DescribeInstancesCommand" | "DescribeVolumesCommand" | "DescribeSnapshotsCommand" | "TerminateInstancesCommand" | "DeleteVolumeCommand" | "DeleteSnapshotCommand">;

/** The EC2 calls of the sweep. */
export interface SweepEc2Api {
  send(command: DescribeInstancesCommand): Promise<DescribeInstancesCommandOutput>;
  send(command: DescribeVolumesCommand): Promise<DescribeVolumesCommandOutput>;
  send(command: DescribeSnapshotsCommand): Promise<DescribeSnapshotsCommandOutput>;
  send(command: TerminateInstancesCommand | DeleteVolumeCommand | DeleteSnapshotCommand): Promise<unknown>;
}

export interface LooseResource {
  region: string;
  kind: "instance" | "volume" | "snapshot";
  id: string;
  expiresAt: string;
}

export interface SweepOutcome {
  deleted: LooseResource[];
  kept: LooseResource[];
  failed: (LooseResource & { error: string })[];
}

export interface SweepOptions {
  environment: string;
  /** The regions the environment's sites are in. */
  regions: string[];
  /** EC2 in a region; default the SDK's client with the default credential chain. */
  ec2?: (region: string) => SweepEc2Api;
  now: Date;
  /** The SDK's command classes; default loaded on first use. */
  commands?: Commands;
}

const tagOf = (tags: Tag[] | undefined, key: string) => tags?.find((t) => t.Key === key)?.Value;

export async function sweepLooseDrillResources(o: SweepOptions): Promise<SweepOutcome> {
  // Loaded here, not with the engine: only the reaper needs them.
  const sdk = await import("@aws-sdk/client-ec2");
  const c = o.commands ?? sdk;
  const clientFor = o.ec2 ?? ((region: string) => new sdk.EC2Client({ region }) as unknown as SweepEc2Api);
  const filters: Filter[] = [
    { Name: "tag:fp-dr:role", Values: ["drill"] },
    { Name: "tag:fp-dr:environment", Values: [o.environment] },
    { Name: "tag-key", Values: ["fp-dr:expires-at"] },
  ];
  const outcome: SweepOutcome = { deleted: [], kept: [], failed: [] };
  for (const region of [...new Set(o.regions)]) {
    const ec2 = clientFor(region);
    const found: { r: LooseResource; tags?: Tag[]; remove: () => Promise<unknown> }[] = [];
    let token: string | undefined;
    do {
      const page = await ec2.send(new c.DescribeInstancesCommand({ Filters: [...filters, { Name: "instance-state-name", Values: ["pending", "running", "stopping", "stopped"] }], NextToken: token }));
      for (const i of (page.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
        found.push({ r: { region, kind: "instance", id: i.InstanceId!, expiresAt: tagOf(i.Tags, "fp-dr:expires-at") ?? "" }, tags: i.Tags, remove: () => ec2.send(new c.TerminateInstancesCommand({ InstanceIds: [i.InstanceId!] })) });
      }
      token = page.NextToken;
    } while (token);
    do {
      // Attached volumes go with their instance; only loose ones are deleted here.
      const page = await ec2.send(new c.DescribeVolumesCommand({ Filters: [...filters, { Name: "status", Values: ["available"] }], NextToken: token }));
      for (const v of page.Volumes ?? []) found.push({ r: { region, kind: "volume", id: v.VolumeId!, expiresAt: tagOf(v.Tags, "fp-dr:expires-at") ?? "" }, tags: v.Tags, remove: () => ec2.send(new c.DeleteVolumeCommand({ VolumeId: v.VolumeId! })) });
      token = page.NextToken;
    } while (token);
    do {
      const page = await ec2.send(new c.DescribeSnapshotsCommand({ OwnerIds: ["self"], Filters: filters, NextToken: token }));
      for (const s of page.Snapshots ?? []) found.push({ r: { region, kind: "snapshot", id: s.SnapshotId!, expiresAt: tagOf(s.Tags, "fp-dr:expires-at") ?? "" }, tags: s.Tags, remove: () => ec2.send(new c.DeleteSnapshotCommand({ SnapshotId: s.SnapshotId! })) });
      token = page.NextToken;
    } while (token);
    for (const { r, tags, remove } of found) {
      const expires = Date.parse(r.expiresAt);
      const drill = tagOf(tags, "fp-dr:role") === "drill" && tagOf(tags, "fp-dr:environment") === o.environment;
      if (!drill || !(expires <= o.now.getTime())) {
        outcome.kept.push(r);
        continue;
      }
      try {
        await remove();
        outcome.deleted.push(r);
      } catch (e) {
        outcome.failed.push({ ...r, error: (e as Error).message });
      }
    }
  }
  return outcome;
}
