//! Passkeys (WebAuthn): adding, renaming and removing them in the Security section, and
//! the ceremonies that use them (the second step of sign-in, a sign-in with a passkey
//! alone, and "Confirm it's you"). Every ceremony has two calls: `start_…` gives the
//! browser a [`PasskeyChallenge`], and the browser's answer (`navigator.credentials`, as
//! WebAuthn's JSON) comes back with the ceremony's id. The browser reaches every
//! ceremony through two server functions, [`start_passkey`] and [`finish_passkey`], by
//! [`PasskeyPurpose`]: few functions keep the client small.

use crate::{
    error::AppError,
    models::{PasskeyChallenge, PasskeyPurpose, RecoveryCodes},
    Secret,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
pub use server_side::*;

#[cfg(feature = "ssr")]
mod server_side {
    use crate::{
        models::{PasskeyChallenge, RecoveryCodes},
        ssr::{Outcome, RequestInfo, UserCtx},
        Secret,
    };

    /// Passkeys (implemented in the server's `passkeys`).
    #[async_trait::async_trait]
    pub trait Passkeys: Send + Sync + 'static {
        /// "Add a passkey", first half; needs a recent step-up.
        async fn start_passkey_registration(&self, user: &UserCtx) -> Outcome<PasskeyChallenge>;
        /// "Add a passkey", second half: stores the passkey under `name`. When MFA was off
        /// it is on now, and the recovery codes issued with it are returned (shown once).
        /// The session's factors stay as they were: the person uses the passkey next.
        async fn add_passkey(
            &self,
            user: &UserCtx,
            ceremony: &str,
            answer: &str,
            name: &str,
        ) -> Outcome<Option<RecoveryCodes>>;
        async fn rename_passkey(&self, user: &UserCtx, id: i64, name: &str) -> Outcome<()>;
        /// Removes a passkey; needs a recent step-up (with a passkey), and is refused when
        /// it would leave the person unable to meet an account's requirement. With
        /// `sign_out_others`, the person's other sessions end too.
        async fn remove_passkey(
            &self,
            user: &UserCtx,
            id: i64,
            sign_out_others: bool,
        ) -> Outcome<()>;
        /// "Confirm it's you" with a passkey, first half.
        async fn start_passkey_step_up(&self, user: &UserCtx) -> Outcome<PasskeyChallenge>;
        /// "Confirm it's you" with the password and a passkey; the `Set-Cookie` value of
        /// the session's new token.
        async fn step_up_with_passkey(
            &self,
            user: &UserCtx,
            current_password: &Secret,
            ceremony: &str,
            answer: &str,
        ) -> Outcome<String>;
        /// The second step of sign-in with a passkey, first half (for the pending
        /// sign-in of this browser).
        async fn start_passkey_second_factor(&self, req: &RequestInfo)
            -> Outcome<PasskeyChallenge>;
        /// The second step of sign-in with a passkey: the session's `Set-Cookie` values.
        async fn verify_sign_in_passkey(
            &self,
            req: &RequestInfo,
            ceremony: &str,
            answer: &str,
        ) -> Outcome<Vec<String>>;
        /// "Sign in with a passkey" (no email or password), first half.
        async fn start_passkey_sign_in(&self, req: &RequestInfo) -> Outcome<PasskeyChallenge>;
        /// "Sign in with a passkey": the session's `Set-Cookie` values.
        async fn sign_in_with_passkey(
            &self,
            req: &RequestInfo,
            ceremony: &str,
            answer: &str,
        ) -> Outcome<Vec<String>>;
    }
}

#[cfg(feature = "ssr")]
type Feature = std::sync::Arc<dyn Passkeys>;

/// A ceremony's first half: the options for `navigator.credentials` (`create` for
/// [`PasskeyPurpose::Register`], `get` otherwise).
#[server(endpoint = "start_passkey")]
pub async fn start_passkey(purpose: PasskeyPurpose) -> Result<PasskeyChallenge, AppError> {
    crate::ssr::run(|f: Feature, req| async move {
        match purpose {
            PasskeyPurpose::Register => {
                f.start_passkey_registration(&crate::ssr::UserCtx::new(req)?)
                    .await
            }
            PasskeyPurpose::StepUp => {
                f.start_passkey_step_up(&crate::ssr::UserCtx::new(req)?)
                    .await
            }
            PasskeyPurpose::SecondFactor => f.start_passkey_second_factor(&req).await,
            PasskeyPurpose::SignIn => f.start_passkey_sign_in(&req).await,
        }
    })
    .await
}

/// A ceremony's second half: the authenticator's answer to the challenge of `ceremony`.
/// - `Register`: with the `name` the person gave; the recovery codes when this passkey
///   turned MFA on.
/// - `StepUp`: with the `current_password` ("Confirm it's you").
/// - `SecondFactor` (after the password) and `SignIn` (the passkey alone): the session
///   starts and the browser goes to `next` (same-site paths only).
#[server(endpoint = "finish_passkey")]
pub async fn finish_passkey(
    purpose: PasskeyPurpose,
    ceremony: String,
    answer: String,
    name: Option<String>,
    current_password: Option<Secret>,
    next: Option<String>,
) -> Result<Option<RecoveryCodes>, AppError> {
    crate::ssr::run(|f: Feature, req| async move {
        match purpose {
            PasskeyPurpose::Register => {
                let user = crate::ssr::UserCtx::new(req)?;
                let name = crate::validation::validate_name(
                    "passkey name",
                    name.as_deref().unwrap_or_default(),
                )
                .map_err(AppError::Invalid)?;
                f.add_passkey(&user, &ceremony, &answer, &name).await
            }
            PasskeyPurpose::StepUp => {
                let user = crate::ssr::UserCtx::new(req)?;
                let password = current_password.unwrap_or_else(|| Secret::new(String::new()));
                let cookie = f
                    .step_up_with_passkey(&user, &password, &ceremony, &answer)
                    .await?;
                crate::ssr::append_set_cookie(&user.req, &cookie)?;
                Ok(None)
            }
            PasskeyPurpose::SecondFactor => {
                let cookies = f.verify_sign_in_passkey(&req, &ceremony, &answer).await?;
                signed_in(&req, cookies, next.as_deref())?;
                Ok(None)
            }
            PasskeyPurpose::SignIn => {
                let cookies = f.sign_in_with_passkey(&req, &ceremony, &answer).await?;
                signed_in(&req, cookies, next.as_deref())?;
                Ok(None)
            }
        }
    })
    .await
}

/// Sets the session's cookies and sends the browser to `next` (same-site paths only).
#[cfg(feature = "ssr")]
fn signed_in(
    req: &crate::ssr::RequestInfo,
    cookies: Vec<String>,
    next: Option<&str>,
) -> crate::ssr::Outcome<()> {
    for c in cookies {
        crate::ssr::append_set_cookie(req, &c)?;
    }
    let target = next
        .and_then(crate::validation::safe_next_path)
        .unwrap_or("/");
    leptos_axum::redirect(target);
    Ok(())
}
