//! Throttling of password and code attempts, kept in the database so it holds across
//! server replicas and against parallel requests.
//!
//! Failures are counted per email (hashed, so unknown addresses are not stored in clear),
//! per client IP, and per person for authentication codes. After a few failures each
//! further attempt must wait a growing delay; at [`EMAIL_HARD_STOP`] consecutive failures
//! an email is locked for an hour at a time. Counters restart after a quiet period.
//!
//! Every attempt is *reserved* before any password or code work, in one statement that
//! counts it as a failure and sets the lock that would follow if it fails. So 40 parallel
//! attempts get exactly the tries that 40 sequential ones would: the free ones run, the
//! rest are refused at once. A success then *releases* its reservation: for the email
//! (or code) scope it forgets the failures counted up to and including its own, never
//! those that parallel attempts counted after it; for the address scope only its own.

use sha2::{Digest, Sha256};
use sqlx::AnyConnection;
use sqlx::Row;

/// Failures allowed per email before delays start.
pub const EMAIL_FREE_FAILURES: i64 = 5;
/// Consecutive failures per email after which it is locked for [`HARD_STOP_LOCK_MS`].
pub const EMAIL_HARD_STOP: i64 = 20;
/// Failures allowed per IP before delays start (generous: offices share addresses).
pub const IP_FREE_FAILURES: i64 = 50;
/// Unfinished "Sign in with a passkey" ceremonies per client address before delays start
/// (a cancelled browser prompt is one; an office shares its address).
pub const PASSKEY_IP_FREE_STARTS: i64 = 200;
/// Reset mails per address before each further one must wait (a growing delay).
pub const RESET_FREE_REQUESTS: i64 = 3;
/// Reset mails per client address before delays start.
pub const RESET_IP_FREE_REQUESTS: i64 = 20;
const BASE_DELAY_MS: i64 = 15_000;
const MAX_DELAY_MS: i64 = 15 * 60_000;
const HARD_STOP_LOCK_MS: i64 = 60 * 60_000;
/// A counter restarts when its last failure is older than this.
pub const QUIET_PERIOD_MS: i64 = 24 * 60 * 60_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Email,
    Ip,
    /// Authentication codes, per person: separate from passwords, so guessing one cannot
    /// lock the other.
    Code,
    /// Password reset mails asked for an address (whether or not anyone has it):
    /// separate from sign-in, so asking cannot lock the person out.
    ResetEmail,
    /// Password reset mails asked from one client address.
    ResetIp,
    /// "Sign in with a passkey" ceremonies started from one client address and not
    /// finished with a sign-in: nobody is named yet, so the address bounds them.
    PasskeyIp,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Ip => "ip",
            Self::Code => "code",
            Self::ResetEmail => "reset_email",
            Self::ResetIp => "reset_ip",
            Self::PasskeyIp => "passkey_ip",
        }
    }

    fn free(self) -> i64 {
        match self {
            Self::Email | Self::Code => EMAIL_FREE_FAILURES,
            Self::Ip => IP_FREE_FAILURES,
            Self::PasskeyIp => PASSKEY_IP_FREE_STARTS,
            Self::ResetEmail => RESET_FREE_REQUESTS,
            Self::ResetIp => RESET_IP_FREE_REQUESTS,
        }
    }

    /// How long the key is locked after `failures` consecutive failures.
    fn lock_ms(self, failures: i64) -> i64 {
        if matches!(self, Self::Email | Self::Code) && failures >= EMAIL_HARD_STOP {
            return HARD_STOP_LOCK_MS;
        }
        if failures < self.free() {
            return 0;
        }
        let doublings = u32::try_from((failures - self.free()).min(16)).unwrap_or(16);
        BASE_DELAY_MS
            .saturating_mul(1 << doublings)
            .min(MAX_DELAY_MS)
    }

    /// [`Self::lock_ms`] as SQL: the `locked_until` that follows `count` failures at
    /// `now`, generated from the same function so the two cannot disagree.
    fn lock_until_sql(self, count: &str, now: &str) -> String {
        // Past this many failures the lock no longer changes (the delays reach their
        // maximum within 16 doublings; checked in a test).
        let settled = (self.free() + 20).max(EMAIL_HARD_STOP);
        let mut arms = Vec::new();
        let mut n = settled;
        while n >= 1 {
            let lock = self.lock_ms(n);
            // The first count of this run of equal locks.
            let mut start = n;
            while start > 1 && self.lock_ms(start - 1) == lock {
                start -= 1;
            }
            if lock > 0 {
                arms.push(format!("WHEN {count} >= {start} THEN {now} + {lock}"));
            }
            n = start - 1;
        }
        if arms.is_empty() {
            "0".into()
        } else {
            format!("CASE {} ELSE 0 END", arms.join(" "))
        }
    }
}

