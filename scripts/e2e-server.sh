#!/usr/bin/env bash
# Starts the release server for the browser tests on a fresh SQLite database with the
# demo data and one extra person for the throttling test. Playwright runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${1:-3300}"
export PORTAL_DATA_DIR="$PWD/end2end/.data"
export PORTAL_LISTEN="127.0.0.1:$port"
export LEPTOS_SITE_ROOT="$PWD/target/site"
export PORTAL_LOG="${PORTAL_LOG:-warn}"
rm -rf "$PORTAL_DATA_DIR"
bin=target/release/portal
"$bin" demo >/dev/null
# One person per scenario that changes a person, so tests cannot disturb each other.
for who in throttle general security sessions delete mfa; do
  printf '%s\n' "connect-demo-2026" |
    "$bin" user add --email "$who@example.com" --name "${who^} Tester" --password-stdin >/dev/null
done
exec "$bin" serve
