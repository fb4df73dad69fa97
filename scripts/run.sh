#!/usr/bin/env bash
# One command on a fresh machine: installs what is missing, builds the release portal (one
# binary that carries its site), loads the demo data into the SQLite database in ./data
# and serves on http://127.0.0.1:3000 (override with PORTAL_LISTEN / PORTAL_PUBLIC_URL).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.tools/node_modules/.bin:$PATH"
scripts/build-release.sh >/dev/null
target/release/portal demo
exec target/release/portal serve "$@"
