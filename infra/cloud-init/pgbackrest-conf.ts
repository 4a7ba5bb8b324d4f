// pgbackrest.conf of a site's host: repo1 is this region's bucket, repo2 the offsite bucket in
// the other region (written directly, so the offsite copy does not wait on replication), both
// reached with the instance role (IMDSv2) and encrypted with the passphrase from the stack's
// secret. The file is rendered into user data at deploy; nothing here is ever logged.
import { hostPaths, type HostSpec, type RepositorySpec } from "./host-spec";

function repoLines(n: 1 | 2, repo: RepositorySpec, spec: HostSpec): string[] {
  const p = `repo${n}`;
  const lines = [
    `${p}-type=s3`,
    `${p}-path=${repo.path}`,
    `${p}-s3-bucket=${repo.bucket}`,
    `${p}-s3-region=${repo.region}`,
    `${p}-s3-endpoint=s3.${repo.region}.amazonaws.com`,
    // Temporary credentials of the instance profile, fetched through IMDSv2.
    `${p}-s3-key-type=auto`,
    `${p}-retention-full=${repo.retention.full}`,
  ];
  if (repo.retention.diff !== undefined) lines.push(`${p}-retention-diff=${repo.retention.diff}`);
  if (spec.cipherPass !== undefined) {
    lines.push(`${p}-cipher-type=aes-256-cbc`, `${p}-cipher-pass=${spec.cipherPass}`);
  }
  return lines;
}

export function renderPgbackrestConf(spec: HostSpec): string {
  if (spec.cipherPass !== undefined && /[\r\n]/.test(spec.cipherPass)) throw new Error("the repository passphrase must be a single line");
  const t = spec.pgbackrest;
  const global = [
    ...repoLines(1, spec.repo1, spec),
    ...(spec.repo2 ? repoLines(2, spec.repo2, spec) : []),
    `process-max=${t.processMax}`,
    `compress-type=${t.compressType}`,
    ...(t.compressLevel !== undefined ? [`compress-level=${t.compressLevel}`] : []),
    `buffer-size=${t.bufferSize}`,
    `log-path=${hostPaths.pgbackrestLog}`,
    "log-level-file=detail",
    `spool-path=${hostPaths.spool}`,
    // Hosts never delete from the repositories (the bucket policy denies it): retention is
    // applied by `pgbackrest expire` run with operator credentials, not after each backup.
    "expire-auto=n",
  ];
  if (spec.writer && t.archiveAsync) {
    global.push("archive-async=y");
    if (t.archivePushQueueMax) global.push(`archive-push-queue-max=${t.archivePushQueueMax}`);
  }
  const lines = [
    "# fp-dr: managed by Pulumi (infra/cloud-init/pgbackrest-conf.ts). Contains the repository passphrase.",
    "[global]",
    ...global,
    "",
    `[${spec.stanza}]`,
    `pg1-path=${hostPaths.dataDir}`,
    "pg1-port=5432",
    "pg1-socket-path=/var/run/postgresql",
    "",
  ];
  return lines.join("\n");
}
