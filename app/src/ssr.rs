//! The seam between the UI crate and the server: server functions reach the server's
//! logic only through [`Backend`], provided as context by the server. The `app` crate
//! therefore never links sqlx, argon2 or other server-only crates.

use crate::{
    error::AppError,
    models::{
        AccountMfaSettings, AccountSsoSettings, GeneralSettings, MfaEnrolment, MfaStatus,
        RecoveryCodes, SecurityEventInfo, SessionsPage, SsoTestReport, Viewer,
    },
    Secret,
};
use std::sync::Arc;

/// What the server's request middleware learned about the current request. It is put in
/// the request's extensions before any page or server function runs.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    /// Short random id, logged with every error and shown to the person.
    pub request_id: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The resolved, still-valid session, if the request carried one.
    pub session: Option<SessionRef>,
    /// The pending sign-in token (password done, code still needed), if any.
    pub pending: Option<PendingToken>,
}

/// The token of a pending sign-in, as sent by the browser. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct PendingToken(pub String);

impl std::fmt::Debug for PendingToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PendingToken([redacted])")
    }
}

/// The result of a correct password.
#[derive(Debug, Clone)]
pub enum SignInOutcome {
    /// Signed in; the `Set-Cookie` value carries the session.
    SignedIn(String),
    /// MFA is on: the `Set-Cookie` value carries the short-lived pending sign-in, and the
    /// code step comes next.
    CodeRequired(String),
}

/// A valid session as resolved by the middleware (one indexed query per request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionRef {
    pub session_id: i64,
    pub user_id: i64,
    /// The account active in this session (not yet checked against memberships).
    pub active_account_id: Option<i64>,
    /// The account whose directory authenticated this session (single sign-on): its
    /// portal MFA policy yields to the directory.
    pub sso_account_id: Option<i64>,
    /// The person's own portal password was checked in this session (at sign-in or by a
    /// step-up). Without it, a directory's session works only in its own account.
    pub password_verified: bool,
    /// A second factor (authentication or recovery code) was checked in this session.
    pub mfa_verified: bool,
}

