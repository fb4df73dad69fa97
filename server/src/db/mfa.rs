//! A person's second factor: the TOTP secret (encrypted at rest, bound to its owner),
//! its replay guard, recovery codes (hashed), and pending sign-ins (password done, code
//! next; only the token's hash is stored).

use crate::{
    env::Random,
    mfa::{recovery_hash, ENROLMENT_TTL_MS, PENDING_SIGNIN_TTL_MS, SECRET_BYTES},
    secret_key::SecretKey,
    sessions::Token,
};
use sqlx::{AnyConnection, Row};

fn aad(user_id: i64) -> Vec<u8> {
    format!("user_mfa:{user_id}").into_bytes()
}

/// A TOTP secret encrypted for storage, bound to its owner (it cannot be moved to another
/// person's row).
pub fn encrypt_secret(key: &SecretKey, rng: &dyn Random, user_id: i64, secret: &[u8]) -> String {
    key.encrypt(rng, secret, &aad(user_id))
}

/// A person's TOTP state with the secret decrypted (never printed).
pub struct MfaRecord {
    pub enabled_at: Option<i64>,
    pub pending_expires_at: Option<i64>,
    pub last_step: i64,
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for MfaRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaRecord")
            .field("enabled_at", &self.enabled_at)
            .field("pending_expires_at", &self.pending_expires_at)
            .field("last_step", &self.last_step)
            .field("secret", &"[redacted]")
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    #[error("stored MFA secret could not be decrypted")]
    Decrypt,
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

pub async fn load(
    conn: &mut AnyConnection,
    key: &SecretKey,
    user_id: i64,
) -> Result<Option<MfaRecord>, MfaError> {
    let Some(row) = sqlx::query(
        "SELECT secret_ciphertext, enabled_at, pending_expires_at, last_step FROM user_mfa WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let ct: String = row.try_get("secret_ciphertext")?;
    let secret = key
        .decrypt(&ct, &aad(user_id))
        .map_err(|_| MfaError::Decrypt)?;
    Ok(Some(MfaRecord {
        enabled_at: row.try_get("enabled_at")?,
        pending_expires_at: row.try_get("pending_expires_at")?,
        last_step: row.try_get("last_step")?,
        secret,
    }))
}

/// The one definition of "MFA is on" in SQL, for the person whose id is the column or
/// parameter given: an authenticator app set up, or at least one passkey. Every query
/// that asks whether someone uses MFA is built with it.
#[macro_export]
macro_rules! mfa_on_sql {
    ($user:literal) => {
        concat!(
            "(EXISTS (SELECT 1 FROM user_mfa mf WHERE mf.user_id = ",
            $user,
            " AND mf.enabled_at IS NOT NULL) OR EXISTS (SELECT 1 FROM passkeys pk WHERE pk.user_id = ",
            $user,
            "))"
        )
    };
}

/// Is MFA on for this person (an authenticator app or a passkey)? (No decryption needed.)
pub async fn is_enabled(conn: &mut AnyConnection, user_id: i64) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(concat!(
        "SELECT 1 AS one FROM users u WHERE u.id = $1 AND ",
        mfa_on_sql!("u.id")
    ))
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?
    .is_some())
}

/// Has this person an authenticator app set up (TOTP)?
pub async fn has_totp(conn: &mut AnyConnection, user_id: i64) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("SELECT 1 AS one FROM user_mfa WHERE user_id = $1 AND enabled_at IS NOT NULL")
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await?
            .is_some(),
    )
}

/// Stores a fresh pending secret (replacing an unfinished enrolment). The caller checked
/// that MFA is not already on.
pub async fn begin_enrolment(
    conn: &mut AnyConnection,
    key: &SecretKey,
    rng: &dyn Random,
    user_id: i64,
    now: i64,
) -> Result<Vec<u8>, sqlx::Error> {
    let mut secret = vec![0u8; SECRET_BYTES];
    rng.fill(&mut secret);
    let ct = encrypt_secret(key, rng, user_id, &secret);
    let mut tx = super::transaction(conn).await?;
    sqlx::query("DELETE FROM user_mfa WHERE user_id = $1 AND enabled_at IS NULL")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO user_mfa (user_id, secret_ciphertext, enabled_at, pending_expires_at, last_step) \
         VALUES ($1, $2, NULL, $3, 0)",
    )
    .bind(user_id)
    .bind(ct)
    .bind(now + ENROLMENT_TTL_MS)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(secret)
}

