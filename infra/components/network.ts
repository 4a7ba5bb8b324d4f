// The site's network: a VPC with private subnets in two availability zones (the host lives in
// one, the other keeps endpoints and a replacement host possible), outbound through one NAT
// gateway, S3 through a gateway endpoint and SSM through interface endpoints (administration
// never needs SSH from a network). PostgreSQL is reachable only from the application's
// security groups and ranges; an isolation group with no rules at all waits for incidents.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { subnetCidrs } from "../network/cidr";
import { childName } from "../naming";

export interface NetworkArgs {
  /** The VPC's range. Required (the stack config defaults it to 10.20.0.0/16). */
  cidr: string;
  /** Region, for endpoint service names. Required. */
  region: string;
  /** Outbound internet through one NAT gateway in a public subnet. Default true. */
  natGateway?: boolean;
  /** SSM (ssm, ssmmessages, ec2messages) and CloudWatch (monitoring) interface endpoints. Default true. */
  interfaceEndpoints?: boolean;
  /** Ranges allowed to connect to 5432. Default none. */
  applicationCidrs?: string[];
  /** Security groups allowed to connect to 5432. Default none. */
  applicationSecurityGroupIds?: string[];
  /** Peering with the application's VPC; its range may connect and gets routes both ways. Default none. */
  applicationPeering?: { vpcId: string; cidr: string; routeTableIds: string[] };
  /** The bastion's group, the only source allowed on port 22. Default none (SSM only). */
  bastionSecurityGroupId?: string;
  /** Provider used for the availability-zone lookup. Default: the component's. */
  provider?: aws.Provider;
}

export class Network extends pulumi.ComponentResource {
  readonly vpcId: pulumi.Output<string>;
  readonly privateSubnetIds: pulumi.Output<string>[];
  readonly availabilityZones: pulumi.Output<string>[];
  readonly privateRouteTableId: pulumi.Output<string>;
  readonly databaseSecurityGroupId: pulumi.Output<string>;
  readonly isolationSecurityGroupId: pulumi.Output<string>;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fp-dr:site:Network", name, {}, opts);
    const parent = { parent: this };
    const n = (part: string) => childName(name, part);
    const nat = args.natGateway ?? true;

    const zones = aws.getAvailabilityZonesOutput({ state: "available" }, { parent: this, provider: args.provider });
    this.availabilityZones = [0, 1].map((i) =>
      zones.names.apply((names) => {
        if (names.length < 2) throw new Error(`region ${args.region} offers ${names.length} availability zone(s); a site needs two`);
        return names[i];
      }),
    );
    // /16 → four /20s: two private, two public (the public ones hold only the NAT gateway).
    const [privateA, privateB, publicA, publicB] = subnetCidrs(args.cidr, 4, 4);

    const vpc = new aws.ec2.Vpc(n("vpc"), { cidrBlock: args.cidr, enableDnsHostnames: true, enableDnsSupport: true, tags: { Name: n("vpc") } }, parent);
    this.vpcId = vpc.id;

    const privateSubnets = [privateA, privateB].map(
      (cidr, i) =>
        new aws.ec2.Subnet(n(`private-${i}`), { vpcId: vpc.id, cidrBlock: cidr, availabilityZone: this.availabilityZones[i], mapPublicIpOnLaunch: false, tags: { Name: n(`private-${i}`) } }, parent),
    );
    this.privateSubnetIds = privateSubnets.map((s) => s.id);
    const privateRoutes = new aws.ec2.RouteTable(n("private-routes"), { vpcId: vpc.id, tags: { Name: n("private-routes") } }, parent);
    this.privateRouteTableId = privateRoutes.id;
    privateSubnets.forEach((s, i) => new aws.ec2.RouteTableAssociation(n(`private-${i}-routes`), { subnetId: s.id, routeTableId: privateRoutes.id }, parent));

    if (nat) {
      const igw = new aws.ec2.InternetGateway(n("igw"), { vpcId: vpc.id, tags: { Name: n("igw") } }, parent);
      const publicRoutes = new aws.ec2.RouteTable(n("public-routes"), { vpcId: vpc.id, tags: { Name: n("public-routes") } }, parent);
      new aws.ec2.Route(n("public-default"), { routeTableId: publicRoutes.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id }, parent);
      const publicSubnets = [publicA, publicB].map(
        (cidr, i) =>
          new aws.ec2.Subnet(n(`public-${i}`), { vpcId: vpc.id, cidrBlock: cidr, availabilityZone: this.availabilityZones[i], mapPublicIpOnLaunch: false, tags: { Name: n(`public-${i}`) } }, parent),
      );
      publicSubnets.forEach((s, i) => new aws.ec2.RouteTableAssociation(n(`public-${i}-routes`), { subnetId: s.id, routeTableId: publicRoutes.id }, parent));
      // One NAT gateway: the host needs the internet only to install packages at boot.
      const eip = new aws.ec2.Eip(n("nat-ip"), { domain: "vpc", tags: { Name: n("nat-ip") } }, parent);
      const gw = new aws.ec2.NatGateway(n("nat"), { subnetId: publicSubnets[0].id, allocationId: eip.id, tags: { Name: n("nat") } }, { parent: this, dependsOn: [igw] });
      new aws.ec2.Route(n("private-default"), { routeTableId: privateRoutes.id, destinationCidrBlock: "0.0.0.0/0", natGatewayId: gw.id }, parent);
    }

