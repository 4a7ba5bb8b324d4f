// Route 53 failover records for the database service name, created ahead of any outage and
// owned by the secondary stack: PRIMARY (with a health check) answers while the primary is
// healthy, SECONDARY otherwise. The health check watches the primary's "database unavailable"
// alarm by name and region (the database is private: Route 53's checkers cannot reach it),
// and treats "no data" as unhealthy, so a region that stops reporting fails over. Nothing
// here is a resource in the primary region. `activeSite` forces both records to one site:
// the automation's verified swap, independent of health checks.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { failoverAnswers, type ActiveSite } from "../dns-answers";
import { childName } from "../naming";

export interface FailoverDnsArgs {
  /** Hosted zone of the service name. Required. */
  zoneId: string;
  /** The name the application connects to. Required. */
  serviceName: string;
  /** Record TTL in seconds. Default 30. */
  ttl?: number;
  /** "auto" (Route 53 decides), or force every answer to "primary" / "secondary". Default "auto". */
  activeSite?: ActiveSite;
  /** The primary's address (from its stack's outputs). Required. */
  primaryAddress: pulumi.Input<string>;
  /** The secondary's address. Required. */
  secondaryAddress: pulumi.Input<string>;
  /** Name of the primary's database-unavailable alarm. Required. */
  primaryAlarmName: string;
  /** Region of that alarm (the primary region; referenced, not provisioned). Required. */
  primaryAlarmRegion: string;
}

export class FailoverDns extends pulumi.ComponentResource {
  readonly healthCheckId: pulumi.Output<string>;
  readonly primaryAnswer: pulumi.Output<string>;
  readonly secondaryAnswer: pulumi.Output<string>;

  constructor(name: string, args: FailoverDnsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fp-dr:site:FailoverDns", name, {}, opts);
    const n = (part: string) => childName(name, part);
    const parent = { parent: this };
    const active = args.activeSite ?? "auto";

    const check = new aws.route53.HealthCheck(
      n("primary-health"),
      {
        type: "CLOUDWATCH_METRIC",
        cloudwatchAlarmName: args.primaryAlarmName,
        cloudwatchAlarmRegion: args.primaryAlarmRegion,
        insufficientDataHealthStatus: "Unhealthy",
        tags: { Name: n("primary-health") },
      },
      parent,
    );
    this.healthCheckId = check.id;

    // Forced: both records give the chosen site, whatever the health check says.
    const { primaryRecord: primaryAnswer, secondaryRecord: secondaryAnswer } = failoverAnswers(active, args.primaryAddress, args.secondaryAddress);
    this.primaryAnswer = pulumi.output(primaryAnswer);
    this.secondaryAnswer = pulumi.output(secondaryAnswer);
    const record = (role: "PRIMARY" | "SECONDARY", address: pulumi.Input<string>, healthCheckId?: pulumi.Input<string>) =>
      new aws.route53.Record(
        n(role.toLowerCase()),
        {
          zoneId: args.zoneId,
          name: args.serviceName,
          type: "A",
          ttl: args.ttl ?? 30,
          setIdentifier: role.toLowerCase(),
          failoverRoutingPolicies: [{ type: role }],
          records: [address],
          healthCheckId,
        },
        parent,
      );
    record("PRIMARY", primaryAnswer, check.id);
    record("SECONDARY", secondaryAnswer);
    this.registerOutputs({ healthCheckId: this.healthCheckId });
  }
}
