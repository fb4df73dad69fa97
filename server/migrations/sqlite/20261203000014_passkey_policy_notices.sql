-- Notices about an account's passkey requirement have their own stages: a member told
-- to set up MFA, who did with an app, is told again when the account comes to require
-- passkeys. SQLite cannot change a CHECK constraint in place: the table is rebuilt.
CREATE TABLE mfa_policy_notices_new (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    deadline INTEGER NOT NULL,
    stage TEXT NOT NULL CHECK (stage IN ('required', '3d', '1d', 'required-passkey', '3d-passkey', '1d-passkey')),
    sent_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, user_id, deadline, stage)
);
INSERT INTO mfa_policy_notices_new (account_id, user_id, deadline, stage, sent_at)
    SELECT account_id, user_id, deadline, stage, sent_at FROM mfa_policy_notices;
DROP TABLE mfa_policy_notices;
ALTER TABLE mfa_policy_notices_new RENAME TO mfa_policy_notices;