    // Backups travel to this region's S3 without leaving AWS's network.
    new aws.ec2.VpcEndpoint(n("s3"), { vpcId: vpc.id, serviceName: `com.amazonaws.${args.region}.s3`, vpcEndpointType: "Gateway", routeTableIds: [privateRoutes.id], tags: { Name: n("s3") } }, parent);

    // The database host's group: 5432 from the application only; 22 only from a bastion.
    const db = new aws.ec2.SecurityGroup(n("database"), { vpcId: vpc.id, description: "PostgreSQL host: 5432 from the application only", tags: { Name: n("database") } }, parent);
    this.databaseSecurityGroupId = db.id;
    const sources = [...(args.applicationCidrs ?? []), ...(args.applicationPeering ? [args.applicationPeering.cidr] : [])];
    [...new Set(sources)].forEach(
      (cidr, i) =>
        new aws.vpc.SecurityGroupIngressRule(n(`database-from-cidr-${i}`), { securityGroupId: db.id, ipProtocol: "tcp", fromPort: 5432, toPort: 5432, cidrIpv4: cidr, description: "PostgreSQL from the application network" }, parent),
    );
    (args.applicationSecurityGroupIds ?? []).forEach(
      (sg, i) =>
        new aws.vpc.SecurityGroupIngressRule(n(`database-from-app-${i}`), { securityGroupId: db.id, ipProtocol: "tcp", fromPort: 5432, toPort: 5432, referencedSecurityGroupId: sg, description: "PostgreSQL from the application's security group" }, parent),
    );
    if (args.bastionSecurityGroupId) {
      new aws.vpc.SecurityGroupIngressRule(n("database-ssh-from-bastion"), { securityGroupId: db.id, ipProtocol: "tcp", fromPort: 22, toPort: 22, referencedSecurityGroupId: args.bastionSecurityGroupId, description: "SSH from the bastion only" }, parent);
    }
    // Outbound: HTTPS (AWS APIs, toolkit) and HTTP (Debian mirrors sign their packages).
    for (const port of [443, 80]) {
      new aws.vpc.SecurityGroupEgressRule(n(`database-out-${port}`), { securityGroupId: db.id, ipProtocol: "tcp", fromPort: port, toPort: port, cidrIpv4: "0.0.0.0/0", description: `outbound ${port}` }, parent);
    }

    // Swapped onto the host during a security incident: no rule at all, in or out.
    const isolation = new aws.ec2.SecurityGroup(n("isolation"), { vpcId: vpc.id, description: "incident isolation: no ingress, no egress", ingress: [], egress: [], tags: { Name: n("isolation") } }, parent);
    this.isolationSecurityGroupId = isolation.id;

    if (args.interfaceEndpoints ?? true) {
      const endpoints = new aws.ec2.SecurityGroup(n("endpoints"), { vpcId: vpc.id, description: "interface endpoints: HTTPS from the VPC", tags: { Name: n("endpoints") } }, parent);
      new aws.vpc.SecurityGroupIngressRule(n("endpoints-https"), { securityGroupId: endpoints.id, ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: args.cidr, description: "HTTPS from the site VPC" }, parent);
      for (const service of ["ssm", "ssmmessages", "ec2messages", "monitoring"]) {
        new aws.ec2.VpcEndpoint(
          n(service),
          {
            vpcId: vpc.id,
            serviceName: `com.amazonaws.${args.region}.${service}`,
            vpcEndpointType: "Interface",
            privateDnsEnabled: true,
            subnetIds: this.privateSubnetIds,
            securityGroupIds: [endpoints.id],
            tags: { Name: n(service) },
          },
          parent,
        );
      }
    }

    if (args.applicationPeering) {
      const p = args.applicationPeering;
      const peering = new aws.ec2.VpcPeeringConnection(n("application-peering"), { vpcId: vpc.id, peerVpcId: p.vpcId, autoAccept: true, tags: { Name: n("application-peering") } }, parent);
      new aws.ec2.Route(n("to-application"), { routeTableId: privateRoutes.id, destinationCidrBlock: p.cidr, vpcPeeringConnectionId: peering.id }, parent);
      p.routeTableIds.forEach((rt, i) => new aws.ec2.Route(n(`from-application-${i}`), { routeTableId: rt, destinationCidrBlock: args.cidr, vpcPeeringConnectionId: peering.id }, parent));
    }

    this.registerOutputs({ vpcId: this.vpcId, databaseSecurityGroupId: this.databaseSecurityGroupId, isolationSecurityGroupId: this.isolationSecurityGroupId });
  }
}
