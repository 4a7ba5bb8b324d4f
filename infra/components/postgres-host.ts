// The site's PostgreSQL host: an EC2 instance that requires IMDSv2 (pgBackRest fetches the
// role's credentials with a token), an encrypted gp3 data volume that outlives the instance
// (a replaced host adopts the cluster on it), a least-privilege instance role (write its
// repository prefixes, read the offsite one, never delete), and cloud-init rendered by the
// pure functions of infra/cloud-init. The user data no longer carries the repository
// passphrase (the host reads it from Secrets Manager) but stays a Pulumi secret all the same. A fenced host keeps everything; only its security
// groups (chosen by the caller) and, for a stop, its power state change.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { amiArchitecture, debianAmiNamePattern, debianAmiOwner } from "../ami";
import type { HostSpec } from "../cloud-init/host-spec";
import { renderUserDataBase64 } from "../cloud-init/user-data";
import { childName } from "../naming";
import { ec2AssumeRolePolicy, type PolicyDocument } from "../policies/documents";

export interface PostgresHostArgs {
  /** What the host is told at boot, minus the data volume id (known only here). Required. */
  spec: pulumi.Input<Omit<HostSpec, "dataVolumeId">>;
  /** EC2 instance type. Required. */
  instanceType: string;
  /** Private subnet of the host. Required. */
  subnetId: pulumi.Input<string>;
  /** That subnet's availability zone (the data volume must be in it). Required. */
  availabilityZone: pulumi.Input<string>;
  /** Security groups of the host (while fenced: the isolation group alone). Required. */
  securityGroupIds: pulumi.Input<string>[];
  /**
   * The host is fenced: tagged with the request, and for "stop" stopped (gracefully, so
   * PostgreSQL shuts down cleanly). The security groups are the caller's to choose. Nothing is
   * deleted or replaced; lifting a stop leaves the instance stopped. Default none.
   */
  fence?: { mode: "isolate" | "stop"; requestId: string };
  /** Data volume size in GiB. Default 100. */
  dataVolumeGiB?: number;
  /** Data volume IOPS. Default 3000 (gp3 baseline). */
  dataVolumeIops?: number;
  /** Data volume throughput in MiB/s. Default 125 (gp3 baseline). */
  dataVolumeThroughputMiBs?: number;
  /** Root volume size in GiB. Default 20. */
  rootVolumeGiB?: number;
  /** Pinned AMI. Default: newest Debian 12 image of the instance's architecture. */
  amiId?: string;
  /** EC2 termination protection. Default false (the primary sets it). */
  terminationProtection?: boolean;
  /** Pulumi `protect` and a final snapshot on the data volume. Default true. */
  protect?: boolean;
  /** Role name, derived so that bucket policies can match every site's host role. Required. */
  roleName: string;
  /** The role's permissions. Required. */
  policy: pulumi.Input<PolicyDocument>;
  /** Provider for the AMI lookup. Default: the component's. */
  provider?: aws.Provider;
}

export class PostgresHost extends pulumi.ComponentResource {
  readonly instanceId: pulumi.Output<string>;
  readonly privateIp: pulumi.Output<string>;
  readonly roleArn: pulumi.Output<string>;
  readonly dataVolumeId: pulumi.Output<string>;
  /** What the host's files are rendered from (user data at first boot, `dr host apply` after). */
  readonly spec: pulumi.Output<HostSpec>;
  /** gzip+base64 cloud-config; kept secret (it describes the host's access). */
  readonly userData: pulumi.Output<string>;

  constructor(name: string, args: PostgresHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fp-dr:site:PostgresHost", name, {}, opts);
    const n = (part: string) => childName(name, part);
    const parent = { parent: this };
    const protect = args.protect ?? true;

    const role = new aws.iam.Role(n("role"), { name: args.roleName, assumeRolePolicy: JSON.stringify(ec2AssumeRolePolicy()), description: "fp-dr PostgreSQL host" }, parent);
    new aws.iam.RolePolicy(n("role-policy"), { role: role.id, policy: pulumi.output(args.policy).apply((p) => JSON.stringify(p)) }, parent);
    const profile = new aws.iam.InstanceProfile(n("profile"), { role: role.name }, parent);

    // The data outlives the instance: a replaced host mounts the same volume and adopts it.
    const volume = new aws.ebs.Volume(
      n("data"),
      {
        availabilityZone: args.availabilityZone,
        type: "gp3",
        size: args.dataVolumeGiB ?? 100,
        iops: args.dataVolumeIops ?? 3000,
        throughput: args.dataVolumeThroughputMiBs ?? 125,
        encrypted: true,
        finalSnapshot: protect,
        tags: { Name: n("data") },
      },
      { parent: this, protect },
    );
    this.dataVolumeId = volume.id;

    this.spec = pulumi.all([pulumi.output(args.spec), volume.id]).apply(([spec, dataVolumeId]): HostSpec => ({ ...(spec as Omit<HostSpec, "dataVolumeId">), dataVolumeId }));
    this.userData = pulumi.secret(this.spec.apply(renderUserDataBase64));

    const ami =
      args.amiId ??
      aws.ec2
        .getAmiOutput(
          {
            owners: [debianAmiOwner],
            mostRecent: true,
            filters: [
              { name: "name", values: [debianAmiNamePattern] },
              { name: "architecture", values: [amiArchitecture(args.instanceType)] },
              { name: "virtualization-type", values: ["hvm"] },
            ],
          },
          { parent: this, provider: args.provider },
        )
        .apply((a) => a.id);

    const instance = new aws.ec2.Instance(
      n("instance"),
      {
        ami,
        instanceType: args.instanceType,
        subnetId: args.subnetId,
        vpcSecurityGroupIds: args.securityGroupIds,
        iamInstanceProfile: profile.name,
        associatePublicIpAddress: false,
        disableApiTermination: args.terminationProtection ?? false,
        // IMDSv2 only; hop limit 1 keeps the credentials away from anything but the host itself.
        metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
        rootBlockDevice: { volumeType: "gp3", volumeSize: args.rootVolumeGiB ?? 20, encrypted: true, deleteOnTermination: true },
        ebsOptimized: true,
        monitoring: true,
        userDataBase64: this.userData,
        tags: { Name: n("instance"), ...(args.fence ? { "fp-dr:fence-mode": args.fence.mode, "fp-dr:fenced-by": args.fence.requestId } : {}) },
      },
      // A new Debian image must not replace the database host behind anyone's back; a config
      // change must not stop and start it either (a new user data does, and cloud-init would
      // not even run it again): it reaches the host through `dr host apply` (HostConfig).
      { parent: this, ignoreChanges: ["ami", "userDataBase64"] },
    );
    // Fenced by stopping: after the security groups changed (it depends on the instance).
    if (args.fence?.mode === "stop") {
      new aws.ec2transitgateway.InstanceState(n("state"), { instanceId: instance.id, state: "stopped", force: false }, parent);
    }
    new aws.ec2.VolumeAttachment(n("data-attachment"), { instanceId: instance.id, volumeId: volume.id, deviceName: "/dev/sdf", stopInstanceBeforeDetaching: true }, parent);

    this.instanceId = instance.id;
    this.privateIp = instance.privateIp;
    this.roleArn = role.arn;
    this.registerOutputs({ instanceId: this.instanceId, privateIp: this.privateIp, roleArn: this.roleArn, dataVolumeId: this.dataVolumeId });
  }
}
