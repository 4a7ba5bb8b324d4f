// Credential rotation on the lab after a compromise.
//   database   every login role of the restored site (superuser, app, verifier: new passwords,
//              saved in secrets.json; any other login role: no password), then proven: each
//              old password is refused and each new one accepted, over the network
//   repository the offsite store's S3 key pair (the compromised host's pgbackrest.conf held it):
//              a new pair, the store restarted with only that pair, every site's pgbackrest.conf
//              rewritten EXCEPT the isolated ones, then proven with pgBackRest itself: the old
//              configuration is refused (InvalidAccessKeyId), the new one reads the repository
// New secrets are written to a pending file before anything changes and moved into
// secrets.json after, so a run killed in between resumes with the same new values.
import { chownSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "pg";
import { DrError } from "../../../core/errors";
import { connect } from "../../../postgres/client";
import type { CredentialRotation } from "../../../incident/types";
import { Lab } from "../lab";
import { REPLICATION_ROLE, refreshStandbyPassfiles } from "../standby";
import { startObjectStore } from "../object-store";
import { generateSecrets, loadSecrets, registerAll, type LabSecrets } from "../secrets";
import { sitePgbackrestSpec, writeSitePgbackrestConf } from "../site";
import { writeLabState } from "../state";
import { renderPgbackrestConf } from "../../../pgbackrest/config-file";
import { Pgbackrest } from "../../../pgbackrest/client";
import { isolatedFor } from "../markers";
import { newPassword, rotateLoginRoles, tryLogin } from "../../../incident/rotate";

function pendingFile(lab: Lab, purpose: string): string {
  return join(lab.layout.root, `secrets.next-${purpose}.json`);
}

/** The new values of this rotation: from a killed attempt, or made now and saved first. */
function pending(lab: Lab, purpose: string, make: () => Partial<LabSecrets>): Partial<LabSecrets> {
  const file = pendingFile(lab, purpose);
  if (existsSync(file)) {
    const values = JSON.parse(readFileSync(file, "utf8")) as Partial<LabSecrets>;
    registerAll({ ...lab.secrets, ...values });
    return values;
  }
  const values = make();
  registerAll({ ...lab.secrets, ...values });
  writeFileSync(file, JSON.stringify(values, null, 2) + "\n", { mode: 0o600 });
  return values;
}

/** Moves the new values into secrets.json (atomically) and drops the pending file. */
function commit(lab: Lab, purpose: string, values: Partial<LabSecrets>): LabSecrets {
  const next = { ...loadSecrets(lab.layout.secretsFile), ...values } as LabSecrets;
  const tmp = `${lab.layout.secretsFile}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(next, null, 2) + "\n", { mode: 0o600 });
  renameSync(tmp, lab.layout.secretsFile);
  rmSync(pendingFile(lab, purpose), { force: true });
  registerAll(next);
  return next;
}

export async function rotateLabDatabaseCredentials(lab: Lab, siteName: string): Promise<CredentialRotation> {
  const site = lab.site(siteName);
  const old = lab.secrets;
  const purpose = `database-${siteName}`;
  // The standby's replication role is rotated too, never locked: locking it would cut the stream.
  const replicates = old.replicationPassword !== undefined;
  const values = pending(lab, purpose, () => ({ superuserPassword: newPassword(), appPassword: newPassword(), verifierPassword: newPassword(), ...(replicates ? { replicationPassword: newPassword() } : {}) }));
  const next = { ...old, ...values } as LabSecrets;
  const base = { host: site.address, port: site.port, database: lab.state.database };
  const superuser = lab.user.name;

  // 1. In as the superuser: with the old password, or the new one if a killed attempt got that far.
  let admin: Client | undefined;
  for (const password of [old.superuserPassword, next.superuserPassword]) {
    try {
      admin = await connect({ ...base, user: superuser, password, connectionTimeoutMillis: 5000 }, "fp-dr credential rotation");
      break;
    } catch {
      // refused: try the next password
    }
  }
  if (!admin) throw new DrError("QUERY_FAILED", `cannot log in to ${siteName} as ${superuser} with the old or the new password`, { hint: `the site's roles are in an unknown state; set a password on the console (psql on ${lab.layout.runDir(siteName)}) and run again` });

  // 2. Every login role, one transaction.
  let roles;
  try {
    roles = await rotateLoginRoles(admin, { [superuser]: next.superuserPassword, app: next.appPassword, verifier: next.verifierPassword, ...(replicates ? { [REPLICATION_ROLE]: next.replicationPassword! } : {}) });
  } finally {
    await admin.end().catch(() => undefined);
  }
  commit(lab, purpose, values);
  const passfiles = roles.rotated.includes(REPLICATION_ROLE) ? refreshStandbyPassfiles(Lab.open(lab.config), siteName) : [];

  // 3. Proof over the network: old refused, new accepted, for each managed role.
  const checks: string[] = [];
  const problems: string[] = [];
  for (const [role, oldPw, newPw] of [
    [superuser, old.superuserPassword, next.superuserPassword],
    ["app", old.appPassword, next.appPassword],
    ["verifier", old.verifierPassword, next.verifierPassword],
  ] as const) {
    if (!roles.rotated.includes(role)) continue;
    const before = oldPw === newPw ? "refused" : await tryLogin({ ...base, user: role, password: oldPw });
    const after = await tryLogin({ ...base, user: role, password: newPw });
    if (before !== "refused" || after !== "accepted") problems.push(`${role}: old password ${before}, new ${after}`);
    else checks.push(role);
  }
  if (problems.length) throw new DrError("INTERNAL", `credential rotation on ${siteName} did not take effect: ${problems.join("; ")}`, { hint: "the new passwords are in secrets.json; check the site's pg_hba.conf and roles" });
  return {
    scope: siteName,
    at: new Date().toISOString(),
    rotated: roles.rotated.map((r) => `role ${r}`),
    locked: roles.locked,
    proof: `old passwords refused and new ones accepted over the network for ${checks.join(", ")}${passfiles.length ? `; ${REPLICATION_ROLE}'s new password in the passfile of ${passfiles.join(", ")}` : ""}`,
    notRotated: [],
    withheldFrom: [],
  };
}

export async function rotateLabRepositoryAccess(lab: Lab, withhold: string[]): Promise<CredentialRotation> {
  const old = lab.secrets;
  const purpose = "repository";
  const values = pending(lab, purpose, () => {
    const fresh = generateSecrets();
    return { s3AccessKey: fresh.s3AccessKey, s3SecretKey: fresh.s3SecretKey };
  });

  // 1. The store accepts the new pair only (s3rver registers exactly the configured key id).
  const store = await startObjectStore({
    dir: lab.layout.objectStoreDir,
    bucket: lab.state.objectStore.bucket,
    port: lab.state.objectStore.port,
    accessKey: values.s3AccessKey,
    secretKey: values.s3SecretKey,
    caReader: lab.user,
  });
  if (store.port !== lab.state.objectStore.port) writeLabState(lab.layout.stateFile, { ...lab.state, objectStore: { ...lab.state.objectStore, port: store.port } });
  const next = commit(lab, purpose, values);

  // 2. Every site's configuration, except the compromised ones: they keep the revoked key.
  const withheld = lab.siteNames().filter((s) => withhold.includes(s) || isolatedFor(lab.layout.dataDir(s)) !== undefined);
  const ctx = { ...lab.ctx, secrets: next, state: { ...lab.state, objectStore: { ...lab.state.objectStore, port: store.port } } };
  const rewritten = lab.siteNames().filter((s) => !withheld.includes(s));
  for (const s of rewritten) writeSitePgbackrestConf(ctx, s);

  // 3. Proof with pgBackRest: a configuration with the old key (what the attacker holds) is refused…
  const tmp = mkdtempSync(join(lab.layout.root, "rotation-check-"));
  try {
    if (lab.user.switched) chownSync(tmp, lab.user.uid, lab.user.gid);
    const oldConf = join(tmp, "old.conf");
    const probeSite = rewritten[0] ?? lab.siteNames()[0];
    writeFileSync(oldConf, renderPgbackrestConf(sitePgbackrestSpec({ ...ctx, secrets: old }, probeSite)), { mode: 0o600 });
    if (lab.user.switched) chownSync(oldConf, lab.user.uid, lab.user.gid);
    const oldAnswer = await repoAnswer(new Pgbackrest({ configPath: oldConf, stanza: lab.state.stanza, user: lab.user }));
    if (!/InvalidAccessKeyId|403/.test(oldAnswer)) {
      throw new DrError("INTERNAL", `the old S3 key still reads the offsite repository (${oldAnswer})`, { hint: "the store did not restart with the new key pair; check object-store.json in the store directory" });
    }
    // …and the rewritten one reads it.
    const newAnswer = rewritten.length ? await repoAnswer(lab.site(rewritten[0]).pgbackrest) : "no site to check with";
    if (newAnswer !== "ok") throw new DrError("STORE_UNREACHABLE", `the new S3 key does not read the offsite repository: ${newAnswer}`, { hint: "check the object store's log (object-store.log)" });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  return {
    scope: "repository",
    at: new Date().toISOString(),
    rotated: [`offsite repository (repo2) S3 key pair: key id …${old.s3AccessKey.slice(-4)} revoked, …${next.s3AccessKey.slice(-4)} issued`],
    locked: [],
    proof: `pgBackRest with the old key is refused (InvalidAccessKeyId); with the new key it reads repo2; configurations rewritten for ${rewritten.join(", ") || "no site"}`,
    notRotated: [
      {
        what: "repository cipher passphrases (repo1, repo2)",
        why: "pgBackRest encrypts every backup file and the repository's info files with them and cannot change them for a stanza that exists: the backups taken so far can only be read with the old ones. They were on the compromised host, so every existing backup must be treated as readable by the attacker (confidentiality). Integrity does not rest on them: each set is checked by pgBackRest verify before it is restored, and on AWS object lock keeps existing objects immutable. Follow-up (not automated): a new repository path with a new stanza and passphrase for the new site, a full backup into it, the old repository kept read-only until its retention ends",
      },
      {
        what: "repo1 (the primary region's repository)",
        why: "on the lab it is a directory on this machine: access is file permissions, not a key, and the service user can still write it; on AWS it is a bucket the host reaches through its instance role",
      },
      {
        what: "the S3 secret key as a check",
        why: "the lab's store (s3rver) checks only the access key id, never the SigV4 signature, and accepts anonymous requests (README): a revoked key id is refused, but the lab cannot prove more than that",
      },
    ],
    withheldFrom: withheld,
  };
}

/** "ok" when pgBackRest reads repo2 with this configuration, else what it said. */
async function repoAnswer(pgb: Pgbackrest): Promise<string> {
  try {
    const info = await pgb.info({ repo: 2 });
    const status = info.repo.find((r) => r.key === 2)?.status ?? info.status;
    return status.code === 0 ? "ok" : status.message;
  } catch (e) {
    return (e as Error).message;
  }
}
