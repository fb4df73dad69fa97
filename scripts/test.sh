#!/usr/bin/env bash
# One command for every test: installs what is missing, then runs formatting and lint
# checks, the Rust tests (each data-layer test on SQLite and on PostgreSQL), the Trunk
# build, and the Playwright tests in Debian's Chromium against the release server.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

scripts/setup.sh --tests
export PATH="$PWD/.tools/node_modules/.bin:$PATH"
# One-off builds gain nothing from incremental caches, which cost many gigabytes.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

say "cargo fmt --check"
cargo fmt --all --check

say "clippy (server and app, ssr)"
cargo clippy -p server -p app --all-targets -- -D warnings

say "clippy (the server with the embedded site: server/src/web/site.rs)"
cargo clippy -p server --features embed-site -- -D warnings

say "clippy (the browser build: app and frontend, hydrate, wasm32)"
cargo clippy -p app -p frontend --features app/hydrate --target wasm32-unknown-unknown -- -D warnings

say "Rust tests (SQLite and PostgreSQL)"
# Both halves are required here: without PostgreSQL the tests fail instead of skipping it.
PORTAL_TEST_REQUIRE_POSTGRES=1 cargo test -p app -p server

say "release build: the site, its compressed copies and the client payload (raw, gzip, brotli; over budget fails), then the server that carries them"
scripts/build-release.sh --check

say "trunk build (client-side rendered App)"
trunk build

say "browser tests (Playwright, Debian Chromium)"
(cd end2end && npx playwright test)

say "the browser tests' server log (JSON): no personal data or secrets"
python3 scripts/check-log.py end2end/.portal-log.jsonl
