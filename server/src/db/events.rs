//! Security events: sign-ins, failed sign-ins, sign-outs (and later password and MFA
//! changes), kept per person with time, IP and user agent.

use sqlx::AnyConnection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    SignIn,
    SignInFailed,
    SignInThrottled,
    SignOut,
    PasswordChanged,
    EmailChanged,
    SessionRevoked,
    CurrentPasswordFailed,
    MfaEnabled,
    MfaDisabled,
    MfaReset,
    RecoveryCodesRegenerated,
    MfaCodeFailed,
    RecoveryCodeUsed,
    StepUp,
    PasswordResetRequested,
    PasswordReset,
    EmailChangeRequested,
    EmailChangeCancelled,
    PasskeyAdded,
    PasskeyRemoved,
    PasskeyUsed,
    PasskeyRefused,
    /// An authenticator app was set up while MFA was on already (through passkeys).
    TotpAdded,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::SignInFailed => "sign_in_failed",
            Self::SignInThrottled => "sign_in_throttled",
            Self::SignOut => "sign_out",
            Self::PasswordChanged => "password_changed",
            Self::EmailChanged => "email_changed",
            Self::SessionRevoked => "session_revoked",
            Self::CurrentPasswordFailed => "current_password_failed",
            Self::MfaEnabled => "mfa_enabled",
            Self::MfaDisabled => "mfa_disabled",
            Self::MfaReset => "mfa_reset",
            Self::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            Self::MfaCodeFailed => "mfa_code_failed",
            Self::RecoveryCodeUsed => "recovery_code_used",
            Self::StepUp => "step_up",
            Self::PasswordResetRequested => "password_reset_requested",
            Self::PasswordReset => "password_reset",
            Self::EmailChangeRequested => "email_change_requested",
            Self::EmailChangeCancelled => "email_change_cancelled",
            Self::PasskeyAdded => "passkey_added",
            Self::PasskeyRemoved => "passkey_removed",
            Self::PasskeyUsed => "passkey_used",
            Self::PasskeyRefused => "passkey_refused",
            Self::TotpAdded => "totp_added",
        }
    }

    /// What a person reads in "Recent security activity".
    pub fn describe(kind: &str) -> &'static str {
        match kind {
            "sign_in" => "Signed in",
            "sign_in_failed" => "Failed sign-in (wrong password)",
            "sign_in_throttled" => "Sign-in refused: too many failed attempts",
            "sign_out" => "Signed out",
            "password_changed" => "Password changed",
            "email_changed" => "Email address changed",
            "session_revoked" => "Signed out another session",
            "current_password_failed" => "Wrong current password entered",
            "mfa_enabled" => "Multi-factor authentication turned on",
            "mfa_disabled" => "Multi-factor authentication turned off",
            "mfa_reset" => "Multi-factor authentication reset by an operator",
            "recovery_codes_regenerated" => "Recovery codes regenerated",
            "mfa_code_failed" => "Failed sign-in (wrong authentication code)",
            "recovery_code_used" => "Signed in with a recovery code",
            "step_up" => "Confirmed it was you (password re-entered)",
            "password_reset_requested" => "Password reset link sent by mail",
            "password_reset" => "Password reset with a mailed link (every session signed out)",
            "email_change_requested" => "Email address change requested (waiting for confirmation)",
            "email_change_cancelled" => "Email address change cancelled",
            "passkey_added" => "Passkey added",
            "passkey_removed" => "Passkey removed",
            "passkey_used" => "Passkey used (to sign in or confirm it was you)",
            "passkey_refused" => {
                "Passkey refused: its signature counter went backwards (a copied authenticator?)"
            }
            "totp_added" => "Authenticator app added",
            _ => "Security event",
        }
    }
}

/// A stored event.
#[derive(Debug, Clone)]
pub struct EventRow {
    pub kind: String,
    pub at: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A person's latest events, newest first.
pub async fn recent(
    conn: &mut AnyConnection,
    user_id: i64,
    limit: i64,
) -> Result<Vec<EventRow>, sqlx::Error> {
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT kind, at, ip, user_agent FROM security_events          WHERE user_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
    )
    .bind(user_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(EventRow {
                kind: r.try_get("kind")?,
                at: r.try_get("at")?,
                ip: r.try_get("ip")?,
                user_agent: r.try_get("user_agent")?,
            })
        })
        .collect()
}

/// Deletes events older than `cutoff`. Returns how many.
pub async fn purge(conn: &mut AnyConnection, cutoff: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM security_events WHERE at < $1")
        .bind(cutoff)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

pub async fn record(
    conn: &mut AnyConnection,
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
    .execute(&mut *conn)
    .await?;
    Ok(())
}
