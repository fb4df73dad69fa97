-- Multi-factor authentication (TOTP), recovery codes, the pending state between the
-- password and the code, session elevation, the server key check, and the account MFA
-- policy column that the policy issue builds on.

CREATE TABLE user_mfa (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    -- base64(nonce || AES-256-GCM ciphertext) of the 20-byte secret, bound to user_id.
    secret_ciphertext TEXT NOT NULL,
    -- NULL while the enrolment is pending.
    enabled_at INTEGER,
    pending_expires_at INTEGER,
    -- Replay guard: the last accepted 30-second step; any step <= it is refused.
    last_step INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE recovery_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at INTEGER,
    UNIQUE (user_id, code_hash)
);

CREATE TABLE pending_signins (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE server_keys (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    -- A known value encrypted under the server key: proves the key is the right one.
    check_ciphertext TEXT NOT NULL
);

ALTER TABLE sessions ADD COLUMN mfa_verified_at INTEGER;
ALTER TABLE sessions ADD COLUMN elevated_until INTEGER;
ALTER TABLE accounts ADD COLUMN mfa_policy TEXT NOT NULL DEFAULT 'optional'
    CHECK (mfa_policy IN ('optional', 'admins', 'all'));
