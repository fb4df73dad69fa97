//! The `password_resets` table: links that let a person who forgot their password set a
//! new one. Only hashes of the single-use tokens are stored.

use sqlx::{AnyConnection, Row};

pub async fn insert(
    conn: &mut AnyConnection,
    user_id: i64,
    token_hash: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The person a still-valid link belongs to.
pub async fn find(
    conn: &mut AnyConnection,
    token_hash: &str,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query("SELECT user_id FROM password_resets WHERE token_hash = $1 AND expires_at > $2")
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get("user_id"))
        .transpose()
}

/// Uses a still-valid link: every link of its person is deleted with it (one reset ends
/// them all), on the caller's transaction. The person it belonged to.
pub async fn take(
    conn: &mut AnyConnection,
    token_hash: &str,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let user_id: Option<i64> = sqlx::query(
        "DELETE FROM password_resets WHERE token_hash = $1 AND expires_at > $2 RETURNING user_id",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| r.try_get("user_id"))
    .transpose()?;
    if let Some(user_id) = user_id {
        revoke_all(conn, user_id).await?;
    }
    Ok(user_id)
}

/// Ends every reset link of the person (their password changed another way).
pub async fn revoke_all(conn: &mut AnyConnection, user_id: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM password_resets WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// Deletes links that expired before `now`; how many.
pub async fn purge(conn: &mut AnyConnection, now: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM password_resets WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
