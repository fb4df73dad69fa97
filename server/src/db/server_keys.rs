//! The `server_keys` table: one row holding a value encrypted with the server key, so a
//! start with the wrong key is noticed before it touches any encrypted data.

use sqlx::{AnyConnection, Row};

/// The stored check value, if the database has one yet.
pub async fn check(conn: &mut AnyConnection) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("SELECT check_ciphertext FROM server_keys WHERE id = 1")
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get("check_ciphertext"))
        .transpose()
}

/// Stores the check value of a new key.
pub async fn set_check(conn: &mut AnyConnection, check: &str) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO server_keys (id, check_ciphertext) VALUES (1, $1)")
        .bind(check)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
