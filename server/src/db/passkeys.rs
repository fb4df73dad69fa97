//! The `passkeys` table (a person's WebAuthn credentials, public parts only), each
//! person's WebAuthn user handle (`users.webauthn_handle`), and `webauthn_ceremonies`
//! (registrations and authentications between their two requests, single use).

use super::Backend;
use sqlx::{AnyConnection, Row};

/// Serializes changes to one person's factors until the transaction ends (a row lock on
/// PostgreSQL; on SQLite the transaction holds the write lock): two removals at once
/// cannot both pass the "last factor" check.
pub async fn lock_owner(
    conn: &mut AnyConnection,
    backend: Backend,
    user_id: i64,
) -> Result<bool, sqlx::Error> {
    let sql = match backend {
        Backend::Postgres => "SELECT id FROM users WHERE id = $1 FOR UPDATE",
        Backend::Sqlite => "SELECT id FROM users WHERE id = $1",
    };
    Ok(sqlx::query(sql)
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?
        .is_some())
}

/// How many passkeys the person has.
pub async fn count(conn: &mut AnyConnection, user_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) AS n FROM passkeys WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")
}

/// A stored passkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    /// The webauthn-rs `Passkey`, as JSON (public key, counter, flags).
    pub credential: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

const COLUMNS: &str = "id, user_id, name, credential, created_at, last_used_at";

fn stored(r: &sqlx::any::AnyRow) -> Result<Stored, sqlx::Error> {
    Ok(Stored {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        name: r.try_get("name")?,
        credential: r.try_get("credential")?,
        created_at: r.try_get("created_at")?,
        last_used_at: r.try_get("last_used_at")?,
    })
}

/// The person's WebAuthn user handle, if they have one.
pub async fn handle(conn: &mut AnyConnection, user_id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("SELECT webauthn_handle FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get::<Option<String>, _>("webauthn_handle"))
        .transpose()
        .map(Option::flatten)
}

/// Gives the person `handle` unless they have one already; the handle they have then.
pub async fn ensure_handle(
    conn: &mut AnyConnection,
    user_id: i64,
    handle: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("UPDATE users SET webauthn_handle = $1 WHERE id = $2 AND webauthn_handle IS NULL")
        .bind(handle)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    self::handle(conn, user_id).await
}

/// Whose handle this is.
pub async fn user_by_handle(
    conn: &mut AnyConnection,
    handle: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query("SELECT id FROM users WHERE webauthn_handle = $1")
        .bind(handle)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get("id"))
        .transpose()
}

/// The person's passkeys, oldest first.
pub async fn list(conn: &mut AnyConnection, user_id: i64) -> Result<Vec<Stored>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY created_at, id"
    ))
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(stored)
    .collect()
}

/// Adds a passkey; a credential id already stored (anyone's) is a unique violation.
pub async fn insert(
    conn: &mut AnyConnection,
    user_id: i64,
    credential_id: &str,
    name: &str,
    credential: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO passkeys (user_id, credential_id, name, credential, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(user_id)
    .bind(credential_id)
    .bind(name)
    .bind(credential)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")
}

/// After a successful authentication: the credential as updated (counter, flags) and
/// when it was used, only if it is still `checked` (the credential whose counter the
/// authentication was checked against). `false`: another authentication wrote it
/// meanwhile, and this one must not count (a compare-and-swap, so of two answers checked
/// against the same counter, one wins).
pub async fn record_use(
    conn: &mut AnyConnection,
    id: i64,
    checked: &str,
    credential: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE passkeys SET credential = $1, last_used_at = $2 WHERE id = $3 AND credential = $4",
    )
    .bind(credential)
    .bind(now)
    .bind(id)
    .bind(checked)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}

pub async fn rename(
    conn: &mut AnyConnection,
    user_id: i64,
    id: i64,
    name: &str,
) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("UPDATE passkeys SET name = $1 WHERE id = $2 AND user_id = $3")
            .bind(name)
            .bind(id)
            .bind(user_id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
            == 1,
    )
}

pub async fn delete(conn: &mut AnyConnection, user_id: i64, id: i64) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM passkeys WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
            == 1,
    )
}

/// What a ceremony is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Register,
    SecondFactor,
    SignIn,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Register => "register",
            Kind::SecondFactor => "second_factor",
            Kind::SignIn => "sign_in",
        }
    }
}

/// A ceremony between its two requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ceremony {
    pub bound_to: Option<String>,
    pub user_id: Option<i64>,
    /// The webauthn-rs state, as JSON.
    pub state: String,
    pub expires_at: i64,
}

pub async fn put_ceremony(
    conn: &mut AnyConnection,
    id_hash: &str,
    kind: Kind,
    ceremony: &Ceremony,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO webauthn_ceremonies (id_hash, kind, bound_to, user_id, state, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id_hash)
    .bind(kind.as_str())
    .bind(ceremony.bound_to.as_deref())
    .bind(ceremony.user_id)
    .bind(&ceremony.state)
    .bind(ceremony.expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Takes the ceremony (it is gone afterwards, whatever the outcome: single use) if it is
/// of this kind and not expired. Of two requests finishing it at once, one gets it.
pub async fn take_ceremony(
    conn: &mut AnyConnection,
    id_hash: &str,
    kind: Kind,
    now: i64,
) -> Result<Option<Ceremony>, sqlx::Error> {
    let row = sqlx::query(
        "DELETE FROM webauthn_ceremonies WHERE id_hash = $1 AND kind = $2 \
         RETURNING bound_to, user_id, state, expires_at",
    )
    .bind(id_hash)
    .bind(kind.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let c = Ceremony {
        bound_to: r.try_get("bound_to")?,
        user_id: r.try_get("user_id")?,
        state: r.try_get("state")?,
        expires_at: r.try_get("expires_at")?,
    };
    Ok((c.expires_at > now).then_some(c))
}

/// Ceremonies never finished, once expired.
pub async fn purge_ceremonies(conn: &mut AnyConnection, now: i64) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *conn)
            .await?
            .rows_affected(),
    )
}
