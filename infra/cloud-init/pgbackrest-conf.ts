// pgbackrest.conf of a site's host: repo1 is this region's bucket, repo2 the offsite bucket in
// the other region (written directly, so the offsite copy does not wait on replication), both
// reached with the instance role (IMDSv2) and encrypted with the passphrase escrowed in Secrets
// Manager. The file is rendered into user data with a placeholder for the passphrase, which the
// bootstrap reads from its region's copy of the secret; user data never holds it.
// The text itself comes from the one renderer the lab uses too (automation/pgbackrest).
import { renderPgbackrestConf as renderConf, type RepoSpec } from "../../automation/pgbackrest/config-file";
import { cipherPassPlaceholder, hostPaths, type HostSpec, type RepositorySpec } from "./host-spec";

function repo(index: 1 | 2, r: RepositorySpec, spec: HostSpec): RepoSpec {
  return {
    index,
    type: "s3",
    path: r.path,
    s3: {
      bucket: r.bucket,
      region: r.region,
      endpoint: `s3.${r.region}.amazonaws.com`,
      uriStyle: "host",
      verifyTls: true,
      // Temporary credentials of the instance profile, fetched through IMDSv2.
      keyType: "auto",
    },
    // A placeholder: the bootstrap fills in the passphrase it reads from Secrets Manager.
    cipherPass: spec.cipherPassSecret ? cipherPassPlaceholder : undefined,
    retentionFull: r.retention.full,
    retentionDiff: r.retention.diff,
  };
}

export function renderPgbackrestConf(spec: HostSpec): string {
  return renderConf({
    header: "# fp-dr: managed by Pulumi (infra/cloud-init/pgbackrest-conf.ts). Contains the repository passphrase.",
    stanza: spec.stanza,
    pgPath: hostPaths.dataDir,
    pgPort: 5432,
    pgSocketPath: "/var/run/postgresql",
    repos: [repo(1, spec.repo1, spec), ...(spec.repo2 ? [repo(2, spec.repo2, spec)] : [])],
    logPath: hostPaths.pgbackrestLog,
    lockPath: "/tmp/pgbackrest",
    spoolPath: hostPaths.spool,
    tuning: spec.pgbackrest,
    archiveAsync: spec.writer && spec.pgbackrest.archiveAsync,
    logLevelFile: "detail",
    // Hosts never delete from the repositories (the bucket policy denies it): retention is
    // applied by `pgbackrest expire` run with operator credentials, not after each backup.
    expireAuto: false,
  });
}
