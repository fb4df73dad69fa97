-- An account's MFA policy can require passkeys (phishing-resistant) of the people it
-- covers: their session must have passed a passkey, not only a code.
ALTER TABLE accounts ADD COLUMN mfa_require_passkeys BIGINT NOT NULL DEFAULT 0 CHECK (mfa_require_passkeys IN (0, 1));
