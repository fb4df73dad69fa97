//! Security events: sign-ins, failed sign-ins, sign-outs (and later password and MFA
//! changes), kept per person with time, IP and user agent.

use crate::db::Db;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    SignIn,
    SignInFailed,
    SignInThrottled,
    SignOut,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::SignInFailed => "sign_in_failed",
            Self::SignInThrottled => "sign_in_throttled",
            Self::SignOut => "sign_out",
        }
    }
}

pub async fn record(
    db: &Db,
    user_id: Option<i64>,
    kind: EventKind,
    at: i64,
    ip: Option<&str>,
    user_agent: Option<&str>,
    detail: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO security_events (user_id, kind, at, ip, user_agent, detail) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(user_id)
    .bind(kind.as_str())
    .bind(at)
    .bind(ip)
    .bind(user_agent.map(|ua| ua.chars().take(512).collect::<String>()))
    .bind(detail)
    .execute(db.pool())
    .await?;
    Ok(())
}
