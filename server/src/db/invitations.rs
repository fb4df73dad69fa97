//! The `invitations` table: an account's pending invitations, each a mailed single-use
//! link (only its hash is stored). One pending invitation per account and address: a new
//! one replaces it.

use app::validation::normalize_email;
use sqlx::{AnyConnection, Row};

/// A pending invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: i64,
    pub account_id: i64,
    pub account_name: String,
    pub email: String,
    pub group_id: i64,
    pub group_name: String,
    pub created_at: i64,
    pub expires_at: i64,
}

const SELECT: &str = "SELECT i.id AS id, i.account_id AS account_id, a.name AS account_name, \
        i.email AS email, i.group_id AS group_id, g.name AS group_name, \
        i.created_at AS created_at, i.expires_at AS expires_at \
     FROM invitations i JOIN accounts a ON a.id = i.account_id \
     JOIN account_groups g ON g.id = i.group_id";

fn invitation(r: &sqlx::any::AnyRow) -> Result<Invitation, sqlx::Error> {
    Ok(Invitation {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        account_name: r.try_get("account_name")?,
        email: r.try_get("email")?,
        group_id: r.try_get("group_id")?,
        group_name: r.try_get("group_name")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
    })
}

/// Writes (or replaces) the invitation of `email` to the account.
#[allow(clippy::too_many_arguments)]
pub async fn put(
    conn: &mut AnyConnection,
    account_id: i64,
    email: &str,
    group_id: i64,
    token_hash: &str,
    invited_by: Option<i64>,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO invitations (account_id, email, email_normalized, group_id, token_hash, invited_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (account_id, email_normalized) DO UPDATE SET email = excluded.email, \
           group_id = excluded.group_id, token_hash = excluded.token_hash, \
           invited_by = excluded.invited_by, created_at = excluded.created_at, \
           expires_at = excluded.expires_at",
    )
    .bind(account_id)
    .bind(email.trim())
    .bind(normalize_email(email))
    .bind(group_id)
    .bind(token_hash)
    .bind(invited_by)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The account's pending invitations (expired ones too: they can be sent again), newest first.
pub async fn pending(
    conn: &mut AnyConnection,
    account_id: i64,
) -> Result<Vec<Invitation>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE i.account_id = $1 ORDER BY i.created_at DESC, i.id DESC");
    sqlx::query(&sql)
        .bind(account_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(invitation)
        .collect()
}

/// One of the account's invitations.
pub async fn get(
    conn: &mut AnyConnection,
    account_id: i64,
    id: i64,
) -> Result<Option<Invitation>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE i.account_id = $1 AND i.id = $2");
    sqlx::query(&sql)
        .bind(account_id)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(invitation)
        .transpose()
}

/// The invitation a link belongs to, expired or not.
pub async fn by_token(
    conn: &mut AnyConnection,
    token_hash: &str,
) -> Result<Option<Invitation>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE i.token_hash = $1");
    sqlx::query(&sql)
        .bind(token_hash)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(invitation)
        .transpose()
}

/// Uses up a still-valid link, on the caller's transaction; whether it was one.
pub async fn take(
    conn: &mut AnyConnection,
    token_hash: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM invitations WHERE token_hash = $1 AND expires_at > $2")
        .bind(token_hash)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Revokes one of the account's invitations; whether there was one.
pub async fn revoke(
    conn: &mut AnyConnection,
    account_id: i64,
    id: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM invitations WHERE account_id = $1 AND id = $2")
        .bind(account_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// A fresh link for one of the account's invitations (the old one stops working).
pub async fn renew(
    conn: &mut AnyConnection,
    account_id: i64,
    id: i64,
    token_hash: &str,
    now: i64,
    expires_at: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE invitations SET token_hash = $1, created_at = $2, expires_at = $3 \
         WHERE account_id = $4 AND id = $5",
    )
    .bind(token_hash)
    .bind(now)
    .bind(expires_at)
    .bind(account_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
