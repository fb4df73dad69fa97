//! Multi-factor authentication in the Security section, and "Confirm it's you".

use crate::{
    error::AppError,
    models::{MfaEnrolment, RecoveryCodes},
    Secret,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
pub use server_side::*;

#[cfg(feature = "ssr")]
mod server_side {
    use crate::{
        models::{MfaEnrolment, MfaStatus, RecoveryCodes},
        ssr::{Outcome, UserCtx},
        Secret,
    };

    /// The person's second factor and step-up (implemented in the server's `mfa_flow`).
    #[async_trait::async_trait]
    pub trait Mfa: Send + Sync + 'static {
        /// Whether MFA is on, since when, recovery codes left, elevation left.
        async fn mfa_status(&self, user: &UserCtx) -> Outcome<MfaStatus>;
        /// "Confirm it's you": the person's own password, and their authentication code
        /// (or a recovery code) when MFA is on, inside the current session. The session
        /// gains those factors and a few minutes of elevation, under a new token: returns
        /// the `Set-Cookie` value carrying it.
        async fn step_up(
            &self,
            user: &UserCtx,
            current_password: &Secret,
            code: Option<&str>,
            recovery: bool,
        ) -> Outcome<String>;
        /// Starts (or restarts) an enrolment; needs a recent step-up.
        async fn start_mfa_enrolment(&self, user: &UserCtx) -> Outcome<MfaEnrolment>;
        /// Finishes the enrolment with a code from the app; the recovery codes (when
        /// this turned MFA on; with passkeys it was on and the codes stay) and the
        /// `Set-Cookie` value of the session's new token (it gained a factor).
        async fn enable_mfa(
            &self,
            user: &UserCtx,
            code: &str,
            sign_out_others: bool,
        ) -> Outcome<(Option<RecoveryCodes>, String)>;
        /// Replaces all recovery codes; needs a valid code.
        async fn regenerate_recovery_codes(
            &self,
            user: &UserCtx,
            code: &str,
            sign_out_others: bool,
        ) -> Outcome<RecoveryCodes>;
        /// Turns MFA off; needs the current password and a valid code.
        async fn disable_mfa(
            &self,
            user: &UserCtx,
            current_password: &Secret,
            code: &str,
            sign_out_others: bool,
        ) -> Outcome<()>;
    }
}

#[cfg(feature = "ssr")]
type Feature = std::sync::Arc<dyn Mfa>;

/// Multi-factor authentication state for the Security section.
#[server(endpoint = "mfa_status")]
pub async fn mfa_status() -> Result<crate::models::MfaStatus, AppError> {
    crate::ssr::run_user(|f: Feature, user| async move { f.mfa_status(&user).await }).await
}

/// "Confirm it's you": the current password, and the authentication code when MFA is on.
/// The session then may enter the person's other accounts and, for a few minutes, make
/// sensitive changes (MFA set-up, account settings).
/// `recovery` (present) says `code` is one of the person's recovery codes.
#[server(endpoint = "step_up")]
pub async fn step_up(
    current_password: Secret,
    code: Option<String>,
    recovery: Option<String>,
) -> Result<(), AppError> {
    crate::ssr::run_user(|f: Feature, user| async move {
        let code = code.filter(|c| !c.trim().is_empty());
        let cookie = f
            .step_up(
                &user,
                &current_password,
                code.as_deref(),
                recovery.is_some(),
            )
            .await?;
        crate::ssr::append_set_cookie(&user.req, &cookie)
    })
    .await
}

/// Starts MFA enrolment: QR code and key.
#[server(endpoint = "start_mfa_enrolment")]
pub async fn start_mfa_enrolment() -> Result<MfaEnrolment, AppError> {
    crate::ssr::run_user(|f: Feature, user| async move { f.start_mfa_enrolment(&user).await }).await
}

/// Finishes enrolment with a code from the app: the recovery codes, when this turned MFA
/// on.
#[server(endpoint = "enable_mfa")]
pub async fn enable_mfa(
    code: String,
    sign_out_others: Option<String>,
) -> Result<Option<RecoveryCodes>, AppError> {
    crate::ssr::run_user(|f: Feature, user| async move {
        let (codes, cookie) = f
            .enable_mfa(&user, &code, sign_out_others.is_some())
            .await?;
        crate::ssr::append_set_cookie(&user.req, &cookie)?;
        Ok(codes)
    })
    .await
}

/// Replaces the recovery codes (needs a valid code).
#[server(endpoint = "regenerate_recovery_codes")]
pub async fn regenerate_recovery_codes(
    code: String,
    sign_out_others: Option<String>,
) -> Result<RecoveryCodes, AppError> {
    crate::ssr::run_user(|f: Feature, user| async move {
        f.regenerate_recovery_codes(&user, &code, sign_out_others.is_some())
            .await
    })
    .await
}

/// Turns MFA off (needs the current password and a valid code).
#[server(endpoint = "disable_mfa")]
pub async fn disable_mfa(
    current_password: Secret,
    code: String,
    sign_out_others: Option<String>,
) -> Result<(), AppError> {
    crate::ssr::run_user(|f: Feature, user| async move {
        f.disable_mfa(&user, &current_password, &code, sign_out_others.is_some())
            .await
    })
    .await
}
