-- Notices about an account's passkey requirement have their own stages: a member told
-- to set up MFA, who did with an app, is told again when the account comes to require
-- passkeys.
ALTER TABLE mfa_policy_notices DROP CONSTRAINT mfa_policy_notices_stage_check;
ALTER TABLE mfa_policy_notices ADD CONSTRAINT mfa_policy_notices_stage_check
    CHECK (stage IN ('required', '3d', '1d', 'required-passkey', '3d-passkey', '1d-passkey'));
