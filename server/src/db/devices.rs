//! The `known_devices` table: the browsers a person has signed in from, by the hash of
//! their device cookie.

use sqlx::{AnyConnection, Row};

/// Remembers that the person signed in from this device; `true` when it was new to them.
/// One statement decides, so parallel sign-ins from one new device all succeed and at
/// most one of them finds it new.
pub async fn remember(
    conn: &mut AnyConnection,
    user_id: i64,
    device_hash: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO known_devices (user_id, device_hash, first_seen_at, last_seen_at) \
         VALUES ($1, $2, $3, $3) ON CONFLICT (user_id, device_hash) DO NOTHING",
    )
    .bind(user_id)
    .bind(device_hash)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(true);
    }
    sqlx::query(
        "UPDATE known_devices SET last_seen_at = $1 WHERE user_id = $2 AND device_hash = $3",
    )
    .bind(now)
    .bind(user_id)
    .bind(device_hash)
    .execute(&mut *conn)
    .await?;
    Ok(false)
}

/// How many devices the person has signed in from.
pub async fn count(conn: &mut AnyConnection, user_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) AS n FROM known_devices WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")
}
