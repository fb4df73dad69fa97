-- Passkeys (WebAuthn): a person's credentials, and the ceremonies in flight.

-- The person's WebAuthn user handle: a random UUID, never their id or email (an
-- authenticator shows it to anyone who lists its keys). Set with their first passkey.
ALTER TABLE users ADD COLUMN webauthn_handle TEXT;
CREATE UNIQUE INDEX users_webauthn_handle ON users (webauthn_handle);

-- One row per passkey: the public credential as webauthn-rs keeps it (public key,
-- counter, flags; no secret), the name the person gave it, and when it was used.
CREATE TABLE passkeys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- base64url of the credential id: one person's, never two.
    credential_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    credential TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX passkeys_user ON passkeys (user_id);

-- A registration or authentication started by one request and finished by another,
-- possibly on another replica: single use (deleted when finished), a few minutes, bound
-- to the session or pending sign-in that started it. Only a hash of its id is stored.
CREATE TABLE webauthn_ceremonies (
    id_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('register', 'second_factor', 'sign_in')),
    -- The hash of the session or pending sign-in token that started it (none for a
    -- sign-in with a passkey alone).
    bound_to TEXT,
    user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX webauthn_ceremonies_expiry ON webauthn_ceremonies (expires_at);
