#!/usr/bin/env bash
# One command on a fresh machine: installs what is missing, builds the release portal,
# loads the demo data into the SQLite database in ./data and serves on
# http://127.0.0.1:3000 (override with PORTAL_LISTEN / PORTAL_PUBLIC_URL).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.tools/node_modules/.bin:$PATH"
cargo leptos build --release
node scripts/payload.mjs >/dev/null # brotli and gzip copies of the client bundle
export LEPTOS_SITE_ROOT="$PWD/target/site"
target/release/portal demo
exec target/release/portal serve "$@"
