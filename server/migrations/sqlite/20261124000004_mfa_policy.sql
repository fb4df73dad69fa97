-- Account MFA policy: grace period, when it last changed, and the change history.
ALTER TABLE accounts ADD COLUMN mfa_grace_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN mfa_policy_changed_at INTEGER;

CREATE TABLE mfa_policy_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    changed_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    changed_by_label TEXT NOT NULL,
    at INTEGER NOT NULL,
    from_policy TEXT NOT NULL,
    to_policy TEXT NOT NULL,
    grace_days INTEGER NOT NULL
);
CREATE INDEX mfa_policy_changes_account ON mfa_policy_changes (account_id, at DESC);
