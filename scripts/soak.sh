#!/usr/bin/env bash
# The soak test (not part of scripts/test.sh): mixed traffic (sign-ins with and without
# MFA, page views, settings saves, session revocations) against the release portal for a
# long time, on SQLite and on PostgreSQL. Reports errors (must be 0), throughput, p99 and
# the server's resident memory over time (growth after the warm-up must stay under 10 %),
# and writes the figures into docs/benchmarks.md (the "Soak" section).
#   scripts/soak.sh                   # 10 minutes per database
#   SOAK_SECONDS=120 scripts/soak.sh  # shorter
# Exits non-zero when either database saw an error or grew.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/postgres.sh >/dev/null
export PATH="$PWD/.tools/node_modules/.bin:$PATH" CARGO_INCREMENTAL=0
export PGOPTIONS="--client-min-messages=warning" # no NOTICE per dropped table
scripts/build-release.sh >/dev/null
# The same flags and features cargo-leptos gave the server, so nothing shared is rebuilt.
RUSTFLAGS="--cfg erase_components" cargo build --release -p server --features embed-site --bin portal-bench

secs="${SOAK_SECONDS:-600}"
interval="${SOAK_INTERVAL:-30}"
warm_up="${SOAK_WARM_UP:-60}"
concurrency="${SOAK_CONCURRENCY:-8}"
out=target/soak
rm -rf "$out" && mkdir -p "$out"
portal=target/release/portal
bench=target/release/portal-bench
port=3950
PORTAL_SECRET_KEY=$(head -c 32 /dev/urandom | base64)
export PORTAL_SECRET_KEY
status=0

for backend in sqlite postgres; do
  data=$(mktemp -d)
  if [[ $backend == sqlite ]]; then
    url="sqlite://$data/portal.db?mode=rwc"
  else
    schema="soak_$$"
    psql -q -h 127.0.0.1 -U postgres -d test -c "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema" >/dev/null
    url="postgres://postgres@127.0.0.1:5432/test?options=-c%20search_path%3D$schema"
  fi
  # Enough MFA people that none signs in twice (a code is good once).
  "$bench" seed --database-url "$url" --people 2000 --accounts 100 --sessions 1000 --mfa-people 20000 >/dev/null
  PORTAL_DATABASE_URL="$url" PORTAL_DATA_DIR="$data" PORTAL_LISTEN="127.0.0.1:$port" PORTAL_LOG=warn \
    "$portal" serve 2>"$out/$backend-server.log" &
  pid=$!
  until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.05; done
  echo "soak on $backend: ${secs}s, $concurrency workers" >&2
  if ! "$bench" soak --base "http://127.0.0.1:$port" --pid "$pid" --seconds "$secs" \
    --interval "$interval" --warm-up "$warm_up" --concurrency "$concurrency" \
    >"$out/$backend.jsonl" 2>"$out/$backend-errors.log"; then
    status=1
    echo "soak on $backend FAILED: $(tail -n 1 "$out/$backend-errors.log")" >&2
  fi
  kill -TERM "$pid"
  if ! wait "$pid"; then
    status=1
    echo "the server on $backend did not exit 0 at SIGTERM" >&2
  fi
  if [[ $backend == postgres ]]; then
    psql -q -h 127.0.0.1 -U postgres -d test -c "DROP SCHEMA $schema CASCADE" >/dev/null
  fi
  rm -rf "$data"
done

node scripts/soak-report.mjs "$out" "$secs" "$concurrency" "$warm_up"
echo "wrote the Soak section of docs/benchmarks.md" >&2
exit "$status"
