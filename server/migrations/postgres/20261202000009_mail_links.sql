-- Links sent by mail: proving a new email address, and resetting a forgotten password.
-- Only SHA-256 hashes of the single-use tokens are stored.

-- At most one change per person: the new address is not theirs until the link sent to
-- it is followed. `cancel_hash` is the token of the "If this wasn't you" link sent to the
-- old address; it works while the change waits and for a day after it was confirmed
-- (`confirmed_at`, with `old_email`): then it puts the old address back.
CREATE TABLE email_changes (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    new_email TEXT NOT NULL,
    confirm_hash TEXT NOT NULL UNIQUE,
    cancel_hash TEXT NOT NULL UNIQUE,
    requested_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    confirmed_at BIGINT,
    old_email TEXT
);

CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX password_resets_user ON password_resets (user_id);

-- People who sign in only through their organisation's directory have no portal
-- password to reset (`portal user add --sso-only`).
ALTER TABLE users ADD COLUMN sso_only BIGINT NOT NULL DEFAULT 0 CHECK (sso_only IN (0, 1));

-- A mail holding a single-use link is stored sealed (AES-256-GCM under the server key,
-- like the TOTP seeds) and its body is erased once delivered.
ALTER TABLE mail_outbox ADD COLUMN sealed BIGINT NOT NULL DEFAULT 0 CHECK (sealed IN (0, 1));

-- MFA policy notices sent: one row per member, account, deadline and stage ('required'
-- when the policy first asks it of them, then reminders '3d' and '1d' before the
-- deadline), so each is sent once whatever the number of replicas.
CREATE TABLE mfa_policy_notices (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    deadline BIGINT NOT NULL,
    stage TEXT NOT NULL CHECK (stage IN ('required', '3d', '1d')),
    sent_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, user_id, deadline, stage)
);
