// URNs of the few resources the engine updates on their own (`pulumi up --target`). They follow
// from the component tree in infra/components/site.ts: the Site component is named after the
// site, each child "<component>-<part>" (infra/naming.ts childName). A URN is
//   urn:pulumi:<stack>::<project>::<parent types joined by $>$<type>::<name>
// and the root pulumi:pulumi:Stack is not part of the type chain. Kept in one file so that a
// rename in infra/ breaks one place; ./urns.test.ts checks them against the real program.

/** The Pulumi project (Pulumi.yaml `name`). */
export const projectName = "fp-dr";

/** Resource types, as registered by infra/components and the provider packages. */
export const resourceTypes = {
  site: "fp-dr:site:Site",
  failoverDns: "fp-dr:site:FailoverDns",
  restore: "fp-dr:site:Restore",
  promote: "fp-dr:site:Promote",
  standbyStream: "fp-dr:site:StandbyStream",
  postgresHost: "fp-dr:site:PostgresHost",
  route53Record: "aws:route53/record:Record",
  remoteCommand: "command:remote:Command",
  ec2Instance: "aws:ec2/instance:Instance",
  ec2InstanceState: "aws:ec2transitgateway/instanceState:InstanceState",
  iamRolePolicy: "aws:iam/rolePolicy:RolePolicy",
  stackReference: "pulumi:pulumi:StackReference",
} as const;

/**
 * The stack part of a URN: a fully qualified name ("organization/fp-dr/secondary") contributes
 * only its last segment.
 */
export function urnStackName(stack: string): string {
  const parts = stack.split("/");
  return parts[parts.length - 1];
}

export function urn(stack: string, typeChain: readonly string[], name: string): string {
  return `urn:pulumi:${urnStackName(stack)}::${projectName}::${typeChain.join("$")}::${name}`;
}

/** The failover records of the service name (FailoverDns "<site>-dns" in the secondary stack). */
export function dnsRecordUrns(stack: string, site: string): string[] {
  const chain = [resourceTypes.site, resourceTypes.failoverDns, resourceTypes.route53Record];
  return [urn(stack, chain, `${site}-dns-primary`), urn(stack, chain, `${site}-dns-secondary`)];
}

/**
 * What moving the service name to a site updates: the two records, and the permissions of the
 * DNS stack's host, which may write the production repositories only while it is the active
 * site (a standby reads them; promoted, it archives and backs up into them).
 */
export function activeSiteUrns(stack: string, site: string): string[] {
  return [...dnsRecordUrns(stack, site), urn(stack, [resourceTypes.site, resourceTypes.postgresHost, resourceTypes.iamRolePolicy], `${site}-host-role-policy`)];
}

/**
 * The secondary stack's reference to the primary's outputs ("<site>-primary-stack"): read again
 * when the primary's host was replaced, so the primary record gets its new address.
 */
export function primaryStackReferenceUrn(stack: string, site: string): string {
  return urn(stack, [resourceTypes.site, resourceTypes.stackReference], `${site}-primary-stack`);
}

/**
 * The restore: the Restore component ("<site>-restore", new on a drill site, so it is targeted
 * too) and its remote.Command ("<site>-restore-pgbackrest"), which re-runs when the request changes.
 */
export function restoreUrns(stack: string, site: string): string[] {
  const component = [resourceTypes.site, resourceTypes.restore];
  return [urn(stack, component, `${site}-restore`), urn(stack, [...component, resourceTypes.remoteCommand], `${site}-restore-pgbackrest`)];
}

/** The PostgreSQL host's EC2 instance ("<site>-host-instance"): fencing swaps its security groups. */
export function instanceUrn(stack: string, site: string): string {
  return urn(stack, [resourceTypes.site, resourceTypes.postgresHost, resourceTypes.ec2Instance], `${site}-host-instance`);
}

/** A replacement host's EC2 instance ("<site>-replacement-instance", hardware failure). */
export function replacementInstanceUrn(stack: string, site: string): string {
  return urn(stack, [resourceTypes.site, resourceTypes.postgresHost, resourceTypes.ec2Instance], `${site}-replacement-instance`);
}

/** The stopped state of a host fenced with mode "stop" ("<site>-host-state", infra PostgresHost). */
function instanceStateUrn(stack: string, site: string): string {
  return urn(stack, [resourceTypes.site, resourceTypes.postgresHost, resourceTypes.ec2InstanceState], `${site}-host-state`);
}

/**
 * What a fence request (fp-dr:fence) changes, to update alone: the instance (its security
 * groups become the isolation group), and for "stop" the state resource that stops it (new,
 * so it is targeted too).
 */
export function fenceUrns(stack: string, site: string, mode: "isolate" | "stop"): string[] {
  return mode === "stop" ? [instanceUrn(stack, site), instanceStateUrn(stack, site)] : [instanceUrn(stack, site)];
}

/** A promotion: the Promote component ("<site>-promote") and its command ("<site>-promote-pg-promote"). */
export function promoteUrns(stack: string, site: string): string[] {
  const component = [resourceTypes.site, resourceTypes.promote];
  return [urn(stack, component, `${site}-promote`), urn(stack, [...component, resourceTypes.remoteCommand], `${site}-promote-pg-promote`)];
}

/** The standby's stream settings ("<site>-stream", command "<site>-stream-conninfo"), re-run after a restore. */
export function streamUrns(stack: string, site: string): string[] {
  const component = [resourceTypes.site, resourceTypes.standbyStream];
  return [urn(stack, component, `${site}-stream`), urn(stack, [...component, resourceTypes.remoteCommand], `${site}-stream-conninfo`)];
}