/// The throttle key for a value: a SHA-256, so emails typed at the sign-in page are not
/// stored in clear.
fn key(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// An attempt counted in advance: the `count`-th failure of its key unless released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    scope: Scope,
    key: String,
    count: i64,
}

/// The outcome of [`reserve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reserve {
    /// The attempt may go ahead.
    Granted(Reservation),
    /// The key is locked for this many more milliseconds; nothing was counted.
    Locked(i64),
}

/// Reserves an attempt: counts it as a failure and sets the lock that follows, in one
/// statement, unless the key is locked now. Parallel callers each get their own count.
pub async fn reserve(
    conn: &mut AnyConnection,
    scope: Scope,
    value: &str,
    now: i64,
) -> Result<Reserve, sqlx::Error> {
    let k = key(value);
    let next = "(CASE WHEN last_failure_at < $4 THEN 1 ELSE failures + 1 END)";
    let update = format!(
        "UPDATE signin_throttle SET failures = {next}, last_failure_at = $3, locked_until = {} \
         WHERE scope = $1 AND key = $2 AND locked_until <= $3 RETURNING failures",
        scope.lock_until_sql(next, "$3")
    );
    // A key seen for the first time: no row to update yet. A parallel first attempt may
    // insert it between the two statements; the loop then updates it.
    for _ in 0..4 {
        if let Some(row) = sqlx::query(&update)
            .bind(scope.as_str())
            .bind(&k)
            .bind(now)
            .bind(now - QUIET_PERIOD_MS)
            .fetch_optional(&mut *conn)
            .await?
        {
            let count: i64 = row.try_get("failures")?;
            return Ok(Reserve::Granted(Reservation {
                scope,
                key: k,
                count,
            }));
        }
        let first_lock = scope.lock_ms(1);
        let inserted = sqlx::query(
            "INSERT INTO signin_throttle (scope, key, failures, last_failure_at, locked_until) \
             VALUES ($1, $2, 1, $3, $4) ON CONFLICT (scope, key) DO NOTHING RETURNING failures",
        )
        .bind(scope.as_str())
        .bind(&k)
        .bind(now)
        .bind(if first_lock > 0 { now + first_lock } else { 0 })
        .fetch_optional(&mut *conn)
        .await?;
        if inserted.is_some() {
            return Ok(Reserve::Granted(Reservation {
                scope,
                key: k,
                count: 1,
            }));
        }
        let until: Option<i64> =
            sqlx::query("SELECT locked_until FROM signin_throttle WHERE scope = $1 AND key = $2")
                .bind(scope.as_str())
                .bind(&k)
                .fetch_optional(&mut *conn)
                .await?
                .map(|r| r.try_get("locked_until"))
                .transpose()?;
        if let Some(until) = until.filter(|u| *u > now) {
            return Ok(Reserve::Locked(until - now));
        }
    }
    // Still contended after several rounds: refuse rather than let the attempt through.
    Ok(Reserve::Locked(1_000))
}

