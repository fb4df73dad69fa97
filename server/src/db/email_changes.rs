//! The `email_changes` table: a person's change of email address, proven by the link sent
//! to the new address (`confirm_hash`), and undone by the one sent to the old address
//! (`cancel_hash`): while the change waits, that link cancels it; for a day after it was
//! confirmed (`confirmed_at`, `old_email`), it puts the old address back, so someone who
//! knew the password and confirmed their own address at once has not taken the account.
//! Only hashes of the tokens are stored; one row per person.

use sqlx::{AnyConnection, Row};

/// A change, waiting or recently confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub user_id: i64,
    pub new_email: String,
    pub requested_at: i64,
    /// While waiting: when the confirmation link stops working; once confirmed: when the
    /// old address's link stops being able to undo it.
    pub expires_at: i64,
    /// Confirmed then, from `old_email`.
    pub confirmed: Option<(i64, String)>,
}

const COLUMNS: &str = "user_id, new_email, requested_at, expires_at, confirmed_at, old_email";

fn change(r: &sqlx::any::AnyRow) -> Result<Change, sqlx::Error> {
    let confirmed_at: Option<i64> = r.try_get("confirmed_at")?;
    let old_email: Option<String> = r.try_get("old_email")?;
    Ok(Change {
        user_id: r.try_get("user_id")?,
        new_email: r.try_get("new_email")?,
        requested_at: r.try_get("requested_at")?,
        expires_at: r.try_get("expires_at")?,
        confirmed: confirmed_at.zip(old_email),
    })
}

/// Records (or replaces) the person's waiting change. `false` when a change was
/// confirmed less than a day ago: it stays undoable until then, and nothing replaces it.
pub async fn put(
    conn: &mut AnyConnection,
    user_id: i64,
    new_email: &str,
    confirm_hash: &str,
    cancel_hash: &str,
    now: i64,
    expires_at: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query("DELETE FROM email_changes WHERE user_id = $1 AND confirmed_at IS NOT NULL AND expires_at <= $2")
        .bind(user_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query(
        "INSERT INTO email_changes (user_id, new_email, confirm_hash, cancel_hash, requested_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (user_id) DO UPDATE SET new_email = excluded.new_email, \
           confirm_hash = excluded.confirm_hash, cancel_hash = excluded.cancel_hash, \
           requested_at = excluded.requested_at, expires_at = excluded.expires_at \
         WHERE email_changes.confirmed_at IS NULL",
    )
    .bind(user_id)
    .bind(new_email)
    .bind(confirm_hash)
    .bind(cancel_hash)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A fresh confirmation link for the person's waiting change (the old one stops working),
/// unless the last one was sent after `sent_before`: one statement decides, so parallel
/// "Resend" requests send one link. `false` when nothing was renewed.
pub async fn renew_confirm(
    conn: &mut AnyConnection,
    user_id: i64,
    confirm_hash: &str,
    now: i64,
    expires_at: i64,
    sent_before: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE email_changes SET confirm_hash = $1, requested_at = $2, expires_at = $3 \
         WHERE user_id = $4 AND confirmed_at IS NULL AND requested_at <= $5",
    )
    .bind(confirm_hash)
    .bind(now)
    .bind(expires_at)
    .bind(user_id)
    .bind(sent_before)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The person's waiting change, expired or not (a confirmed one is not waiting).
pub async fn of_user(
    conn: &mut AnyConnection,
    user_id: i64,
) -> Result<Option<Change>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM email_changes WHERE user_id = $1 AND confirmed_at IS NULL"
    ))
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?
    .as_ref()
    .map(change)
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

/// The change a still-valid link belongs to (for the page the link opens): a waiting one
/// for either link, or a recently confirmed one for the old address's link.
pub async fn find(
    conn: &mut AnyConnection,
    link: Link,
    token_hash: &str,
    now: i64,
) -> Result<Option<Change>, sqlx::Error> {
    let cond = match link {
        Link::Confirm => "confirm_hash = $1 AND confirmed_at IS NULL",
        Link::Cancel => "cancel_hash = $1",
    };
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM email_changes WHERE {cond} AND expires_at > $2"
    ))
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?
    .as_ref()
    .map(change)
    .transpose()
}

/// Marks a waiting change confirmed by its link (which then stops working), remembering
/// the old address for a day; on the caller's transaction.
pub async fn confirm(
    conn: &mut AnyConnection,
    token_hash: &str,
    dead_hash: &str,
    old_email: &str,
    now: i64,
    undo_until: i64,
) -> Result<Option<Change>, sqlx::Error> {
    sqlx::query(&format!(
        "UPDATE email_changes SET confirmed_at = $1, old_email = $2, expires_at = $3, confirm_hash = $4 \
         WHERE confirm_hash = $5 AND confirmed_at IS NULL AND expires_at > $1 RETURNING {COLUMNS}"
    ))
    .bind(now)
    .bind(old_email)
    .bind(undo_until)
    .bind(dead_hash)
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?
    .as_ref()
    .map(change)
    .transpose()
}

/// Takes the change the old address's link belongs to (deleting it: the link works once),
/// waiting or recently confirmed; on the caller's transaction.
pub async fn take_cancel(
    conn: &mut AnyConnection,
    token_hash: &str,
    now: i64,
) -> Result<Option<Change>, sqlx::Error> {
    sqlx::query(&format!(
        "DELETE FROM email_changes WHERE cancel_hash = $1 AND expires_at > $2 RETURNING {COLUMNS}"
    ))
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?
    .as_ref()
    .map(change)
    .transpose()
}

/// Cancels the person's waiting change (never a confirmed one: its undo link stays);
/// whether there was one.
pub async fn cancel(conn: &mut AnyConnection, user_id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM email_changes WHERE user_id = $1 AND confirmed_at IS NULL")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Deletes changes whose links stopped working before `cutoff`; how many.
pub async fn purge(conn: &mut AnyConnection, cutoff: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM email_changes WHERE expires_at <= $1")
        .bind(cutoff)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
