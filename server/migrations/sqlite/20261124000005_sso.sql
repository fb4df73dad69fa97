-- Single sign-on per account through the partner's own OpenID Provider.
CREATE TABLE account_sso (
    account_id INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    enabled INTEGER NOT NULL DEFAULT 0,
    issuer TEXT NOT NULL,
    client_id TEXT NOT NULL,
    -- AES-256-GCM under the server key, like the TOTP seeds; never shown again.
    client_secret TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Each email domain belongs to at most one account's directory.
CREATE TABLE account_sso_domains (
    domain TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE
);
CREATE INDEX account_sso_domains_account ON account_sso_domains (account_id);

CREATE TABLE sso_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    changed_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    changed_by_label TEXT NOT NULL,
    at INTEGER NOT NULL,
    summary TEXT NOT NULL
);
CREATE INDEX sso_changes_account ON sso_changes (account_id, at DESC);

-- Authorization requests in flight: found by the hash of `state`, used once.
CREATE TABLE sso_requests (
    state_hash TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    next_path TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- The account whose directory authenticated the session, if any.
ALTER TABLE sessions ADD COLUMN sso_account_id INTEGER REFERENCES accounts (id) ON DELETE SET NULL;
