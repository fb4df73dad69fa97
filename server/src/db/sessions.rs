//! The `sessions` table: sign-in sessions, found by the hash of their token.

use crate::{
    config::Config,
    env::Random,
    sessions::{EndReason, Factors, Reach, Timeouts, Token, LAST_SEEN_RESOLUTION_MS},
};
use app::ssr::SessionRef;
use sqlx::{AnyConnection, Row};

/// Who a new session is for and where it comes from.
#[derive(Debug, Clone, Copy)]
pub struct NewSession<'a> {
    pub user_id: i64,
    pub active_account_id: Option<i64>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    /// The factors passed to start it.
    pub factors: Factors,
    /// Signed in through this account's directory.
    pub sso_account_id: Option<i64>,
}

/// Starts a session and returns its token and id.
pub async fn create(
    conn: &mut AnyConnection,
    rng: &dyn Random,
    config: &Config,
    new: NewSession<'_>,
    now: i64,
) -> Result<(Token, i64), sqlx::Error> {
    let NewSession {
        user_id,
        active_account_id,
        ip,
        user_agent,
        factors,
        sso_account_id,
    } = new;
    let token = Token::generate(rng);
    let row = sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, active_account_id, created_at, last_seen_at, \
                               expires_at, ip, user_agent, mfa_verified_at, sso_account_id, \
                               auth_methods) \
         VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(token.hash())
    .bind(user_id)
    .bind(active_account_id)
    .bind(now)
    .bind(Timeouts::of(config).expiry(now))
    .bind(ip)
    .bind(user_agent.map(|ua| truncate(ua, 512)))
    .bind(factors.second_factor().then_some(now))
    .bind(sso_account_id)
    .bind(factors.to_db())
    .fetch_one(&mut *conn)
    .await?;
    Ok((token, row.try_get("id")?))
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Resolves a token to a live session: one indexed query, plus a write only when the
/// session just expired or `last_seen_at` is more than a minute old.
pub async fn resolve(
    conn: &mut AnyConnection,
    config: &Config,
    token: &Token,
    now: i64,
) -> Result<Option<SessionRef>, sqlx::Error> {
    let Some(row) = sqlx::query(
        "SELECT id, user_id, active_account_id, sso_account_id, last_seen_at, expires_at, \
                auth_methods FROM sessions WHERE token_hash = $1 AND ended_at IS NULL",
    )
    .bind(token.hash())
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let id: i64 = row.try_get("id")?;
    let last_seen: i64 = row.try_get("last_seen_at")?;
    let expires_at: i64 = row.try_get("expires_at")?;
    let ended_at = Timeouts::of(config).ends_at(last_seen, expires_at);
    if now >= ended_at {
        end(&mut *conn, id, EndReason::Expired, ended_at).await?;
        return Ok(None);
    }
    if now - last_seen >= LAST_SEEN_RESOLUTION_MS {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND ended_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    let factors = Factors::parse(&row.try_get::<String, _>("auth_methods")?)?;
    Ok(Some(SessionRef {
        session_id: id,
        user_id: row.try_get("user_id")?,
        active_account_id: row.try_get("active_account_id")?,
        sso_account_id: row.try_get("sso_account_id")?,
        // The person's own sign-in: their password, or one of their passkeys.
        password_verified: factors.password || factors.passkey,
        mfa_verified: factors.second_factor(),
        passkey_verified: factors.passkey,
    }))
}

/// Ends a session (if still open) with a reason.
pub async fn end(
    conn: &mut AnyConnection,
    session_id: i64,
    reason: EndReason,
    at: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE sessions SET ended_at = $1, end_reason = $2 WHERE id = $3 AND ended_at IS NULL",
    )
    .bind(at)
    .bind(reason.as_str())
    .bind(session_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Stores the active account on the session; the caller has checked membership.
pub async fn set_active_account(
    conn: &mut AnyConnection,
    session_id: i64,
    user_id: i64,
    account_id: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE sessions SET active_account_id = $1 \
         WHERE id = $2 AND user_id = $3 AND ended_at IS NULL",
    )
    .bind(account_id)
    .bind(session_id)
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The account to make active at sign-in: the one of the person's latest session if they
/// still belong to it, otherwise their first account by name.
pub async fn initial_account(
    conn: &mut AnyConnection,
    user_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    // One round trip: the last session's account if still a member, else the first by name.
    sqlx::query(
        "SELECT COALESCE( \
           (SELECT s.active_account_id FROM sessions s \
            JOIN memberships m ON m.account_id = s.active_account_id AND m.user_id = s.user_id \
            WHERE s.user_id = $1 ORDER BY s.created_at DESC, s.id DESC LIMIT 1), \
           (SELECT a.id FROM memberships m JOIN accounts a ON a.id = m.account_id \
            WHERE m.user_id = $1 ORDER BY a.name, a.id LIMIT 1)) AS account_id",
    )
    .bind(user_id)
    .fetch_one(&mut *conn)
    .await?
    .try_get("account_id")
}

/// A stored session as the Sessions page needs it.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub ended_at: Option<i64>,
    pub end_reason: Option<EndReason>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The account whose directory authenticated the session (single sign-on).
    pub sso_account: Option<String>,
    pub factors: Factors,
}

impl SessionRow {
    /// Status and end time, counting a session past its timeouts as expired even if no
    /// request has marked it yet.
    pub fn status(&self, config: &Config, now: i64) -> (app::models::SessionStatus, Option<i64>) {
        use app::models::SessionStatus as S;
        if let Some(ended) = self.ended_at {
            let reason = self.end_reason.unwrap_or(EndReason::Expired);
            return (reason.status(), Some(ended));
        }
        let deadline = Timeouts::of(config).ends_at(self.last_seen_at, self.expires_at);
        if now >= deadline {
            (S::Expired, Some(deadline))
        } else {
            (S::Active, None)
        }
    }
}

/// One page of a person's sessions (those `reach` covers), newest first, and the total
/// count.
pub async fn list(
    conn: &mut AnyConnection,
    user_id: i64,
    reach: Reach,
    limit: i64,
    offset: i64,
) -> Result<(Vec<SessionRow>, i64), sqlx::Error> {
    let sql = format!(
        "SELECT s.id AS id, s.created_at AS created_at, s.last_seen_at AS last_seen_at, \
                s.expires_at AS expires_at, s.ended_at AS ended_at, s.end_reason AS end_reason, \
                s.ip AS ip, s.user_agent AS user_agent, a.name AS sso_account, \
                s.auth_methods AS auth_methods \
         FROM sessions s LEFT JOIN accounts a ON a.id = s.sso_account_id \
         WHERE s.user_id = $1{} ORDER BY s.created_at DESC, s.id DESC LIMIT $2 OFFSET $3",
        filter(reach, 4)
    );
    let rows = bind(
        reach,
        sqlx::query(&sql).bind(user_id).bind(limit).bind(offset),
    )
    .fetch_all(&mut *conn)
    .await?;
    let count = format!(
        "SELECT COUNT(*) AS n FROM sessions s WHERE s.user_id = $1{}",
        filter(reach, 2)
    );
    let total: i64 = bind(reach, sqlx::query(&count).bind(user_id))
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
    let sessions = rows
        .into_iter()
        .map(|r| {
            Ok(SessionRow {
                id: r.try_get("id")?,
                created_at: r.try_get("created_at")?,
                last_seen_at: r.try_get("last_seen_at")?,
                expires_at: r.try_get("expires_at")?,
                ended_at: r.try_get("ended_at")?,
                end_reason: r
                    .try_get::<Option<String>, _>("end_reason")?
                    .map(EndReason::try_from)
                    .transpose()
                    .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                ip: r.try_get("ip")?,
                user_agent: r.try_get("user_agent")?,
                sso_account: r.try_get("sso_account")?,
                factors: Factors::parse(&r.try_get::<String, _>("auth_methods")?)?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok((sessions, total))
}

/// Ends every open session of a person except `keep`, with a reason. Returns how many.
pub async fn end_all_except(
    conn: &mut AnyConnection,
    user_id: i64,
    keep: i64,
    reason: EndReason,
    now: i64,
) -> Result<u64, sqlx::Error> {
    end_others_within(&mut *conn, user_id, keep, Reach::All, reason, now).await
}

/// Ends every open session of a person (their password was reset). Returns how many.
pub async fn end_all(
    conn: &mut AnyConnection,
    user_id: i64,
    reason: EndReason,
    now: i64,
) -> Result<u64, sqlx::Error> {
    // Session ids start at 1: none is kept.
    end_all_except(&mut *conn, user_id, 0, reason, now).await
}

/// Ends the open sessions of a person that `reach` covers, except `keep`.
pub async fn end_others_within(
    conn: &mut AnyConnection,
    user_id: i64,
    keep: i64,
    reach: Reach,
    reason: EndReason,
    now: i64,
) -> Result<u64, sqlx::Error> {
    end_matching(&mut *conn, user_id, "s.id <> $4", keep, reach, reason, now).await
}

/// Ends one open session of this person (never anyone else's) that `reach` covers.
pub async fn end_own(
    conn: &mut AnyConnection,
    user_id: i64,
    session_id: i64,
    reach: Reach,
    reason: EndReason,
    now: i64,
) -> Result<bool, sqlx::Error> {
    Ok(end_matching(
        &mut *conn,
        user_id,
        "s.id = $4",
        session_id,
        reach,
        reason,
        now,
    )
    .await?
        == 1)
}

/// Ends the person's open sessions whose id satisfies `id_condition` on `$4` (`id`),
/// within `reach`. Returns how many.
async fn end_matching(
    conn: &mut AnyConnection,
    user_id: i64,
    id_condition: &str,
    id: i64,
    reach: Reach,
    reason: EndReason,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let sql = format!(
        "UPDATE sessions AS s SET ended_at = $1, end_reason = $2 \
         WHERE s.user_id = $3 AND {id_condition} AND s.ended_at IS NULL{}",
        filter(reach, 5)
    );
    let done = bind(
        reach,
        sqlx::query(&sql)
            .bind(now)
            .bind(reason.as_str())
            .bind(user_id)
            .bind(id),
    )
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Deletes sessions that ended (or expired) before `cutoff`. Returns how many.
pub async fn purge(conn: &mut AnyConnection, cutoff: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM sessions WHERE (ended_at IS NOT NULL AND ended_at < $1) OR expires_at < $1",
    )
    .bind(cutoff)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Sessions neither ended nor past their lifetime, of everyone (for the metrics; idle
/// ones not yet swept count too).
pub async fn count_live(conn: &mut AnyConnection, now: i64) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) AS n FROM sessions WHERE ended_at IS NULL AND expires_at > $1")
        .bind(now)
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")
}

/// How many of a person's sessions other than `except` are still active.
pub async fn count_active(
    conn: &mut AnyConnection,
    user_id: i64,
    except: i64,
    reach: Reach,
    config: &Config,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let sql = format!(
        "SELECT COUNT(*) AS n FROM sessions s WHERE s.user_id = $1 AND s.id <> $2 \
         AND s.ended_at IS NULL AND s.expires_at > $3 AND s.last_seen_at > $4{}",
        filter(reach, 5)
    );
    bind(
        reach,
        sqlx::query(&sql)
            .bind(user_id)
            .bind(except)
            .bind(now)
            .bind(Timeouts::of(config).idle_before(now)),
    )
    .fetch_one(&mut *conn)
    .await?
    .try_get("n")
}

/// The session gained factors (a step-up, or MFA set up in it): records them, makes it
/// elevated until `elevated_until` if given, and rotates its token, so a token copied
/// before the step-up does not carry it. Returns the new token, or `None` when the
/// session has ended meanwhile.
pub async fn gain_factors(
    conn: &mut AnyConnection,
    rng: &dyn Random,
    session_id: i64,
    gained: Factors,
    elevated_until: Option<i64>,
    now: i64,
) -> Result<Option<Token>, sqlx::Error> {
    let mut tx = super::transaction(conn).await?;
    let Some(row) =
        sqlx::query("SELECT auth_methods FROM sessions WHERE id = $1 AND ended_at IS NULL")
            .bind(session_id)
            .fetch_optional(&mut *tx)
            .await?
    else {
        return Ok(None);
    };
    let factors = Factors::parse(&row.try_get::<String, _>("auth_methods")?)?.union(gained);
    let token = Token::generate(rng);
    sqlx::query(
        "UPDATE sessions SET token_hash = $1, auth_methods = $2, \
           mfa_verified_at = CASE WHEN $3 = 1 THEN $4 ELSE mfa_verified_at END, \
           elevated_until = COALESCE($5, elevated_until) \
         WHERE id = $6 AND ended_at IS NULL",
    )
    .bind(token.hash())
    .bind(factors.to_db())
    .bind(i64::from(gained.second_factor()))
    .bind(now)
    .bind(elevated_until)
    .bind(session_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(token))
}

/// Milliseconds of elevation left (0 when none).
pub async fn elevated_for(
    conn: &mut AnyConnection,
    session_id: i64,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let until: Option<i64> = sqlx::query("SELECT elevated_until FROM sessions WHERE id = $1")
        .bind(session_id)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get("elevated_until"))
        .transpose()?
        .flatten();
    Ok(until.map_or(0, |u| (u - now).max(0)))
}

/// The condition on `sessions` (aliased `s`) that `reach` puts, with its parameter
/// number: the directory's sessions that never had the person's own password (one that
/// stepped up may enter the person's other accounts, so it is theirs, not the directory's).
fn filter(reach: Reach, param: u8) -> String {
    match reach {
        Reach::All => String::new(),
        Reach::Directory(_) => format!(
            " AND s.sso_account_id = ${param} \
             AND (',' || s.auth_methods || ',') NOT LIKE '%,password,%'"
        ),
    }
}

/// Binds the parameter of [`filter`], if any.
fn bind<'q>(
    reach: Reach,
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    match reach {
        Reach::All => q,
        Reach::Directory(a) => q.bind(a),
    }
}
