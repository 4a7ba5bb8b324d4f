// The repository passphrase from its escrow in Secrets Manager (infra/naming.ts
// cipherPassSecretName): read when the operator gives none locally, from the primary's region
// first and then from the replica in the other region, so a lost primary region (or a lost
// Pulumi backend) still leaves every backup readable. Registered for redaction as it is read;
// messages name the secret and the regions, never the value.
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { DrError } from "../../core/errors";
import { registerSecret } from "../../core/redact";

export interface EscrowRead {
  secretName: string;
  /** In order of preference: the secret's own region, then its replica's. */
  regions: string[];
  /** A client per region; default the SDK's, with the standard credential chain. */
  clientFor?: (region: string) => SecretsManagerClient;
}

export async function readEscrowedPassphrase(r: EscrowRead): Promise<string> {
  const clientFor = r.clientFor ?? ((region: string) => new SecretsManagerClient({ region, maxAttempts: 2 }));
  const failures: string[] = [];
  for (const region of [...new Set(r.regions)]) {
    const client = clientFor(region);
    try {
      const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: r.secretName }));
      const pass = SecretString?.split(/\r?\n/)[0];
      if (pass) {
        registerSecret(pass);
        return pass;
      }
      failures.push(`${region}: no value`);
    } catch (e) {
      // The SDK's error names the operation and the secret, not its value.
      failures.push(`${region}: ${(e as Error).name}`);
    } finally {
      client.destroy();
    }
  }
  throw new DrError("CONFIG_INVALID", `no repository passphrase given and its escrow ${r.secretName} could not be read (${failures.join("; ")})`, {
    hint: "allow secretsmanager:GetSecretValue on the escrow in either region, or export FP_DR_REPO_CIPHER_PASS",
  });
}
