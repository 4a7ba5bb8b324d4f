// The path the stream takes between the two site VPCs: VPC peering with routes, and 5432 open
// between the two database hosts only. Peering rather than a Transit Gateway: one pair of VPCs
// in two regions needs one connection; a Transit Gateway adds two gateways, an inter-region
// peering attachment, hourly attachment charges and a per-GB processing fee, and routes
// transitively to whatever else is attached, which a replication path must not do. Each stack
// declares only its own region's side (the secondary stack must work while the primary region
// is down): the secondary requests the connection, the primary accepts it.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { childName } from "../naming";

export interface ReplicationPathArgs {
  /** This site's VPC. Required. */
  vpcId: pulumi.Input<string>;
  /** This site's private route table (the host's subnets). Required. */
  routeTableId: pulumi.Input<string>;
  /** This site's database security group. Required. */
  databaseSecurityGroupId: pulumi.Input<string>;
  /** The other site's VPC range: the route and the only source/destination of 5432. Required. */
  peerCidr: string;
  /**
   * The requester side (the secondary): the other site's VPC id and region; a new peering
   * connection is requested. Give exactly one of `request` and `accept`.
   */
  request?: { peerVpcId: pulumi.Input<string>; peerRegion: string };
  /** The accepter side (the primary): the connection the secondary requested. */
  accept?: { peeringConnectionId: string };
}

export class ReplicationPath extends pulumi.ComponentResource {
  /** The peering connection, requested or accepted here. */
  readonly peeringConnectionId: pulumi.Output<string>;

  constructor(name: string, args: ReplicationPathArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fp-dr:site:ReplicationPath", name, {}, opts);
    const n = (part: string) => childName(name, part);
    const parent = { parent: this };
    if (!!args.request === !!args.accept) throw new Error("a replication path either requests the peering (secondary) or accepts it (primary)");

    // 1. The connection: requested towards the other region, or accepted here.
    if (args.request) {
      const pcx = new aws.ec2.VpcPeeringConnection(
        n("peering"),
        { vpcId: args.vpcId, peerVpcId: args.request.peerVpcId, peerRegion: args.request.peerRegion, tags: { Name: n("peering") } },
        parent,
      );
      this.peeringConnectionId = pcx.id;
    } else {
      const accepted = new aws.ec2.VpcPeeringConnectionAccepter(
        n("peering-accept"),
        { vpcPeeringConnectionId: args.accept!.peeringConnectionId, autoAccept: true, tags: { Name: n("peering") } },
        parent,
      );
      this.peeringConnectionId = accepted.vpcPeeringConnectionId;
    }

    // 2. The route to the other site's VPC.
    new aws.ec2.Route(n("route"), { routeTableId: args.routeTableId, destinationCidrBlock: args.peerCidr, vpcPeeringConnectionId: this.peeringConnectionId }, parent);

    // 3. 5432 both ways between the hosts: either site may be the primary the other streams from.
    new aws.vpc.SecurityGroupIngressRule(
      n("from-peer"),
      { securityGroupId: args.databaseSecurityGroupId, ipProtocol: "tcp", fromPort: 5432, toPort: 5432, cidrIpv4: args.peerCidr, description: "PostgreSQL replication from the other site" },
      parent,
    );
    new aws.vpc.SecurityGroupEgressRule(
      n("to-peer"),
      { securityGroupId: args.databaseSecurityGroupId, ipProtocol: "tcp", fromPort: 5432, toPort: 5432, cidrIpv4: args.peerCidr, description: "PostgreSQL replication to the other site" },
      parent,
    );
    this.registerOutputs({ peeringConnectionId: this.peeringConnectionId });
  }
}