/// The server's operations, as the UI's server functions need them. Every method acts
/// only for the person of `req.session`; object ids from the browser are checked here.
#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    /// The signed-in person, or [`AppError::Unauthenticated`].
    async fn viewer(&self, req: &RequestInfo) -> Result<Viewer, AppError>;
    /// Checks the credentials (with throttling) and starts a session. Returns the
    /// `Set-Cookie` header value carrying the new session token.
    async fn sign_in(
        &self,
        req: &RequestInfo,
        email: &str,
        password: &Secret,
    ) -> Result<SignInOutcome, AppError>;
    /// The second step: an authentication code (or a recovery code) for the pending
    /// sign-in. Returns the `Set-Cookie` values (the session, and clearing the pending one).
    async fn verify_sign_in_code(
        &self,
        req: &RequestInfo,
        code: &str,
        recovery: bool,
    ) -> Result<Vec<String>, AppError>;
    /// Starts a sign-in through the directory of the account owning the email's domain.
    /// Returns the provider's authorization URL and the `Set-Cookie` value binding the
    /// attempt to this browser.
    async fn start_sso(
        &self,
        req: &RequestInfo,
        email: &str,
        next: Option<&str>,
    ) -> Result<(String, String), AppError>;
    /// Ends the current session. Returns the `Set-Cookie` value that clears the cookie.
    async fn sign_out(&self, req: &RequestInfo) -> Result<String, AppError>;
    /// Makes one of the person's accounts the active account of this session. Returns
    /// where to go first when that account requires MFA the person has not set up.
    async fn switch_account(
        &self,
        req: &RequestInfo,
        account_id: i64,
    ) -> Result<Option<String>, AppError>;

    /// Name, email, preferences and the time zone list for the General section.
    async fn general_settings(&self, req: &RequestInfo) -> Result<GeneralSettings, AppError>;
    /// Saves the name and preferences (validated again here).
    async fn save_general(&self, req: &RequestInfo, update: GeneralUpdate) -> Result<(), AppError>;
    /// Changes the email after checking the current password.
    async fn change_email(
        &self,
        req: &RequestInfo,
        new_email: &str,
        current_password: &Secret,
    ) -> Result<(), AppError>;
    /// Changes the password after checking the current one; optionally ends the person's
    /// other sessions.
    async fn change_password(
        &self,
        req: &RequestInfo,
        change: PasswordChange,
    ) -> Result<(), AppError>;
    /// Permanently deletes the signed-in person. Returns the `Set-Cookie` value that
    /// clears the session cookie.
    async fn delete_self(
        &self,
        req: &RequestInfo,
        current_password: &Secret,
        confirm_email: &str,
    ) -> Result<String, AppError>;
    /// One page (1-based) of the person's sessions, newest first.
    async fn sessions(&self, req: &RequestInfo, page: u32) -> Result<SessionsPage, AppError>;
    /// Ends one of the person's other sessions.
    async fn revoke_session(&self, req: &RequestInfo, session_id: i64) -> Result<(), AppError>;
    /// Ends all of the person's sessions but this one; returns how many.
    async fn revoke_other_sessions(&self, req: &RequestInfo) -> Result<u64, AppError>;
    /// The person's recent security events, newest first.
    async fn security_activity(
        &self,
        req: &RequestInfo,
    ) -> Result<Vec<SecurityEventInfo>, AppError>;

    /// An account's MFA policy page: policy, history, one page of member compliance
    /// (optionally only members without MFA). Administrators of that account only.
    async fn account_mfa_settings(
        &self,
        req: &RequestInfo,
        account_id: i64,
        page: i64,
        without_mfa: bool,
    ) -> Result<AccountMfaSettings, AppError>;
    /// Changes an account's MFA policy (validated again here, with the lockout guard).
    /// Administrators of that account only.
    async fn set_account_mfa_policy(
        &self,
        req: &RequestInfo,
        account_id: i64,
        policy: &str,
        grace_days: &str,
    ) -> Result<(), AppError>;

    /// An account's single sign-on settings (administrators only; never the secret).
    async fn account_sso_settings(
        &self,
        req: &RequestInfo,
        account_id: i64,
    ) -> Result<AccountSsoSettings, AppError>;
    /// Saves an account's single sign-on settings (administrators only). An empty
    /// `client_secret` keeps the stored one.
    async fn save_account_sso(
        &self,
        req: &RequestInfo,
        account_id: i64,
        form: SsoForm,
    ) -> Result<(), AppError>;
    /// Proves one of the account's single sign-on domains by its DNS TXT record
    /// (administrators only).
    async fn verify_sso_domain(
        &self,
        req: &RequestInfo,
        account_id: i64,
        domain: &str,
    ) -> Result<(), AppError>;
    /// Fetches the provider's discovery document and keys and reports what it found.
    async fn test_account_sso(
        &self,
        req: &RequestInfo,
        account_id: i64,
    ) -> Result<SsoTestReport, AppError>;

    /// Whether MFA is on, since when, recovery codes left, elevation left.
    async fn mfa_status(&self, req: &RequestInfo) -> Result<MfaStatus, AppError>;
    /// "Confirm it's you": the person's own password, and their authentication code when
    /// MFA is on, inside the current session. The session gains those factors and a few
    /// minutes of elevation for sensitive actions, under a new token: returns the
    /// `Set-Cookie` value carrying it.
    async fn step_up(
        &self,
        req: &RequestInfo,
        current_password: &Secret,
        code: Option<&str>,
        recovery: bool,
    ) -> Result<String, AppError>;
    /// Starts (or restarts) an enrolment; needs a recent password re-entry.
    async fn start_mfa_enrolment(&self, req: &RequestInfo) -> Result<MfaEnrolment, AppError>;
    /// Finishes the enrolment with a code from the app; returns the recovery codes and
    /// the `Set-Cookie` value of the session's new token (it gained a factor).
    async fn enable_mfa(
        &self,
        req: &RequestInfo,
        code: &str,
        sign_out_others: bool,
    ) -> Result<(RecoveryCodes, String), AppError>;
    /// Replaces all recovery codes; needs a valid code.
    async fn regenerate_recovery_codes(
        &self,
        req: &RequestInfo,
        code: &str,
        sign_out_others: bool,
    ) -> Result<RecoveryCodes, AppError>;
    /// Turns MFA off; needs the current password and a valid code.
    async fn disable_mfa(
        &self,
        req: &RequestInfo,
        current_password: &Secret,
        code: &str,
        sign_out_others: bool,
    ) -> Result<(), AppError>;
}

