// Physical names that more than one stack must agree on without looking at each other: the
// primary's pgbackrest.conf names the secondary region's bucket, the secondary's DNS health
// check names the primary's "database unavailable" alarm, bucket policies name every site's
// host role. Deriving them here from (environment, site, region) means no stack needs a
// resource, provider or stack reference in another region to know them.

/** Every name starts with this, so IAM conditions can match "fp-dr-<environment>-*". */
export const namePrefix = "fp-dr";

/** "fp-dr-production": the prefix shared by everything of one environment. */
export function environmentPrefix(environment: string): string {
  return `${namePrefix}-${environment}`;
}

/** "fp-dr-production-primary": the prefix of one site's resources. */
export function siteName(environment: string, site: string): string {
  return `${environmentPrefix(environment)}-${site}`;
}

/**
 * The backup repository bucket of a region. Bucket names are global, so the account id is
 * part of the name (two accounts may both run "production"); S3 allows 63 characters.
 */
export function backupBucketName(environment: string, region: string, accountId: string): string {
  const name = `${environmentPrefix(environment)}-pgbackrest-${region}-${accountId}`;
  if (name.length > 63) throw new Error(`bucket name ${name} is longer than 63 characters; shorten the environment name`);
  return name;
}

/** The shared-state bucket (secondary stack, secondary region): leases, journals, control state. */
export function sharedStateBucketName(environment: string, region: string, accountId: string): string {
  const name = `${environmentPrefix(environment)}-shared-${region}-${accountId}`;
  if (name.length > 63) throw new Error(`bucket name ${name} is longer than 63 characters; shorten the environment name`);
  return name;
}

/** The Pulumi state backend's bucket (bootstrap stack), in a region; the replica's in the other. */
export function stateBucketName(environment: string, region: string, accountId: string): string {
  const name = `${environmentPrefix(environment)}-pulumi-state-${region}-${accountId}`;
  if (name.length > 63) throw new Error(`bucket name ${name} is longer than 63 characters; shorten the environment name`);
  return name;
}

/** KMS alias of the Pulumi secrets provider's key (awskms://), in both regions. */
export function secretsKeyAlias(environment: string): string {
  return `alias/${environmentPrefix(environment)}-pulumi-secrets`;
}

/** KMS alias of the backup key in a region; the host policy matches it with kms:ResourceAliases. */
export function backupKeyAlias(environment: string): string {
  return `alias/${environmentPrefix(environment)}-backups`;
}

/** IAM role of a site's PostgreSQL host. */
export function hostRoleName(environment: string, site: string): string {
  return `${siteName(environment, site)}-host`;
}

/** SSM parameter holding a site host's spec (what `dr host apply` renders the host's files from). */
export function hostSpecParameterName(environment: string, site: string): string {
  return `/${environmentPrefix(environment)}/${site}/host-spec`;
}

/** Matches every site's host role of the environment (bucket policies deny them deletes). */
export function hostRoleArnPattern(environment: string, accountId: string, partition = "aws"): string {
  return `arn:${partition}:iam::${accountId}:role/${environmentPrefix(environment)}-*-host`;
}

/**
 * The environment's break-glass role: the only principal the backup keys' policy lets schedule
 * deletion, disable the key or change its policy. Assumed by hand, with its own approval.
 */
export function breakGlassRoleName(environment: string): string {
  return `${environmentPrefix(environment)}-break-glass`;
}

/**
 * The repository passphrase's escrow in Secrets Manager: declared by the primary stack with a
 * replica of the same name in the secondary region, so each host (and an operator) reads it in
 * its own region, and it survives the loss of the Pulumi backend or its secrets key.
 */
export function cipherPassSecretName(environment: string): string {
  return `${namePrefix}/${environment}/repository-cipher-pass`;
}

/** CloudWatch alarm name; the secondary's DNS health check refers to the primary's by name. */
export function alarmName(environment: string, site: string, alarmId: string): string {
  return `${siteName(environment, site)}-${alarmId}`;
}

/** SNS topic of one severity at one site. */
export function topicName(environment: string, site: string, severity: string): string {
  return `${siteName(environment, site)}-${severity}`;
}

/** Pulumi logical name of a child: "<component>-<part>", as the style guide asks. */
export function childName(component: string, part: string): string {
  return `${component}-${part}`;
}
