-- Administration of people by an account's administrators.

-- The account's audit log: every administrative change is one row, written on the
-- change's transaction. Never edited through the portal; purged after the retention
-- period (--audit-retention).
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- Who: a person (kept as a label if they are deleted later), or the operator's CLI.
    actor_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    actor_label TEXT NOT NULL,
    action TEXT NOT NULL,
    -- Whom or what it was about, as shown ("Grace Hopper (grace@example.com)").
    subject TEXT NOT NULL,
    subject_user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    detail TEXT NOT NULL,
    ip TEXT,
    user_agent TEXT,
    at INTEGER NOT NULL
);
CREATE INDEX audit_log_account ON audit_log (account_id, at, id);

-- Invitations to join an account: a mailed single-use link (only its hash is stored).
CREATE TABLE invitations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    email_normalized TEXT NOT NULL,
    group_id INTEGER NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    invited_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    UNIQUE (account_id, email_normalized),
    -- The group is one of the invitation's account.
    FOREIGN KEY (group_id, account_id) REFERENCES account_groups (id, account_id) ON DELETE CASCADE
);
