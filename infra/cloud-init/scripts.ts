// Shell scripts installed on the host: the one-time bootstrap (mount the data volume, install
// PostgreSQL 15 and pgBackRest, create or adopt the cluster, create the stanza on the primary,
// start the timers), the event publisher behind the information alerts, and the writer check
// the backup units use. Bash, checked with `bash -n` by the tests.
import { shellQuote } from "../../automation/core/shell-words";
import { eventMetricCatalogue, metricNamespace, siteDimensions } from "../alarms/metrics";
import { cipherPassPlaceholder, hostPaths, type HostSpec } from "./host-spec";
import { renderUnits } from "./systemd";

/** The NVMe device of an EBS volume on Nitro instances: stable, unlike /dev/nvme1n1. */
export function dataDevicePath(volumeId: string): string {
  return `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${volumeId.replace("-", "")}`;
}

export function renderBootstrap(spec: HostSpec): string {
  const p = hostPaths;
  const timers = renderUnits(spec)
    .filter((u) => u.name.endsWith(".timer"))
    .map((u) => u.name);
  const toolkit =
    spec.toolkitUrl.startsWith("s3://")
      ? `aws s3 cp --region ${shellQuote(spec.region)} ${shellQuote(spec.toolkitUrl)} /tmp/fp-dr.tgz`
      : `curl --fail --silent --show-error --location --proto '=https' -o /tmp/fp-dr.tgz ${shellQuote(spec.toolkitUrl)}`;
  const ssmAgent = `https://s3.${spec.region}.amazonaws.com/amazon-ssm-${spec.region}/latest/debian_${spec.architecture === "arm64" ? "arm64" : "amd64"}/amazon-ssm-agent.deb`;
  const nodesource = `https://deb.nodesource.com/node_${p.nodeMajor}.x`;
  return `#!/bin/bash
# fp-dr: first-boot bootstrap of the ${spec.role} PostgreSQL host of site ${spec.site}.
# Managed by Pulumi (infra/cloud-init/scripts.ts). Idempotent: a re-run changes nothing.
# Output goes to /var/log/fp-dr-bootstrap.log; no secret is ever printed.
set -euo pipefail
exec >>/var/log/fp-dr-bootstrap.log 2>&1
export DEBIAN_FRONTEND=noninteractive
echo "bootstrap start $(date --iso-8601=seconds)"

# 1. The data volume is attached after the instance starts: wait for it (10 minutes at most).
device=${shellQuote(dataDevicePath(spec.dataVolumeId))}
for _ in $(seq 1 120); do [ -e "$device" ] && break; sleep 5; done
[ -e "$device" ] || { echo "data volume $device never appeared" >&2; exit 1; }

# 2. Format only a blank volume: a replaced host keeps the data of the old one.
blkid "$device" >/dev/null 2>&1 || mkfs.ext4 -q -L pgdata "$device"
mkdir -p ${p.dataMount}
grep -q ' ${p.dataMount} ' /etc/fstab || echo "$device ${p.dataMount} ext4 defaults,noatime,nofail 0 2" >>/etc/fstab
mountpoint -q ${p.dataMount} || mount ${p.dataMount}

# 3. PostgreSQL 15 and pgBackRest from Debian; Node.js ${p.nodeMajor} for dr from NodeSource's signed
#    repository (Debian 12's nodejs is 18, too old for the AWS SDK v3 and commander; its npm
#    package would pull that one back in); the SSM agent from this region's bucket.
apt-get update -q
apt-get install -y -q ca-certificates curl
install -d -m 0755 /etc/apt/keyrings
[ -s /etc/apt/keyrings/nodesource.asc ] || curl --fail --silent --show-error --location --proto '=https' -o /etc/apt/keyrings/nodesource.asc https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key
echo "deb [signed-by=/etc/apt/keyrings/nodesource.asc] ${nodesource} nodistro main" >/etc/apt/sources.list.d/nodesource.list
apt-get update -q
apt-get install -y -q -o Dpkg::Options::=--force-confold postgresql-${p.pgVersion} pgbackrest awscli nodejs ssl-cert
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge ${p.nodeMajor} ] || { echo "node $node_major installed, dr needs ${p.nodeMajor} or newer" >&2; exit 1; }
if ! systemctl is-enabled --quiet amazon-ssm-agent 2>/dev/null; then
  curl --fail --silent --show-error --location -o /tmp/amazon-ssm-agent.deb ${shellQuote(ssmAgent)}
  dpkg -i /tmp/amazon-ssm-agent.deb
  systemctl enable --now amazon-ssm-agent
fi

# 4. Create the cluster (initdb --data-checksums, our include) or adopt the one on the volume.
chown postgres:postgres ${p.dataMount}
if [ ! -d /etc/postgresql/${p.pgVersion}/${p.clusterName} ]; then
  pg_createcluster ${p.pgVersion} ${p.clusterName} --datadir=${p.dataDir}
fi

# 5. pgBackRest's configuration (holds the passphrase: postgres-only) and its directories. The
#    passphrase comes from this region's copy of the escrowed secret (a replica may lag the
#    primary's first write: retried for 5 minutes); it is never printed.
install -d -o postgres -g postgres -m 0750 /etc/pgbackrest ${p.spool} ${p.pgbackrestLog}
${
  spec.cipherPassSecret
    ? `for attempt in $(seq 1 30); do
  pass=$(aws secretsmanager get-secret-value --region ${shellQuote(spec.cipherPassSecret.region)} --secret-id ${shellQuote(spec.cipherPassSecret.name)} --query SecretString --output text) && break
  [ "$attempt" -lt 30 ] || { echo "cannot read the repository passphrase from Secrets Manager" >&2; exit 1; }
  sleep 10
done
printf '%s\n' "$pass" | ${p.installPgbackrestConf} ${p.pgbackrestConfStaged} ${p.pgbackrestConf} postgres
unset pass`
    : `${p.installPgbackrestConf} ${p.pgbackrestConfStaged} ${p.pgbackrestConf} postgres </dev/null`
}
rm -f ${p.pgbackrestConfStaged}

# 6. The fp-dr toolkit (dr health --publish).
${toolkit}
npm install --global --omit=optional --no-audit --no-fund /tmp/fp-dr.tgz

# 7. Start PostgreSQL with our settings.
systemctl enable postgresql@${p.pgVersion}-${p.clusterName}
systemctl restart postgresql@${p.pgVersion}-${p.clusterName}
${
  spec.role === "primary"
    ? `
# 8. The primary creates the stanza (a no-op when it exists for this cluster) and checks
#    archiving. A failure is logged, not fatal: the timers must still start, and the backup
#    alarms report a repository that does not work.
runuser -u postgres -- pgbackrest --stanza=${spec.stanza} stanza-create || echo "stanza-create failed: see ${hostPaths.pgbackrestLog}" >&2
runuser -u postgres -- pgbackrest --stanza=${spec.stanza} check || echo "pgbackrest check failed: see ${hostPaths.pgbackrestLog}" >&2
`
    : `
# 8. Not the primary: the stanza belongs to the primary's cluster; this host is restored into it.
`
}
# 9. The runbook's schedule.
systemctl daemon-reload
systemctl enable --now ${timers.join(" ")}
echo "bootstrap done $(date --iso-8601=seconds)"
`;
}