/// The General section's form, as submitted.
#[derive(Debug, Clone)]
pub struct GeneralUpdate {
    pub name: String,
    pub time_zone: String,
    pub date_format: String,
    pub time_format: String,
    pub news_opt_in: bool,
}

/// The single sign-on form, as submitted.
#[derive(Debug, Clone)]
pub struct SsoForm {
    pub enabled: bool,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub domains: String,
}

/// A password change, as submitted.
#[derive(Debug, Clone)]
pub struct PasswordChange {
    pub current: Secret,
    pub new: Secret,
    pub confirm: Secret,
    pub sign_out_others: bool,
}

pub type SharedBackend = Arc<dyn Backend>;

/// The backend and request information of the current server function call.
pub fn context() -> Result<(SharedBackend, RequestInfo), AppError> {
    use leptos::prelude::use_context;
    let parts = use_context::<http::request::Parts>();
    let info = parts
        .as_ref()
        .and_then(|p| p.extensions.get::<RequestInfo>().cloned());
    let backend = use_context::<SharedBackend>();
    match (backend, info) {
        (Some(b), Some(i)) => Ok((b, i)),
        _ => {
            tracing::error!("server function called without backend or request info in context");
            Err(AppError::Internal {
                request_id: "unavailable".into(),
            })
        }
    }
}

/// Adds a `Set-Cookie` header to the current server function's response.
pub fn append_set_cookie(req: &RequestInfo, cookie: &str) -> Result<(), AppError> {
    use leptos::prelude::use_context;
    let internal = || AppError::Internal {
        request_id: req.request_id.clone(),
    };
    let response = use_context::<leptos_axum::ResponseOptions>().ok_or_else(internal)?;
    let value = http::HeaderValue::from_str(cookie).map_err(|_| internal())?;
    response.append_header(http::header::SET_COOKIE, value);
    Ok(())
}

impl AppError {
    /// The HTTP status a server function answers this error with.
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode as S;
        match self {
            AppError::Unauthenticated | AppError::BadCredentials => S::UNAUTHORIZED,
            AppError::Throttled { .. } | AppError::Busy { .. } => S::TOO_MANY_REQUESTS,
            AppError::Forbidden | AppError::StepUpRequired { .. } => S::FORBIDDEN,
            AppError::Invalid(_) => S::UNPROCESSABLE_ENTITY,
            AppError::Internal { .. } => S::INTERNAL_SERVER_ERROR,
            AppError::Transport => S::BAD_GATEWAY,
        }
    }
}

/// Runs a server function's body with the backend and request information, and gives an
/// error its proper HTTP status (401, 403, 422, 429 with `Retry-After`, 500).
pub async fn run<T, F, Fut>(body: F) -> Result<T, AppError>
where
    F: FnOnce(SharedBackend, RequestInfo) -> Fut,
    Fut: std::future::Future<Output = Result<T, AppError>>,
{
    use leptos::prelude::use_context;
    let result = match context() {
        Ok((backend, req)) => body(backend, req).await,
        Err(e) => Err(e),
    };
    if let (Err(e), Some(response)) = (&result, use_context::<leptos_axum::ResponseOptions>()) {
        response.set_status(e.status());
        if let AppError::Throttled { retry_after_secs } | AppError::Busy { retry_after_secs } = e {
            if let Ok(v) = http::HeaderValue::from_str(&retry_after_secs.to_string()) {
                response.insert_header(http::header::RETRY_AFTER, v);
            }
        }
    }
    result
}
