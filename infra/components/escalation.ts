// The runbook's escalation matrix as Incident Manager resources: a personal contact (with its
// channels and engagement plan) per person, an escalation plan whose stages are the matrix's
// time bands, and a response plan per incident-opening severity. Critical alarms start the
// critical response plan, which engages the whole escalation and notifies the critical topic.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { Escalation as EscalationMatrix } from "../../automation/config/common";
import { escalationStages, severityImpact } from "../escalation-plan";
import { childName, siteName } from "../naming";

export interface PersonContact {
  /** Incident Manager alias (unique in the account). Required. */
  alias: string;
  /** Friendly name. Default: the contact name used in the matrix. */
  displayName?: string;
  /** How to reach the person; each channel must be activated once by its owner. Required. */
  channels: { type: "EMAIL" | "SMS" | "VOICE"; address: string }[];
}

export interface EscalationArgs {
  /** Environment, for aliases and plan names. Required. */
  environment: string;
  /** Site, for aliases and plan names. Required. */
  site: string;
  /** The matrix (runbook defaults). Required. */
  matrix: EscalationMatrix;
  /** People by the contact names the matrix uses. Required. */
  contacts: Record<string, PersonContact>;
  /** Topic notified by incidents (the critical one). Required. */
  notificationTopicArn: pulumi.Input<string>;
  /** Declare the account's replication set in these regions. Default: not declared. */
  replicationRegions?: string[];
}

const aliasOf = (text: string) => text.toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "");

export class Escalation extends pulumi.ComponentResource {
  readonly escalationPlanArn: pulumi.Output<string>;
  readonly responsePlanArns: { critical: pulumi.Output<string>; warning: pulumi.Output<string> };

  constructor(name: string, args: EscalationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fp-dr:site:Escalation", name, {}, opts);
    const n = (part: string) => childName(name, part);
    const prefix = siteName(args.environment, args.site);
    const dependsOn: pulumi.Resource[] = [];
    if (args.replicationRegions?.length) {
      // One per account: Incident Manager keeps its data in these regions.
      dependsOn.push(new aws.ssmincidents.ReplicationSet(n("replication-set"), { regions: args.replicationRegions.map((r) => ({ name: r })) }, { parent: this }));
    }
    const o = { parent: this, dependsOn };

    const stages = escalationStages(args.matrix);
    const people = new Map<string, aws.ssmcontacts.Contact>();
    for (const stage of stages) {
      if (people.has(stage.contact)) continue;
      const person = args.contacts[stage.contact];
      if (!person) throw new Error(`escalation contact "${stage.contact}" has no entry in incidentManager.contacts`);
      const key = aliasOf(stage.contact);
      const contact = new aws.ssmcontacts.Contact(n(`contact-${key}`), { alias: person.alias, displayName: person.displayName ?? stage.contact, type: "PERSONAL" }, o);
      const channels = person.channels.map(
        (c, i) =>
          new aws.ssmcontacts.ContactChannel(n(`contact-${key}-${i}`), { contactId: contact.arn, name: `${c.type.toLowerCase()}-${i}`, type: c.type, deliveryAddress: { simpleAddress: c.address } }, o),
      );
      new aws.ssmcontacts.Plan(
        n(`contact-${key}-engagement`),
        { contactId: contact.arn, stages: [{ durationInMinutes: 0, targets: channels.map((ch) => ({ channelTargetInfo: { contactChannelId: ch.arn, retryIntervalInMinutes: 5 } })) }] },
        o,
      );
      people.set(stage.contact, contact);
    }

    const escalation = new aws.ssmcontacts.Contact(n("escalation"), { alias: `${prefix}-escalation`, displayName: `fp-dr ${args.environment} ${args.site} escalation`, type: "ESCALATION" }, o);
    new aws.ssmcontacts.Plan(
      n("escalation-plan"),
      {
        contactId: escalation.arn,
        stages: stages.map((s) => ({
          durationInMinutes: s.durationInMinutes,
          targets: [{ contactTargetInfo: { contactId: people.get(s.contact)!.arn, isEssential: false } }],
        })),
      },
      o,
    );
    this.escalationPlanArn = escalation.arn;

    const responsePlan = (severity: "critical" | "warning", engagements: pulumi.Input<string>[]) =>
      new aws.ssmincidents.ResponsePlan(
        n(`response-${severity}`),
        {
          name: `${prefix}-${severity}`,
          displayName: `fp-dr ${args.environment} ${args.site}: ${severity} database alert`,
          incidentTemplate: {
            title: `fp-dr ${args.environment} ${args.site}: ${severity} database alert`,
            impact: severityImpact[severity]!,
            summary: "Follow the runbook's initial assessment: STOP, assess with `dr health --json`, determine the impact level.",
            notificationTargets: [{ snsTopicArn: args.notificationTopicArn }],
            incidentTags: { "fp-dr:severity": severity, "fp-dr:site": args.site },
          },
          engagements,
        },
        o,
      );
    // Critical: the whole matrix. Warning (respond within 4 hours): the first stage only.
    const first = people.get(stages[0].contact)!;
    this.responsePlanArns = {
      critical: responsePlan("critical", [escalation.arn]).arn,
      warning: responsePlan("warning", [first.arn]).arn,
    };
    this.registerOutputs({ escalationPlanArn: this.escalationPlanArn });
  }
}
