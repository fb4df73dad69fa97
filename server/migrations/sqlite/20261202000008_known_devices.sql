-- Browsers a person has signed in from, known by a long-lived random cookie (only its
-- hash is stored): a sign-in from any other is announced by mail.
CREATE TABLE known_devices (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device_hash TEXT NOT NULL,
    first_seen_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, device_hash)
);
