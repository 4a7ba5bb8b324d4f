// The pgBackRest repository passphrase, escrowed in Secrets Manager. Every backup is encrypted
// with it; as a Pulumi secret only, losing the state backend or its secrets key would make
// every backup unreadable. The secret has a replica of the same name in the other region, so
// the standby's host, a drill and an operator read it there while the primary region is down.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { childName } from "../naming";

export interface PassphraseEscrowArgs {
  /** Secret name (infra/naming.ts cipherPassSecretName). Required. */
  secretName: string;
  /** The passphrase (a Pulumi secret). Required. */
  passphrase: pulumi.Input<string>;
  /** Regions holding a read replica. Default none. */
  replicaRegions?: string[];
  /** Pulumi `protect` on the secret. Default true. */
  protect?: boolean;
}

export class PassphraseEscrow extends pulumi.ComponentResource {
  readonly secretArn: pulumi.Output<string>;

  constructor(name: string, args: PassphraseEscrowArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fp-dr:site:PassphraseEscrow", name, {}, opts);
    const secret = new aws.secretsmanager.Secret(
      childName(name, "secret"),
      {
        name: args.secretName,
        description: "fp-dr pgBackRest repository passphrase (every backup is encrypted with it)",
        // The longest recovery window: a deleted passphrase can be restored for 30 days.
        recoveryWindowInDays: 30,
        replicas: (args.replicaRegions ?? []).map((region) => ({ region })),
      },
      { parent: this, protect: args.protect ?? true },
    );
    new aws.secretsmanager.SecretVersion(childName(name, "value"), { secretId: secret.id, secretString: args.passphrase }, { parent: this });
    this.secretArn = secret.arn;
    this.registerOutputs({ secretArn: this.secretArn });
  }
}