/// Stores MFA as on with a given secret (no enrolment step): for seeding benchmark data,
/// whose load generator derives each person's secret.
pub async fn insert_enabled(
    conn: &mut AnyConnection,
    key: &SecretKey,
    rng: &dyn Random,
    user_id: i64,
    secret: &[u8],
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO user_mfa (user_id, secret_ciphertext, enabled_at, pending_expires_at, last_step) \
         VALUES ($1, $2, $3, NULL, 0)",
    )
    .bind(user_id)
    .bind(encrypt_secret(key, rng, user_id, secret))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records `step` as used; `false` when it (or a later one) was used already. Atomic, so it
/// holds across replicas.
pub async fn consume_step(
    conn: &mut AnyConnection,
    user_id: i64,
    step: u64,
) -> Result<bool, sqlx::Error> {
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    let done =
        sqlx::query("UPDATE user_mfa SET last_step = $1 WHERE user_id = $2 AND last_step < $1")
            .bind(step)
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Turns a pending enrolment on and, when given, stores new recovery code hashes (none
/// when MFA was on already through passkeys: the person's codes stay), in one
/// transaction.
pub async fn finish_enrolment(
    conn: &mut AnyConnection,
    user_id: i64,
    step: u64,
    recovery_hashes: Option<&[String]>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = super::transaction(conn).await?;
    let done = sqlx::query(
        "UPDATE user_mfa SET enabled_at = $1, pending_expires_at = NULL, last_step = $2 \
         WHERE user_id = $3 AND enabled_at IS NULL AND pending_expires_at > $1",
    )
    .bind(now)
    .bind(i64::try_from(step).unwrap_or(i64::MAX))
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    if let Some(hashes) = recovery_hashes {
        replace_recovery_codes_in(&mut tx, user_id, hashes).await?;
    }
    tx.commit().await?;
    Ok(true)
}

async fn replace_recovery_codes_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: i64,
    hashes: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    for h in hashes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user_id)
            .bind(h)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

pub async fn replace_recovery_codes(
    conn: &mut AnyConnection,
    user_id: i64,
    hashes: &[String],
) -> Result<(), sqlx::Error> {
    let mut tx = super::transaction(conn).await?;
    replace_recovery_codes_in(&mut tx, user_id, hashes).await?;
    tx.commit().await
}

/// Turns MFA off: removes the secret, the passkeys and the recovery codes. `true` when
/// there was a factor to remove.
pub async fn disable(conn: &mut AnyConnection, user_id: i64) -> Result<bool, sqlx::Error> {
    let mut tx = super::transaction(conn).await?;
    let totp = sqlx::query("DELETE FROM user_mfa WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let passkeys = sqlx::query("DELETE FROM passkeys WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(totp + passkeys > 0)
}

/// Removes only the authenticator app (the person keeps their passkeys and codes).
pub async fn remove_totp(conn: &mut AnyConnection, user_id: i64) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM user_mfa WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?
        .rows_affected()
        > 0)
}

/// Spends a recovery code; `false` if it is unknown or already used.
pub async fn use_recovery_code(
    conn: &mut AnyConnection,
    user_id: i64,
    code: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .bind(recovery_hash(code))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn recovery_codes_left(
    conn: &mut AnyConnection,
    user_id: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id)
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")
}

/// A pending sign-in (password correct, code still needed), with a token like a
/// session's (only its hash is stored). Returns the token for the cookie.
pub async fn create_pending(
    conn: &mut AnyConnection,
    rng: &dyn Random,
    user_id: i64,
    now: i64,
) -> Result<Token, sqlx::Error> {
    let token = Token::generate(rng);
    let mut tx = super::transaction(conn).await?;
    sqlx::query("DELETE FROM pending_signins WHERE expires_at < $1")
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO pending_signins (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token.hash())
    .bind(user_id)
    .bind(now)
    .bind(now + PENDING_SIGNIN_TTL_MS)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// The person of a live pending sign-in.
pub async fn resolve_pending(
    conn: &mut AnyConnection,
    token: &Token,
    now: i64,
) -> Result<Option<(i64, i64)>, sqlx::Error> {
    sqlx::query("SELECT id, user_id FROM pending_signins WHERE token_hash = $1 AND expires_at > $2")
        .bind(token.hash())
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| Ok((r.try_get("id")?, r.try_get("user_id")?)))
        .transpose()
}

/// Ends a pending sign-in; `false` when it had ended already (used by a parallel
/// request), so each pending sign-in starts at most one session.
pub async fn end_pending(conn: &mut AnyConnection, id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM pending_signins WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}
