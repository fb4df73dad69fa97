//! The `email_changes` table: a person's pending change of email address, proven by the
//! link sent to the new address (`confirm_hash`) or cancelled by the one sent to the old
//! (`cancel_hash`). Only hashes of the tokens are stored; one pending change per person.

use sqlx::{AnyConnection, Row};

/// A pending change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub user_id: i64,
    pub new_email: String,
    pub requested_at: i64,
    pub expires_at: i64,
}

fn pending(r: &sqlx::any::AnyRow) -> Result<Pending, sqlx::Error> {
    Ok(Pending {
        user_id: r.try_get("user_id")?,
        new_email: r.try_get("new_email")?,
        requested_at: r.try_get("requested_at")?,
        expires_at: r.try_get("expires_at")?,
    })
}

/// Records (or replaces) the person's pending change.
pub async fn put(
    conn: &mut AnyConnection,
    user_id: i64,
    new_email: &str,
    confirm_hash: &str,
    cancel_hash: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO email_changes (user_id, new_email, confirm_hash, cancel_hash, requested_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (user_id) DO UPDATE SET new_email = excluded.new_email, \
           confirm_hash = excluded.confirm_hash, cancel_hash = excluded.cancel_hash, \
           requested_at = excluded.requested_at, expires_at = excluded.expires_at",
    )
    .bind(user_id)
    .bind(new_email)
    .bind(confirm_hash)
    .bind(cancel_hash)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A fresh confirmation link for the person's pending change (the old one stops working).
pub async fn renew_confirm(
    conn: &mut AnyConnection,
    user_id: i64,
    confirm_hash: &str,
    now: i64,
    expires_at: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE email_changes SET confirm_hash = $1, requested_at = $2, expires_at = $3 WHERE user_id = $4",
    )
    .bind(confirm_hash)
    .bind(now)
    .bind(expires_at)
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The person's pending change, expired or not.
pub async fn of_user(
    conn: &mut AnyConnection,
    user_id: i64,
) -> Result<Option<Pending>, sqlx::Error> {
    sqlx::query(
        "SELECT user_id, new_email, requested_at, expires_at FROM email_changes WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?
    .as_ref()
    .map(pending)
    .transpose()
}

/// Which link of a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Sent to the new address: proves it.
    Confirm,
    /// Sent to the old address: "If this wasn't you".
    Cancel,
}

/// Takes the change a link belongs to (deleting it, so the link works once), unless it
/// expired; on the caller's transaction.
pub async fn take(
    conn: &mut AnyConnection,
    link: Link,
    token_hash: &str,
    now: i64,
) -> Result<Option<Pending>, sqlx::Error> {
    let column = match link {
        Link::Confirm => "confirm_hash",
        Link::Cancel => "cancel_hash",
    };
    let row = sqlx::query(&format!(
        "DELETE FROM email_changes WHERE {column} = $1 AND expires_at > $2 \
         RETURNING user_id, new_email, requested_at, expires_at"
    ))
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(pending).transpose()
}

/// Whether a link's change is still pending (for the page the link opens).
pub async fn find(
    conn: &mut AnyConnection,
    link: Link,
    token_hash: &str,
    now: i64,
) -> Result<Option<Pending>, sqlx::Error> {
    let column = match link {
        Link::Confirm => "confirm_hash",
        Link::Cancel => "cancel_hash",
    };
    let row = sqlx::query(&format!(
        "SELECT user_id, new_email, requested_at, expires_at FROM email_changes \
         WHERE {column} = $1 AND expires_at > $2"
    ))
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(pending).transpose()
}

/// Cancels the person's pending change; whether there was one.
pub async fn cancel(conn: &mut AnyConnection, user_id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM email_changes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Deletes changes that expired before `cutoff`; how many.
pub async fn purge(conn: &mut AnyConnection, cutoff: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM email_changes WHERE expires_at <= $1")
        .bind(cutoff)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
