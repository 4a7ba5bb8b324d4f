// The lab's secrets, generated once at `dr lab up` and kept in <lab>/secrets.json (0600).
// Loading them registers each value for redaction, so none can leak into output or logs.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { z } from "zod";
import { DrError } from "../../core/errors";
import { registerSecret } from "../../core/redact";

export const labSecretsSchema = z.object({
  /** Superuser (the service user's role) password for TCP connections. */
  superuserPassword: z.string().min(16),
  /** The application role's password. */
  appPassword: z.string().min(16),
  /** The read-only verifier role's password. */
  verifierPassword: z.string().min(16),
  /** pgBackRest repo1 / repo2 AES-256 passphrases. */
  repo1CipherPass: z.string().min(32),
  repo2CipherPass: z.string().min(32),
  /** The offsite object store's key pair (the lab store checks the key id only). */
  s3AccessKey: z.string().min(16),
  s3SecretKey: z.string().min(32),
  /** The standby's replication role (streaming from the primary); added to older labs by `dr lab up`. */
  replicationPassword: z.string().min(16).optional(),
});
export type LabSecrets = z.infer<typeof labSecretsSchema>;

function token(bytes: number): string {
  return randomBytes(bytes).toString("base64url");
}

export function generateSecrets(): LabSecrets {
  return {
    superuserPassword: token(24),
    appPassword: token(24),
    verifierPassword: token(24),
    repo1CipherPass: token(48),
    repo2CipherPass: token(48),
    s3AccessKey: `FPDRLAB${randomBytes(8).toString("hex").toUpperCase()}`,
    s3SecretKey: token(30),
    replicationPassword: token(24),
  };
}

export function registerAll(s: LabSecrets): void {
  for (const v of Object.values(s)) if (v) registerSecret(v);
}

export function saveSecrets(path: string, s: LabSecrets): void {
  writeFileSync(path, JSON.stringify(s, null, 2) + "\n", { mode: 0o600 });
  registerAll(s);
}

export function loadSecrets(path: string): LabSecrets {
  if (!existsSync(path)) {
    throw new DrError("LAB_NOT_UP", `the lab has no secrets file at ${path}`, { hint: "run `dr lab up` first" });
  }
  const parsed = labSecretsSchema.safeParse(JSON.parse(readFileSync(path, "utf8")));
  if (!parsed.success) {
    throw new DrError("CONFIG_INVALID", `${path} is damaged`, { hint: "run `dr lab down --purge` and `dr lab up` to rebuild the lab" });
  }
  registerAll(parsed.data);
  return parsed.data;
}
