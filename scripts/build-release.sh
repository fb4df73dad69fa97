#!/usr/bin/env bash
# The release build: one binary, target/release/portal, that carries its site
# (server/src/web/site.rs). In order: the site (cargo-leptos, front end only), its brotli
# and gzip copies (scripts/payload.mjs, which reports the client payload; pass --check to
# fail over budget), then the server, which embeds the site and those copies.
#   scripts/build-release.sh [--check]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.tools/node_modules/.bin:$PATH"
cargo leptos build --release --frontend-only
node scripts/payload.mjs "$@"
cargo leptos build --release --server-only
