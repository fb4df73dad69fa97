#!/usr/bin/env bash
# Starts the release server for the browser tests on a fresh SQLite database with the
# demo data and a person per scenario that changes one. Playwright runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${1:-3300}"
export PORTAL_DATA_DIR="$PWD/end2end/.data"
export PORTAL_LISTEN="127.0.0.1:$port"
# Browsers reach it as localhost (a name, as WebAuthn needs; see playwright.config.ts).
export PORTAL_PUBLIC_URL="http://localhost:$port"
# The release binary alone, copied to an empty folder outside the repository and run
# from there: it serves the site it carries (no LEPTOS_SITE_ROOT), as deployed.
unset LEPTOS_SITE_ROOT
rm -rf /tmp/portal-alone.* # the previous run's copy
alone=$(mktemp -d /tmp/portal-alone.XXXXXX)
cp target/release/portal "$alone/portal"
export PORTAL_LOG="${PORTAL_LOG:-info,sqlx=warn}"
# JSON lines into a file that scripts/check-log.py searches afterwards for personal data
# and secrets.
export PORTAL_LOG_FORMAT=json
log="$PWD/end2end/.portal-log.jsonl"
: >"$log"
# The test OpenID Provider runs on loopback.
export PORTAL_SSO_ALLOW_PRIVATE_ISSUERS=true
# Domain proofs are looked up at the tests' DNS server (end2end/dns/server.py), which
# Playwright starts on port $3.
export PORTAL_DNS_SERVER="127.0.0.1:${3:-3353}"
# Mail goes to the tests' SMTP server (end2end/smtp/server.py), started on port $4.
export PORTAL_SMTP_URL="smtp://127.0.0.1:${4:-3325}"
rm -rf "$PORTAL_DATA_DIR"
mkdir -p "$PORTAL_DATA_DIR"
printf '{"folder": "%s"}\n' "$alone" >"$PORTAL_DATA_DIR/binary.json"
cd "$alone"
bin=./portal
"$bin" demo >/dev/null
# One person per scenario that changes a person, so tests cannot disturb each other.
for who in throttle general security sessions delete mfa keyboard policy-admin policy-member policy-grace reset-mfa email-change people-admin people-member people-invitee people-outsider passkey passkey-policy; do
  printf '%s\n' "connect-demo-2026" |
    "$bin" user add --email "$who@example.com" --name "${who^} Tester" --password-stdin >/dev/null
done
# Accounts of their own for the MFA policy tests: one whose administrator changes the
# policy, one without a requirement, one already requiring MFA with a grace period.
account() {
  local id
  id=$("$bin" account add --name "$1" --kind "$2" | tail -n 1)
  "$bin" group add --account "$id" --name Administrators --admin >/dev/null
  "$bin" group add --account "$id" --name Users >/dev/null
  echo "$id"
}
policy=$(account "Policy Test Co" vendor)
open=$(account "Open Test Co" reseller)
grace=$(account "Grace Test Co" distributor)
"$bin" member add --account "$policy" --email policy-admin@example.com --group Administrators >/dev/null
"$bin" member add --account "$policy" --email policy-member@example.com --group Users >/dev/null
"$bin" member add --account "$open" --email policy-member@example.com --group Users >/dev/null
"$bin" member add --account "$grace" --email policy-grace@example.com --group Users >/dev/null
"$bin" account set-mfa-policy --account "$grace" --policy all --grace-days 14 >/dev/null
# Single sign-on: "SSO Partner Co" signs in through the test OpenID Provider, which
# Playwright starts on port $oidc_port (end2end/oidc/provider.mjs). It requires MFA of
# everyone, which its directory's sessions do not need; "Strict Co" requires it too.
oidc_port="${2:-3310}"
for who in sso-admin sso-member sso-stranger; do
  printf '%s\n' "connect-demo-2026" |
    "$bin" user add --email "$who@partner.test" --name "${who^} Tester" --password-stdin >/dev/null
done
partner=$(account "SSO Partner Co" vendor)
strict=$(account "Strict Co" reseller)
"$bin" member add --account "$partner" --email sso-admin@partner.test --group Administrators >/dev/null
"$bin" member add --account "$partner" --email sso-member@partner.test --group Users >/dev/null
"$bin" member add --account "$strict" --email sso-member@partner.test --group Users >/dev/null
"$bin" account set-mfa-policy --account "$partner" --policy all >/dev/null
"$bin" account set-mfa-policy --account "$strict" --policy all >/dev/null
printf '%s\n' "e2e-client-secret" |
  "$bin" account set-sso --account "$partner" --issuer "http://127.0.0.1:$oidc_port" \
    --client-id connect-portal --client-secret-stdin --domains partner.test >/dev/null
# Administration of people: "People Test Co", administered by people-admin. It proved
# people.test for single sign-on (then turned sign-on off, so its people sign in with
# passwords): helpdesk@people.test is a person it manages; people-outsider is not.
people=$(account "People Test Co" vendor)
"$bin" member add --account "$people" --email people-admin@example.com --group Administrators >/dev/null
"$bin" member add --account "$people" --email people-member@example.com --group Users >/dev/null
"$bin" member add --account "$people" --email people-outsider@example.com --group Users >/dev/null
printf '%s\n' "connect-demo-2026" |
  "$bin" user add --email helpdesk@people.test --name "Helpdesk Tester" --password-stdin >/dev/null
"$bin" member add --account "$people" --email helpdesk@people.test --group Users >/dev/null
printf '%s\n' "e2e-client-secret" |
  "$bin" account set-sso --account "$people" --issuer "http://127.0.0.1:$oidc_port" \
    --client-id connect-portal --client-secret-stdin --domains people.test >/dev/null
"$bin" account set-sso --account "$people" --disable >/dev/null
# Passkeys required: "Passkey Policy Co" requires them of everyone, with no grace period.
passkeys=$(account "Passkey Policy Co" vendor)
"$bin" member add --account "$passkeys" --email passkey-policy@example.com --group Users >/dev/null
"$bin" account set-mfa-policy --account "$passkeys" --policy all --require-passkeys >/dev/null
printf '{"policy": %s, "open": %s, "grace": %s, "partner": %s, "strict": %s, "people": %s}\n' \
  "$policy" "$open" "$grace" "$partner" "$strict" "$people" >"$PORTAL_DATA_DIR/accounts.json"
# Into the log and, as before, to Playwright's output (startup errors stay visible).
exec "$bin" serve 2> >(tee -a "$log" >&2)
