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
use sqlx::AnyConnection;

/// A person who passed the rules, with their password hashed: ready to store.
pub struct NewPerson {
    email: String,
    name: String,
    password_hash: String,
}

/// Checks the email, name and password rules and hashes the password (before any
/// connection is taken: none is held while argon2 runs).
pub async fn prepare(
    passwords: &Passwords,
    email: &str,
    name: &str,
    password: &Secret,
    min_password_chars: usize,
) -> Result<NewPerson, DirectoryError> {
    validate_email(email).map_err(DirectoryError::Invalid)?;
    let name = validate_name("name", name).map_err(DirectoryError::Invalid)?;
    validate_new_password(password.expose(), email, min_password_chars)
        .map_err(DirectoryError::Invalid)?;
    crate::common_passwords::check(password.expose()).map_err(DirectoryError::Invalid)?;
    Ok(NewPerson {
        email: email.to_string(),
        name,
        password_hash: passwords.hash(password).await?,
    })
}

/// Stores a prepared person (on the caller's transaction, or a pooled connection); their id.
pub async fn insert(
    conn: &mut AnyConnection,
    person: &NewPerson,
    now: i64,
) -> Result<i64, DirectoryError> {
    crate::db::directory::insert_user(
        conn,
        &person.email,
        &person.name,
        &person.password_hash,
        now,
    )
    .await
}

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
    let person = prepare(passwords, email, name, password, min_password_chars).await?;
    insert(&mut *db.acquire().await?, &person, now).await
}
