#!/usr/bin/env bash
# Makes sure PostgreSQL answers at 127.0.0.1:5432 with trust auth and a database `test`
# (installs and starts it if needed). The PostgreSQL test suite never skips silently: if
# this fails, the tests fail.
set -euo pipefail
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  say "installing PostgreSQL from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
fi
if ! ready; then
  version=$(ls /etc/postgresql | sort -n | tail -n 1)
  say "starting PostgreSQL ${version}"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do ready && break; sleep 1; done
fi
ready || { echo "PostgreSQL is not answering at 127.0.0.1:5432" >&2; exit 1; }

# Trust auth for local TCP and a `test` database, as the tests expect.
if ! psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'SELECT 1' >/dev/null 2>&1; then
  version=$(ls /etc/postgresql | sort -n | tail -n 1)
  hba="/etc/postgresql/${version}/main/pg_hba.conf"
  say "allowing trust auth on 127.0.0.1 in ${hba}"
  sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  sleep 1
fi
if ! psql -h 127.0.0.1 -U postgres -d test -Atqc 'SELECT 1' >/dev/null 2>&1; then
  say "creating database test"
  psql -h 127.0.0.1 -U postgres -d postgres -qc 'CREATE DATABASE test'
fi
# Remove schemas left behind by test runs that were interrupted.
psql -h 127.0.0.1 -U postgres -d test -Atqc \
  "SELECT 'DROP SCHEMA ' || nspname || ' CASCADE;' FROM pg_namespace WHERE nspname LIKE 'pt\_%'" |
  psql -h 127.0.0.1 -U postgres -d test -q >/dev/null
