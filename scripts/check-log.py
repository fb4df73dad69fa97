#!/usr/bin/env python3
"""Checks the JSON log of the browser tests' server (PORTAL_LOG_FORMAT=json): every line
is a JSON object with a level and a message, and none carries personal data or a secret:
no email address, no demo password, no cookie or token value. Each request's line names
its route template and, for a signed-in person, their user id. Run by scripts/test.sh
after the browser tests; exits 1 with the offending lines."""
import json
import re
import sys

path = sys.argv[1]
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
SECRETS = [
    "connect-demo-2026",  # the demo password (server/src/cli.rs DEMO_PASSWORD)
    "__Host-portal",  # a cookie name with its value
    "portal_session=",
    "token=",
    "Set-Cookie",
]
bad, lines = [], 0
requests, with_user = 0, 0
with open(path, encoding="utf-8") as f:
    for n, line in enumerate(f, 1):
        lines += 1
        try:
            event = json.loads(line)
        except ValueError:
            bad.append(f"{n}: not JSON: {line.strip()[:200]}")
            continue
        if not isinstance(event, dict) or "level" not in event:
            bad.append(f"{n}: not a log event: {line.strip()[:200]}")
            continue
        if event.get("message") == "request":
            requests += 1
            if not event.get("route") or "status" not in event or "request_id" not in event:
                bad.append(f"{n}: a request line without route, status or id: {line.strip()[:300]}")
            if isinstance(event.get("user_id"), int):
                with_user += 1
        emails = set(EMAIL.findall(line))
        if emails:
            bad.append(f"{n}: email address {sorted(emails)}: {line.strip()[:300]}")
        for s in SECRETS:
            if s in line:
                bad.append(f"{n}: {s!r}: {line.strip()[:300]}")
if lines == 0:
    bad.append("the log is empty: was the server run with PORTAL_LOG_FORMAT=json?")
elif with_user == 0:
    bad.append(f"none of {requests} request lines names a signed-in person's user_id")
if bad:
    print(f"{path}: {len(bad)} problem(s) in {lines} lines:")
    print("\n".join(bad[:50]))
    sys.exit(1)
print(f"{path}: {lines} JSON log lines ({requests} requests, {with_user} by a signed-in person), no personal data or secrets")
