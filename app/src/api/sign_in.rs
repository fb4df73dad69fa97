//! Signing in and out, the code step, single sign-on's start, the signed-in person and
//! switching the active account.

use crate::{error::AppError, models::AccountId, models::Viewer, Secret};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
pub use server_side::*;

#[cfg(feature = "ssr")]
mod server_side {
    use crate::{
        models::{AccountId, Viewer},
        ssr::{Outcome, RequestInfo, UserCtx},
        Secret,
    };

    /// The result of a correct password.
    #[derive(Debug, Clone)]
    pub enum SignInOutcome {
        /// Signed in; the `Set-Cookie` values carry the session (and this browser's
        /// device cookie when it is new).
        SignedIn(Vec<String>),
        /// MFA is on: the `Set-Cookie` value carries the short-lived pending sign-in, and
        /// the code step comes next (offering "Use a passkey" first when `passkey`: the
        /// person has one).
        CodeRequired { cookie: String, passkey: bool },
    }

    /// Signing in and the signed-in person (implemented in the server's `sign_in`).
    #[async_trait::async_trait]
    pub trait Authentication: Send + Sync + 'static {
        /// The signed-in person with their accounts.
        async fn viewer(&self, user: &UserCtx) -> Outcome<Viewer>;
        /// Checks the credentials (with throttling) and starts a session, or the code
        /// step when MFA is on.
        async fn sign_in(
            &self,
            req: &RequestInfo,
            email: &str,
            password: &Secret,
        ) -> Outcome<SignInOutcome>;
        /// The second step: an authentication code (or a recovery code) for the pending
        /// sign-in. Returns the `Set-Cookie` values (the session, clearing the pending one).
        async fn verify_sign_in_code(
            &self,
            req: &RequestInfo,
            code: &str,
            recovery: bool,
        ) -> Outcome<Vec<String>>;
        /// Starts a sign-in through the directory of the account owning the email's
        /// domain: the provider's authorization URL and the `Set-Cookie` value binding the
        /// attempt to this browser.
        async fn start_sso(
            &self,
            req: &RequestInfo,
            email: &str,
            next: Option<&str>,
        ) -> Outcome<(String, String)>;
        /// Ends the current session; the `Set-Cookie` values that clear the session cookie
        /// and have the browser clear what the portal kept in it.
        async fn sign_out(&self, req: &RequestInfo) -> Outcome<Vec<String>>;
        /// Makes one of the person's accounts the active one of this session. Returns
        /// where to go first when the account asks more of this session.
        async fn switch_account(
            &self,
            user: &UserCtx,
            account: AccountId,
        ) -> Outcome<Option<String>>;
    }
}

#[cfg(feature = "ssr")]
type Feature = std::sync::Arc<dyn Authentication>;

/// The signed-in person with their accounts, for the portal shell.
#[server(endpoint = "viewer")]
pub async fn get_viewer() -> Result<Viewer, AppError> {
    crate::ssr::run_user(|f: Feature, user| async move { f.viewer(&user).await }).await
}

/// Password sign-in. On success the session cookie is set and the browser is sent to
/// `next` (only same-site relative paths; anything else goes to the home page).
#[server(endpoint = "sign_in")]
pub async fn sign_in(
    email: String,
    password: Secret,
    next: Option<String>,
) -> Result<(), AppError> {
    crate::ssr::run(|f: Feature, req| async move {
        crate::validation::validate_email(&email).map_err(|_| AppError::BadCredentials)?;
        let target = next
            .as_deref()
            .and_then(crate::validation::safe_next_path)
            .unwrap_or("/");
        match f.sign_in(&req, &email, &password).await? {
            SignInOutcome::SignedIn(cookies) => {
                for cookie in cookies {
                    crate::ssr::append_set_cookie(&req, &cookie)?;
                }
                leptos_axum::redirect(target);
            }
            SignInOutcome::CodeRequired { cookie, passkey } => {
                crate::ssr::append_set_cookie(&req, &cookie)?;
                leptos_axum::redirect(&crate::format::login_code_href(target, passkey));
            }
        }
        Ok(())
    })
    .await
}

/// The sign-in code step: an authentication code, or a recovery code when `recovery` is
/// set. On success the session starts and the browser goes to `next`.
#[server(endpoint = "verify_sign_in_code")]
pub async fn verify_sign_in_code(
    code: String,
    recovery: Option<String>,
    next: Option<String>,
) -> Result<(), AppError> {
    crate::ssr::run(|f: Feature, req| async move {
        let cookies = f
            .verify_sign_in_code(&req, &code, recovery.is_some())
            .await?;
        for c in cookies {
            crate::ssr::append_set_cookie(&req, &c)?;
        }
        let target = next
            .as_deref()
            .and_then(crate::validation::safe_next_path)
            .unwrap_or("/");
        leptos_axum::redirect(target);
        Ok(())
    })
    .await
}

/// Ends the current session and sends the browser to the sign-in page.
#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    crate::ssr::run(|f: Feature, req| async move {
        for cookie in f.sign_out(&req).await? {
            crate::ssr::append_set_cookie(&req, &cookie)?;
        }
        leptos_axum::redirect("/login");
        Ok(())
    })
    .await
}

/// Makes another of the person's accounts the active one for this session. Returns the
/// page to go to first when that account asks more of this session (MFA set-up, step-up).
#[server(endpoint = "switch_account")]
pub async fn switch_account(account_id: AccountId) -> Result<Option<String>, AppError> {
    crate::ssr::run_user(
        |f: Feature, user| async move { f.switch_account(&user, account_id).await },
    )
    .await
}

/// Sign-in through the person's organisation: finds the account whose directory owns the
/// email's domain and sends the browser to that directory.
#[server(endpoint = "start_sso")]
pub async fn start_sso(email: String, next: Option<String>) -> Result<(), AppError> {
    crate::ssr::run(|f: Feature, req| async move {
        let (url, cookie) = f.start_sso(&req, &email, next.as_deref()).await?;
        crate::ssr::append_set_cookie(&req, &cookie)?;
        leptos_axum::redirect(&url);
        Ok(())
    })
    .await
}
