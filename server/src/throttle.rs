//! Sign-in throttling kept in the database, so it holds across server replicas.
//!
//! Failures are counted per email (hashed, so unknown addresses are not stored in clear)
//! and per client IP. After a few failures each further attempt must wait a growing
//! delay; at [`EMAIL_HARD_STOP`] consecutive failures an email is locked for an hour at a
//! time. A successful sign-in resets the email's counter; counters also reset after a
//! quiet period.

use crate::db::Db;
use sha2::{Digest, Sha256};
use sqlx::Row;

/// Failures allowed per email before delays start.
pub const EMAIL_FREE_FAILURES: i64 = 5;
/// Consecutive failures per email after which it is locked for [`HARD_STOP_LOCK_MS`].
pub const EMAIL_HARD_STOP: i64 = 20;
/// Failures allowed per IP before delays start (generous: offices share addresses).
pub const IP_FREE_FAILURES: i64 = 50;
const BASE_DELAY_MS: i64 = 15_000;
const MAX_DELAY_MS: i64 = 15 * 60_000;
const HARD_STOP_LOCK_MS: i64 = 60 * 60_000;
/// A counter restarts when its last failure is older than this.
const QUIET_PERIOD_MS: i64 = 24 * 60 * 60_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Email,
    Ip,
    /// Authentication codes, per person: separate from passwords, so guessing one cannot
    /// lock the other.
    Code,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Ip => "ip",
            Self::Code => "code",
        }
    }

    fn lock_ms(self, failures: i64) -> i64 {
        let free = match self {
            Self::Email | Self::Code => EMAIL_FREE_FAILURES,
            Self::Ip => IP_FREE_FAILURES,
        };
        if self != Self::Ip && failures >= EMAIL_HARD_STOP {
            return HARD_STOP_LOCK_MS;
        }
        if failures < free {
            return 0;
        }
        let doublings = u32::try_from((failures - free).min(16)).unwrap_or(16);
        BASE_DELAY_MS
            .saturating_mul(1 << doublings)
            .min(MAX_DELAY_MS)
    }
}

/// The throttle key for a value: a SHA-256, so emails typed at the sign-in page are not
/// stored in clear.
fn key(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// Milliseconds until the key may try again, if it is locked now.
pub async fn locked_for(
    db: &Db,
    scope: Scope,
    value: &str,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query("SELECT locked_until FROM signin_throttle WHERE scope = $1 AND key = $2")
        .bind(scope.as_str())
        .bind(key(value))
        .fetch_optional(db.pool())
        .await?;
    let Some(row) = row else { return Ok(None) };
    let until: i64 = row.try_get("locked_until")?;
    Ok((until > now).then_some(until - now))
}

/// The state of two scopes (e.g. this email and this address), read in one query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttles {
    /// The longest remaining lock, in milliseconds.
    pub locked_for: Option<i64>,
    /// The first scope has failures recorded (a success then resets them).
    pub first_has_failures: bool,
}

pub async fn check_both(
    db: &Db,
    (scope_a, value_a): (Scope, &str),
    (scope_b, value_b): (Scope, &str),
    now: i64,
) -> Result<Throttles, sqlx::Error> {
    let row = sqlx::query(
        "SELECT MAX(locked_until) AS until, \
                COUNT(CASE WHEN scope = $1 AND key = $2 THEN 1 END) AS first_rows \
         FROM signin_throttle WHERE (scope = $1 AND key = $2) OR (scope = $3 AND key = $4)",
    )
    .bind(scope_a.as_str())
    .bind(key(value_a))
    .bind(scope_b.as_str())
    .bind(key(value_b))
    .fetch_one(db.pool())
    .await?;
    let until: Option<i64> = row.try_get("until")?;
    Ok(Throttles {
        locked_for: until.filter(|u| *u > now).map(|u| u - now),
        first_has_failures: row.try_get::<i64, _>("first_rows")? > 0,
    })
}

/// Counts a failure and sets the lock that follows from the new count. Returns the count.
pub async fn record_failure(
    db: &Db,
    scope: Scope,
    value: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    let row = sqlx::query(
        "INSERT INTO signin_throttle (scope, key, failures, last_failure_at, locked_until) \
         VALUES ($1, $2, 1, $3, 0) \
         ON CONFLICT (scope, key) DO UPDATE SET \
           failures = CASE WHEN signin_throttle.last_failure_at < $4 THEN 1 \
                           ELSE signin_throttle.failures + 1 END, \
           last_failure_at = $3 \
         RETURNING failures",
    )
    .bind(scope.as_str())
    .bind(key(value))
    .bind(now)
    .bind(now - QUIET_PERIOD_MS)
    .fetch_one(&mut *tx)
    .await?;
    let failures: i64 = row.try_get("failures")?;
    let lock = scope.lock_ms(failures);
    sqlx::query("UPDATE signin_throttle SET locked_until = $1 WHERE scope = $2 AND key = $3")
        .bind(if lock > 0 { now + lock } else { 0 })
        .bind(scope.as_str())
        .bind(key(value))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(failures)
}

/// Forgets the failures of a key (after a successful sign-in).
pub async fn reset(db: &Db, scope: Scope, value: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM signin_throttle WHERE scope = $1 AND key = $2")
        .bind(scope.as_str())
        .bind(key(value))
        .execute(db.pool())
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stop_hard() {
        assert_eq!(Scope::Email.lock_ms(1), 0);
        assert_eq!(Scope::Email.lock_ms(4), 0);
        assert_eq!(Scope::Email.lock_ms(5), 15_000);
        assert_eq!(Scope::Email.lock_ms(6), 30_000);
        assert_eq!(Scope::Email.lock_ms(19), MAX_DELAY_MS);
        assert_eq!(Scope::Email.lock_ms(20), HARD_STOP_LOCK_MS);
        assert_eq!(Scope::Email.lock_ms(99), HARD_STOP_LOCK_MS);
        assert_eq!(Scope::Ip.lock_ms(49), 0);
        assert_eq!(Scope::Ip.lock_ms(50), 15_000);
    }
}
