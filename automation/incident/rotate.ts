// Rotating database credentials after a compromise: every login role of the restored site gets
// a new password in one transaction. Passwords never reach the server in clear text: what is
// sent is the SCRAM-SHA-256 verifier computed here (as psql's \password does), so neither the
// server log nor pg_stat_statements can show them. Roles fp-dr does not manage (the restored
// backup may hold roles an attacker created before the recovery point) get no password at all:
// they cannot log in until someone who knows what they are sets one.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import type { Client, ClientConfig } from "pg";
import { connect, errorText, quoteIdent, quoteLiteral } from "../postgres/client";

export function newPassword(): string {
  return randomBytes(24).toString("base64url");
}

/** PostgreSQL's stored form of a SCRAM-SHA-256 password (RFC 5802/7677; 4096 iterations). */
export function scramVerifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password.normalize("NFKC"), salt, iterations, 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}

export interface RoleRotation {
  rotated: string[];
  locked: string[];
}

export interface RotateOptions {
  /**
   * Runs after every ALTER ROLE and before COMMIT, with what is about to be committed: where
   * the new passwords must be stored before they take effect (the pulumi engine writes them
   * into the stack's secret config). If it throws, the transaction is rolled back.
   */
  beforeCommit?: (rotation: RoleRotation) => Promise<void>;
}

/**
 * In one transaction: `known` roles get their new password, every other login role loses its
 * password. `known` roles that do not exist on the site are left out (reported by absence).
 */
export async function rotateLoginRoles(admin: Client, known: Record<string, string>, opts: RotateOptions = {}): Promise<RoleRotation> {
  const roles = (await admin.query<{ rolname: string }>("select rolname from pg_roles where rolcanlogin order by rolname")).rows.map((r) => r.rolname);
  const rotated: string[] = [];
  const locked: string[] = [];
  await admin.query("begin");
  try {
    for (const role of roles) {
      if (known[role] !== undefined) {
        await admin.query(`alter role ${quoteIdent(role)} password ${quoteLiteral(scramVerifier(known[role]))}`);
        rotated.push(role);
      } else {
        await admin.query(`alter role ${quoteIdent(role)} password null`);
        locked.push(role);
      }
    }
    await opts.beforeCommit?.({ rotated: [...rotated], locked: [...locked] });
    await admin.query("commit");
  } catch (e) {
    await admin.query("rollback").catch(() => undefined);
    throw e;
  }
  return { rotated, locked };
}

/** Whether a login with these credentials is refused for a wrong password (28P01) or accepted. */
export async function tryLogin(config: ClientConfig): Promise<"accepted" | "refused" | string> {
  let c: Client;
  try {
    c = await connect({ ...config, connectionTimeoutMillis: 5000 }, "fp-dr login check");
  } catch (e) {
    const code = (e as { code?: string }).code;
    return code === "28P01" ? "refused" : `failed (${errorText(e)})`;
  }
  await c.end().catch(() => undefined);
  return "accepted";
}