/** Publishes one event metric (BackupCompleted, MaintenanceCompleted) with the site's dimensions. */
export function renderEventScript(spec: HostSpec): string {
  const names = Object.keys(eventMetricCatalogue);
  const dims = Object.entries(siteDimensions(spec.environment, spec.site))
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  return `#!/bin/bash
# fp-dr: publishes an event metric for the information alerts (infra/alarms/metrics.ts).
set -euo pipefail
case "\${1:-}" in
  ${names.join("|")}) ;;
  *) echo "usage: $0 ${names.join("|")}" >&2; exit 2 ;;
esac
exec aws cloudwatch put-metric-data --region ${shellQuote(spec.region)} --namespace ${shellQuote(metricNamespace)} \\
  --metric-name "$1" --value 1 --unit Count --dimensions ${shellQuote(dims)}
`;
}

/**
 * Installs pgbackrest.conf from the staged file (args: staged, target, owner), with the
 * placeholder replaced by the passphrase on stdin (one line; none needed when the file has no
 * placeholder). Written 0640 for the owner through a temporary file, so a reader never sees
 * half a file; the passphrase is never echoed.
 */
export function renderInstallPgbackrestConfScript(): string {
  return `#!/bin/bash
# fp-dr: installs pgbackrest.conf with the repository passphrase read from stdin.
set -euo pipefail
# bash 5.2 would expand "&" in a replacement to the match; the passphrase is taken literally.
shopt -u patsub_replacement 2>/dev/null || true
staged=$1 target=$2 owner=$3
conf=$(<"$staged")
placeholder=${shellQuote(cipherPassPlaceholder)}
if [[ $conf == *"$placeholder"* ]]; then
  IFS= read -r pass || true
  [ -n "\${pass:-}" ] || { echo "no repository passphrase on stdin" >&2; exit 1; }
  if IFS= read -r _; then echo "the repository passphrase must be a single line" >&2; exit 1; fi
  conf=\${conf//"$placeholder"/$pass}
fi
umask 077
tmp=$(mktemp "$target.XXXXXX")
printf '%s\n' "$conf" >"$tmp"
chown "$owner:$owner" "$tmp"
chmod 0640 "$tmp"
mv -f "$tmp" "$target"
`;
}

/** Exit 0 when the local PostgreSQL is the writer; 1 (skip, not fail) for a standby or when down. */
export function renderIsWriterScript(): string {
  return `#!/bin/bash
# fp-dr: ExecCondition of the backup and maintenance units: run only on the writer.
state=$(/usr/bin/psql -XAtq -c 'select pg_is_in_recovery()' 2>/dev/null || true)
[ "$state" = "f" ]
`;
}
