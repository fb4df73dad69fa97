//! Adding a person: the email, name and password rules, then the hash (argon2id, off the
//! async threads), then the row. Used by the operator CLI, the demo and the tests.

use crate::{
    db::{directory::DirectoryError, Db},
    passwords::Passwords,
};
use app::{
    validation::{validate_email, validate_name, validate_new_password},
    Secret,
};

/// Adds a person after checking the email, name and password rules; their id.
pub async fn add(
    db: &Db,
    passwords: &Passwords,
    email: &str,
    name: &str,
    password: &Secret,
    min_password_chars: usize,
    now: i64,
) -> Result<i64, DirectoryError> {
    validate_email(email).map_err(DirectoryError::Invalid)?;
    let name = validate_name("name", name).map_err(DirectoryError::Invalid)?;
    validate_new_password(password.expose(), email, min_password_chars)
        .map_err(DirectoryError::Invalid)?;
    crate::common_passwords::check(password.expose()).map_err(DirectoryError::Invalid)?;
    // Hashed before a connection is taken: none is held while argon2 runs.
    let hash = passwords.hash(password).await?;
    let mut conn = db.acquire().await?;
    crate::db::directory::insert_user(&mut conn, email, &name, &hash, now).await
}
