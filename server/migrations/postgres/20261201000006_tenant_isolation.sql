-- Tenant isolation: how each session was authenticated, proven single sign-on domains,
-- and one throttled-attempt event per lock window. Keep in step with ../sqlite.

ALTER TABLE sessions ADD COLUMN auth_methods TEXT NOT NULL DEFAULT '';
UPDATE sessions SET auth_methods = CASE
    WHEN sso_account_id IS NOT NULL THEN 'sso'
    WHEN mfa_verified_at IS NOT NULL THEN 'password,totp'
    ELSE 'password' END;

CREATE TABLE account_sso_domains_new (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    domain TEXT NOT NULL,
    token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    verified_at BIGINT,
    PRIMARY KEY (account_id, domain)
);
INSERT INTO account_sso_domains_new (account_id, domain, token, created_at, verified_at)
    SELECT account_id, domain, md5(random()::text || clock_timestamp()::text || domain), 0, NULL
    FROM account_sso_domains;
DROP TABLE account_sso_domains;
ALTER TABLE account_sso_domains_new RENAME TO account_sso_domains;
CREATE UNIQUE INDEX account_sso_domains_proven ON account_sso_domains (domain)
    WHERE verified_at IS NOT NULL;
CREATE INDEX account_sso_domains_domain ON account_sso_domains (domain);

ALTER TABLE signin_throttle ADD COLUMN notified_until BIGINT NOT NULL DEFAULT 0;
