-- Tenant isolation: how each session was authenticated, proven single sign-on domains,
-- and one throttled-attempt event per lock window.

-- The factors a session passed, comma-separated: password, totp, recovery_code, sso.
-- Sessions from before this migration passed the password (and the code when they are
-- marked as verified), or the directory when they came through single sign-on.
ALTER TABLE sessions ADD COLUMN auth_methods TEXT NOT NULL DEFAULT '';
UPDATE sessions SET auth_methods = CASE
    WHEN sso_account_id IS NOT NULL THEN 'sso'
    WHEN mfa_verified_at IS NOT NULL THEN 'password,totp'
    ELSE 'password' END;

-- A domain may be claimed by several accounts while unproven; once proven by a DNS TXT
-- record (or added by an operator) it belongs to that one account. Existing claims were
-- never proven: they start pending, each with its own token.
CREATE TABLE account_sso_domains_new (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    domain TEXT NOT NULL,
    -- Published by the account's administrators as TXT at _connect-portal.<domain>.
    token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    -- NULL while pending: a pending domain routes no sign-in.
    verified_at INTEGER,
    PRIMARY KEY (account_id, domain)
);
INSERT INTO account_sso_domains_new (account_id, domain, token, created_at, verified_at)
    SELECT account_id, domain, lower(hex(randomblob(16))), 0, NULL FROM account_sso_domains;
DROP TABLE account_sso_domains;
ALTER TABLE account_sso_domains_new RENAME TO account_sso_domains;
CREATE UNIQUE INDEX account_sso_domains_proven ON account_sso_domains (domain)
    WHERE verified_at IS NOT NULL;
CREATE INDEX account_sso_domains_domain ON account_sso_domains (domain);

-- The lock window for which a refused attempt was already recorded as an event.
ALTER TABLE signin_throttle ADD COLUMN notified_until INTEGER NOT NULL DEFAULT 0;
