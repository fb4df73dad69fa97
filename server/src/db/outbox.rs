//! The `mail_outbox` table: mails waiting for delivery, written in the transaction of the
//! change that causes them. Senders claim due mails for a while (`claimed_until`), so two
//! replicas never deliver one mail twice: on PostgreSQL with `FOR UPDATE SKIP LOCKED`, on
//! SQLite inside the write lock (`BEGIN IMMEDIATE`).

use super::Backend;
use sqlx::{AnyConnection, Row};

/// A mail to write to the outbox.
#[derive(Clone, PartialEq, Eq)]
pub struct NewMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl std::fmt::Debug for NewMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The body may hold a single-use link: never printed.
        f.debug_struct("NewMail")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// A mail claimed for delivery.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Claimed {
    pub id: i64,
    pub to_address: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub attempts: i64,
    /// The bodies are sealed under the server key ([`enqueue_sealed`]).
    pub sealed: i64,
}

impl std::fmt::Debug for Claimed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claimed")
            .field("id", &self.id)
            .field("to_address", &self.to_address)
            .field("subject", &self.subject)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// Writes a mail to the outbox, due now (on the caller's transaction).
pub async fn enqueue(
    conn: &mut AnyConnection,
    mail: &NewMail,
    now: i64,
) -> Result<i64, sqlx::Error> {
    insert(conn, mail, &mail.text, &mail.html, false, now).await
}

/// The associated data binding a sealed body to its part and its recipient (a sealed
/// body moved onto another row does not open).
pub fn sealed_aad(part: &str, to: &str) -> Vec<u8> {
    format!("mail_outbox.{part}:{to}").into_bytes()
}

/// Writes a mail holding a single-use link: its bodies are stored sealed under the
/// server key (someone who can read the database cannot follow the link), and erased
/// once delivered.
pub async fn enqueue_sealed(
    conn: &mut AnyConnection,
    key: &crate::secret_key::SecretKey,
    rng: &dyn crate::env::Random,
    mail: &NewMail,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let text = key.encrypt(
        rng,
        mail.text.as_bytes(),
        &sealed_aad("text_body", &mail.to),
    );
    let html = key.encrypt(
        rng,
        mail.html.as_bytes(),
        &sealed_aad("html_body", &mail.to),
    );
    insert(conn, mail, &text, &html, true, now).await
}

async fn insert(
    conn: &mut AnyConnection,
    mail: &NewMail,
    text: &str,
    html: &str,
    sealed: bool,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO mail_outbox (to_address, subject, text_body, html_body, sealed, created_at, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
    )
    .bind(&mail.to)
    .bind(&mail.subject)
    .bind(text)
    .bind(html)
    .bind(i64::from(sealed))
    .bind(now)
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")
}

const DUE: &str = "sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 \
                   AND (claimed_until IS NULL OR claimed_until < $1)";

/// Claims up to `limit` due mails until `now + lease_ms`, oldest first. A claim that
/// expires (a sender died) makes the mail due again for any sender.
pub async fn claim_due(
    conn: &mut AnyConnection,
    backend: Backend,
    now: i64,
    limit: i64,
    lease_ms: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let returning = "RETURNING id, to_address, subject, text_body, html_body, attempts, sealed";
    let sql = match backend {
        // Rows another sender has locked are skipped, not waited for.
        Backend::Postgres => format!(
            "UPDATE mail_outbox SET claimed_until = $2 WHERE id IN \
             (SELECT id FROM mail_outbox WHERE {DUE} ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) \
             {returning}"
        ),
        // One writer at a time: the statement runs inside SQLite's write lock.
        Backend::Sqlite => format!(
            "UPDATE mail_outbox SET claimed_until = $2 WHERE id IN \
             (SELECT id FROM mail_outbox WHERE {DUE} ORDER BY id LIMIT $3) {returning}"
        ),
    };
    let mut tx = super::transaction(conn).await?;
    let mut claimed: Vec<Claimed> = sqlx::query_as(&sql)
        .bind(now)
        .bind(now.saturating_add(lease_ms))
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    claimed.sort_by_key(|c| c.id);
    Ok(claimed)
}

/// Delivered. A sealed mail's link has no further use here: its bodies are erased.
pub async fn mark_sent(conn: &mut AnyConnection, id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE mail_outbox SET sent_at = $1, attempts = attempts + 1, claimed_until = NULL, \
         last_error = NULL, \
         text_body = CASE WHEN sealed = 1 THEN '' ELSE text_body END, \
         html_body = CASE WHEN sealed = 1 THEN '' ELSE html_body END WHERE id = $2",
    )
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Not delivered this time: tried again at `retry_at`, or given up when `None`.
pub async fn mark_failed_attempt(
    conn: &mut AnyConnection,
    id: i64,
    error: &str,
    retry_at: Option<i64>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let error: String = error.chars().take(500).collect();
    sqlx::query(
        "UPDATE mail_outbox SET attempts = attempts + 1, claimed_until = NULL, last_error = $1, \
           next_attempt_at = COALESCE($2, next_attempt_at), \
           failed_at = CASE WHEN $2 IS NULL THEN $3 ELSE NULL END \
         WHERE id = $4",
    )
    .bind(error)
    .bind(retry_at)
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What the outbox holds, for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub waiting: i64,
    pub sent: i64,
    pub failed: Vec<FailedMail>,
}

/// A mail given up on.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FailedMail {
    pub id: i64,
    pub to_address: String,
    pub subject: String,
    pub attempts: i64,
    pub failed_at: i64,
    pub last_error: Option<String>,
}

/// Mails waiting to be delivered (neither sent nor given up on).
pub async fn waiting(conn: &mut AnyConnection) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) AS n FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL")
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")
}

pub async fn status(conn: &mut AnyConnection) -> Result<Status, sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(CASE WHEN sent_at IS NULL AND failed_at IS NULL THEN 1 END) AS waiting, \
                COUNT(sent_at) AS sent FROM mail_outbox",
    )
    .fetch_one(&mut *conn)
    .await?;
    let failed = sqlx::query_as(
        "SELECT id, to_address, subject, attempts, failed_at, last_error FROM mail_outbox \
         WHERE failed_at IS NOT NULL ORDER BY failed_at DESC, id DESC LIMIT 100",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(Status {
        waiting: row.try_get("waiting")?,
        sent: row.try_get("sent")?,
        failed,
    })
}

/// Makes every mail given up on due again (after the operator fixed the cause); how many.
pub async fn retry_failed(conn: &mut AnyConnection, now: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE mail_outbox SET failed_at = NULL, attempts = 0, next_attempt_at = $1 \
         WHERE failed_at IS NOT NULL",
    )
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Deletes mails delivered before `cutoff`; how many.
pub async fn purge_sent(conn: &mut AnyConnection, cutoff: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM mail_outbox WHERE sent_at IS NOT NULL AND sent_at < $1")
        .bind(cutoff)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
