// The host's configuration after its first boot: the host spec in an SSM parameter and an
// association that runs the host-apply document (infra/host-apply.ts) on the instance each
// time the spec's version changes. The instance's user data is left alone by a config change
// (PostgresHost ignores it after creation), so nothing reboots the database host.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { HostSpec } from "../cloud-init/host-spec";
import { hostApplyDocument, hostConfigVersion, hostSpecJson } from "../host-apply";
import { childName, hostSpecParameterName, siteName } from "../naming";

export interface HostConfigArgs {
  environment: string;
  site: string;
  /** The host's region (the parameter and document live there). Required. */
  region: string;
  /** What the host's files are rendered from. Required. */
  spec: pulumi.Input<HostSpec>;
  /** The instance the association targets. Required. */
  instanceId: pulumi.Input<string>;
}

export class HostConfig extends pulumi.ComponentResource {
  readonly parameterName: string;
  readonly version: pulumi.Output<string>;

  constructor(name: string, args: HostConfigArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fp-dr:site:HostConfig", name, {}, opts);
    const n = (part: string) => childName(name, part);
    const parent = { parent: this };
    const spec = pulumi.output(args.spec);
    this.parameterName = hostSpecParameterName(args.environment, args.site);
    this.version = spec.apply((s) => hostConfigVersion(s as HostSpec));

    // The spec holds no secret (the passphrase is a placeholder; the host reads its escrow).
    const parameter = new aws.ssm.Parameter(
      n("spec"),
      { name: this.parameterName, type: "String", tier: "Intelligent-Tiering", value: spec.apply((s) => hostSpecJson(s as HostSpec)), description: "fp-dr host spec (dr host apply)" },
      parent,
    );
    const document = new aws.ssm.Document(
      n("document"),
      { name: `${siteName(args.environment, args.site)}-host-apply`, documentType: "Command", documentFormat: "JSON", content: JSON.stringify(hostApplyDocument(args.region)) },
      parent,
    );
    // Runs when created and whenever its parameters change: a new version is a new run.
    new aws.ssm.Association(
      n("association"),
      {
        associationName: `${siteName(args.environment, args.site)}-host-apply`,
        name: document.name,
        targets: [{ key: "InstanceIds", values: [args.instanceId] }],
        parameters: { specParameter: parameter.name, configVersion: this.version },
        maxErrors: "0",
        maxConcurrency: "1",
      },
      parent,
    );
    this.registerOutputs({ parameterName: this.parameterName, version: this.version });
  }
}
