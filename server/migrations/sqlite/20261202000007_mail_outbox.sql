-- The durable outbox: a mail is written in the same transaction as the change that causes
-- it, and a background sender delivers it (retries with backoff; permanent failures kept).
CREATE TABLE mail_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    to_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    -- When the next delivery attempt is due.
    next_attempt_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    -- A sender claimed the mail until then (another may take it over afterwards).
    claimed_until INTEGER,
    sent_at INTEGER,
    -- Given up after the last attempt: kept for the operator (`portal mail status`).
    failed_at INTEGER,
    last_error TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox (sent_at, failed_at, next_attempt_at);