/// A successful attempt gives back its reservation. For the email and code scopes the
/// failures counted before it are forgotten too (the person proved who they are); for
/// the address scope only its own count. Failures that parallel attempts counted after
/// this one stay, with their lock.
pub async fn release(conn: &mut AnyConnection, r: &Reservation) -> Result<(), sqlx::Error> {
    match r.scope {
        Scope::Email | Scope::Code => forget(&mut *conn, r, r.count).await,
        Scope::Ip | Scope::ResetEmail | Scope::ResetIp | Scope::PasskeyIp => {
            forget(&mut *conn, r, 1).await
        }
    }
}

/// Clears a key's counter and lock (a person reset their password: the failures that
/// led there no longer count against them).
pub async fn clear(conn: &mut AnyConnection, scope: Scope, value: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM signin_throttle WHERE scope = $1 AND key = $2")
        .bind(scope.as_str())
        .bind(key(value))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Gives back one count of a key (an attempt reserved earlier, by another request,
/// that succeeded: a passkey sign-in finished).
pub async fn forgive_one(
    conn: &mut AnyConnection,
    scope: Scope,
    value: &str,
) -> Result<(), sqlx::Error> {
    let r = Reservation {
        scope,
        key: key(value),
        count: 1,
    };
    forget(conn, &r, 1).await
}

/// Takes back a reservation whose attempt never ran (another scope was locked, or the
/// hashing queue was full): only its own count.
pub async fn undo(conn: &mut AnyConnection, r: &Reservation) -> Result<(), sqlx::Error> {
    forget(&mut *conn, r, 1).await
}

async fn forget(conn: &mut AnyConnection, r: &Reservation, n: i64) -> Result<(), sqlx::Error> {
    let mut tx = super::transaction(conn).await?;
    // The lock stays while failures above the free ones remain (the strict side).
    sqlx::query(
        "UPDATE signin_throttle SET failures = failures - $3, \
           locked_until = CASE WHEN failures - $3 < $4 THEN 0 ELSE locked_until END \
         WHERE scope = $1 AND key = $2",
    )
    .bind(r.scope.as_str())
    .bind(&r.key)
    .bind(n)
    .bind(r.scope.free())
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM signin_throttle WHERE scope = $1 AND key = $2 AND failures <= 0")
        .bind(r.scope.as_str())
        .bind(&r.key)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Marks a refusal of a locked key; `true` only for the first refusal of each lock
/// window, so a flood of refused attempts records one security event, not one per try.
pub async fn first_refusal(
    conn: &mut AnyConnection,
    scope: Scope,
    value: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE signin_throttle SET notified_until = locked_until \
         WHERE scope = $1 AND key = $2 AND locked_until > $3 AND notified_until < locked_until",
    )
    .bind(scope.as_str())
    .bind(key(value))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes counters that are neither locked nor within their quiet period: they would
/// restart at the next failure anyway. Run with the hourly history purge.
pub async fn purge(conn: &mut AnyConnection, now: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM signin_throttle WHERE last_failure_at < $1 AND locked_until <= $2",
    )
    .bind(now - QUIET_PERIOD_MS)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Seconds to tell a person to wait, from milliseconds.
pub fn wait_secs(ms: i64) -> u64 {
    u64::try_from(ms).unwrap_or(0).div_ceil(1000)
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

    #[test]
    fn the_sql_lock_is_the_rust_lock() {
        // Evaluate the generated CASE by hand for every count, including past SETTLED.
        for scope in [Scope::Email, Scope::Ip, Scope::Code, Scope::PasskeyIp] {
            let sql = scope.lock_until_sql("n", "t");
            for n in 1..=400 {
                let mut got = 0;
                for arm in sql.split("WHEN n >= ").skip(1) {
                    let (start, rest) = arm.split_once(" THEN t + ").expect("arm");
                    let lock: i64 = rest
                        .split_whitespace()
                        .next()
                        .expect("lock")
                        .parse()
                        .expect("n");
                    if n >= start.parse::<i64>().expect("start") {
                        got = lock;
                        break;
                    }
                }
                assert_eq!(got, scope.lock_ms(n), "{scope:?} at {n}: {sql}");
            }
        }
    }
}
