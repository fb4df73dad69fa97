#!/usr/bin/env bash
# The benchmark suite (not part of scripts/test.sh; its figures go to docs/benchmarks.md).
# Builds the release server, and for SQLite and for PostgreSQL: seeds 10,000 people,
# 1,000 accounts (one with 1,000 members), 10,000 past sessions of one person and 7,500
# people with MFA on (for the sign-in + code scenario), starts
# `portal serve`, measures cold start and idle memory, drives each scenario at
# concurrency 1, 8 and 32 with target/release/portal-bench, reads peak memory, and stops
# it. Also measures the argon2id bound (right before each backend's sign-in cells, so the
# ratio compares figures taken minutes apart at most; this VM's speed drifts by ±10 %
# over a run) and the client payload.
#   scripts/bench.sh            # BENCH_SECONDS per run (default 5; 3 runs per cell)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/postgres.sh >/dev/null
export PATH="$PWD/.tools/node_modules/.bin:$PATH" CARGO_INCREMENTAL=0
scripts/build-release.sh >/dev/null
# The same flags and features cargo-leptos gave the server (always-erase-components,
# embed-site), so the shared crates are not rebuilt.
RUSTFLAGS="--cfg erase_components" cargo build --release -p server --features embed-site --bin portal-bench

secs="${BENCH_SECONDS:-5}"
out=target/bench
rm -rf "$out" && mkdir -p "$out"
portal=target/release/portal
bench=target/release/portal-bench
port=3900
# The binary serves the site it carries, as deployed.
# The key that encrypts the MFA people's TOTP secrets: given to the seed and the server.
PORTAL_SECRET_KEY=$(head -c 32 /dev/urandom | base64)
export PORTAL_SECRET_KEY


for backend in sqlite postgres; do
  data=$(mktemp -d)
  if [[ $backend == sqlite ]]; then
    url="sqlite://$data/portal.db?mode=rwc"
  else
    schema="bench_$$"
    psql -q -h 127.0.0.1 -U postgres -d test -c "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema" >/dev/null
    url="postgres://postgres@127.0.0.1:5432/test?options=-c%20search_path%3D$schema"
  fi
  "$bench" seed --database-url "$url" >/dev/null
  start=$(date +%s%N)
  PORTAL_DATABASE_URL="$url" PORTAL_DATA_DIR="$data" PORTAL_LISTEN="127.0.0.1:$port" PORTAL_LOG=warn \
    "$portal" serve &
  pid=$!
  until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.005; done
  cold_ms=$(( ($(date +%s%N) - start) / 1000000 ))
  sleep 2
  idle_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  account=1
  cell=0
  for scenario in profile save sessions policy signin signin-mfa; do
    if [[ $scenario == signin ]]; then
      "$bench" hash-rate --seconds 5 >"$out/hash-rate-$backend.json"
    fi
    for c in 1 8 32; do
      # signin-mfa: each cell signs in its own 2,500 MFA people (a code works once).
      "$bench" load --base "http://127.0.0.1:$port" --scenario "$scenario" --concurrency "$c" \
        --seconds "$secs" --account "$account" --runs 3 --first-user $((cell * 2500)) |
        sed "s/^{/{\"backend\":\"$backend\",/" >>"$out/results.jsonl"
      if [[ $scenario == signin-mfa ]]; then cell=$((cell + 1)); fi
    done
  done
  peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  printf '{"backend":"%s","cold_ms":%s,"idle_kb":%s,"peak_kb":%s}\n' "$backend" "$cold_ms" "$idle_kb" "$peak_kb" >>"$out/process.jsonl"
  if [[ $backend == postgres ]]; then
    psql -q -h 127.0.0.1 -U postgres -d test -c "DROP SCHEMA $schema CASCADE" >/dev/null
  fi
  rm -rf "$data"
done

node scripts/payload.mjs >"$out/payload.md"
# Through a file of its own: the report keeps the soak section of the current one.
node scripts/bench-report.mjs "$out" "$secs" >"$out/benchmarks.md"
mv "$out/benchmarks.md" docs/benchmarks.md
echo "wrote docs/benchmarks.md"
