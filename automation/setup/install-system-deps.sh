#!/usr/bin/env bash
# Installs what fp-dr needs from Debian's packages: the PostgreSQL 15 server (contrib modules
# amcheck and pg_stat_statements ship with it), pgBackRest and openssl. Idempotent: does
# nothing when everything is present. Needs root (or prints the command to run with sudo).
set -euo pipefail

need=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15 postgresql-client-15)
command -v pgbackrest >/dev/null 2>&1 || need+=(pgbackrest)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
getent passwd postgres >/dev/null 2>&1 || need+=(postgresql-common)

if [ ${#need[@]} -eq 0 ]; then
  echo "system packages: all present (PostgreSQL 15, pgBackRest, openssl)"
  exit 0
fi

echo "system packages to install: ${need[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "error: installing system packages needs root" >&2
  echo "hint: sudo apt-get update && sudo apt-get install -y ${need[*]}" >&2
  exit 3
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The Debian package would create and start a default cluster on 5432; the lab makes its own.
mkdir -p /etc/postgresql-common/createcluster.d
echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/fp-dr.conf
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "system packages: installed ${need[*]}"
