#!/usr/bin/env bash
# Installs what building and running the portal needs. Idempotent: each step checks first,
# so a second run takes seconds. Usage: scripts/setup.sh [--tests]
#   --tests  also installs what the tests need: Chromium (Debian), the end2end npm
#            packages, Trunk, and PostgreSQL (if absent, and starts it).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# --- Rust toolchain pieces -------------------------------------------------------------
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -q '0\.3\.10'; then
  say "installing cargo-leptos 0.3.10 (no_downloads: it uses the tools below; ~10 min once)"
  cargo install --locked cargo-leptos --version 0.3.10 --features no_downloads
fi

# wasm-bindgen-cli must match the wasm-bindgen crate pinned in Cargo.toml.
wb_version=$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' Cargo.toml)
if ! wasm-bindgen --version 2>/dev/null | grep -q " ${wb_version}\$"; then
  say "installing wasm-bindgen-cli ${wb_version}"
  cargo install wasm-bindgen-cli --version "${wb_version}"
fi

# wasm-opt from npm's binaryen. Never Debian's binaryen 108: it silently corrupts the
# release wasm (hydration dies in the browser).
if ! "$root/.tools/node_modules/.bin/wasm-opt" --version 2>/dev/null | grep -q 'version 132'; then
  say "installing wasm-opt (binaryen 132 from npm) into .tools/"
  (cd .tools && npm ci --no-audit --no-fund)
fi

if [[ "${1:-}" == "--tests" ]]; then
  if [[ ! -x /usr/bin/chromium ]]; then
    say "installing Chromium from Debian"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  fi
  # Playwright and oidc-provider (the OpenID Provider of the SSO tests), exactly as locked.
  if ! cmp -s end2end/package-lock.json end2end/node_modules/.ci-lock.json; then
    say "installing the end2end npm packages (no browser download)"
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund &&
      cp package-lock.json node_modules/.ci-lock.json)
  fi
  if ! trunk --version 2>/dev/null | grep -q '0\.21\.14'; then
    say "installing trunk 0.21.14 (~6 min once)"
    cargo install --locked trunk --version 0.21.14
  fi
  # dnslib: the real DNS server the domain-proof tests query (end2end/dns/server.py).
  if ! PYTHONPATH="$root/.tools/python" python3 -c 'import dnslib' 2>/dev/null; then
    say "installing dnslib 0.9.26 into .tools/python (the tests' DNS server)"
    python3 -m pip install --quiet --disable-pip-version-check --target "$root/.tools/python" dnslib==0.9.26
  fi
  # aiosmtpd: the real SMTP server the mail tests deliver to (end2end/smtp/server.py).
  if ! PYTHONPATH="$root/.tools/python" python3 -c 'import aiosmtpd' 2>/dev/null; then
    say "installing aiosmtpd 1.4.6 into .tools/python (the tests' SMTP server)"
    python3 -m pip install --quiet --disable-pip-version-check --target "$root/.tools/python" aiosmtpd==1.4.6
  fi
  scripts/postgres.sh
fi
