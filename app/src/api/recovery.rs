//! Mailed links: a forgotten password (ask for a link, then set a new password with it)
//! and the two links of an email change (confirm the new address; "If this wasn't you"
//! from the old one). None needs a session: the link's token is the proof.

use crate::{
    error::AppError,
    models::{EmailLinkInfo, InvitationInfo, ResetLinkInfo},
    Secret,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
pub use server_side::*;

#[cfg(feature = "ssr")]
mod server_side {
    use crate::{
        models::{EmailLinkInfo, InvitationInfo, ResetLinkInfo},
        ssr::{Outcome, RequestInfo},
        Secret,
    };

    /// A new password set with a reset link, as submitted.
    #[derive(Debug, Clone)]
    pub struct PasswordReset {
        pub token: Secret,
        pub new: Secret,
        pub confirm: Secret,
        /// The authentication code (or recovery code) of a person with MFA.
        pub code: Option<Secret>,
        pub recovery: bool,
    }

    /// A new person accepting an invitation, as submitted.
    #[derive(Debug, Clone)]
    pub struct NewPerson {
        pub name: String,
        pub password: Secret,
        pub confirm: Secret,
    }

    /// Which link of an email change.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum EmailLinkKind {
        Confirm,
        Cancel,
    }

    /// Mailed links (implemented in the server's `recovery`).
    #[async_trait::async_trait]
    pub trait Recovery: Send + Sync + 'static {
        /// Sends a reset link to the address if a person has it: the answer and its
        /// timing are the same whether or not anyone has it (throttled per address and
        /// per client address).
        async fn request_password_reset(&self, req: &RequestInfo, email: &str) -> Outcome<()>;
        /// What the reset page needs to know of its link; an error when it is not valid.
        async fn reset_link(&self, req: &RequestInfo, token: &Secret) -> Outcome<ResetLinkInfo>;
        /// Sets the new password (with the code step for a person with MFA), ends every
        /// session of the person and clears their throttles.
        async fn reset_password(&self, req: &RequestInfo, reset: PasswordReset) -> Outcome<()>;
        /// What the page of an email change link shows; an error when it is not valid.
        async fn email_link(
            &self,
            req: &RequestInfo,
            kind: EmailLinkKind,
            token: &Secret,
        ) -> Outcome<EmailLinkInfo>;
        /// Proves the new address: the email changes now, the person's other sessions end.
        async fn confirm_email(&self, req: &RequestInfo, token: &Secret) -> Outcome<()>;
        /// "If this wasn't you": cancels the change; the address of a fresh reset link's
        /// page, where the person sets a new password.
        async fn cancel_email_change(&self, req: &RequestInfo, token: &Secret) -> Outcome<String>;
        /// What the page of an invitation link shows; an error when it is not valid.
        async fn invitation(&self, req: &RequestInfo, token: &Secret) -> Outcome<InvitationInfo>;
        /// "Accept invitation": the person the invitation is for (signed in), or a new
        /// person with `new` (name, password, confirmation), joins the account.
        async fn accept_invitation(
            &self,
            req: &RequestInfo,
            token: &Secret,
            new: Option<NewPerson>,
        ) -> Outcome<()>;
    }
}

#[cfg(feature = "ssr")]
type Feature = std::sync::Arc<dyn Recovery>;

/// "Send reset link": always the same answer (see [`Recovery::request_password_reset`]).
#[server(endpoint = "request_password_reset")]
pub async fn request_password_reset(email: String) -> Result<(), AppError> {
    crate::ssr::run(|f: Feature, req| async move {
        crate::validation::validate_email(&email).map_err(AppError::Invalid)?;
        f.request_password_reset(&req, &email).await
    })
    .await
}

/// What the reset page shows for its link.
#[server(endpoint = "reset_link")]
pub async fn reset_link(token: Secret) -> Result<ResetLinkInfo, AppError> {
    crate::ssr::run(|f: Feature, req| async move { f.reset_link(&req, &token).await }).await
}

/// "Set new password". On success the browser goes to the sign-in page, which says so.
#[server(endpoint = "reset_password")]
pub async fn reset_password(
    token: Secret,
    new_password: Secret,
    confirm_password: Secret,
    code: Option<String>,
    recovery: Option<String>,
) -> Result<(), AppError> {
    crate::ssr::run(|f: Feature, req| async move {
        let reset = PasswordReset {
            token,
            new: new_password,
            confirm: confirm_password,
            code: code.filter(|c| !c.trim().is_empty()).map(Secret::new),
            recovery: recovery.is_some(),
        };
        f.reset_password(&req, reset).await?;
        leptos_axum::redirect("/login?reset=1");
        Ok(())
    })
    .await
}

/// What the page of an email change link shows (`cancel`: the old address's link).
#[server(endpoint = "email_link")]
pub async fn email_link(token: Secret, cancel: bool) -> Result<EmailLinkInfo, AppError> {
    crate::ssr::run(|f: Feature, req| async move {
        let kind = if cancel {
            EmailLinkKind::Cancel
        } else {
            EmailLinkKind::Confirm
        };
        f.email_link(&req, kind, &token).await
    })
    .await
}

/// "Confirm email address".
#[server(endpoint = "confirm_email")]
pub async fn confirm_email(token: Secret) -> Result<(), AppError> {
    crate::ssr::run(|f: Feature, req| async move { f.confirm_email(&req, &token).await }).await
}

/// "Cancel the change": then on to set a new password.
#[server(endpoint = "cancel_email_change")]
pub async fn cancel_email_change(token: Secret) -> Result<(), AppError> {
    crate::ssr::run(|f: Feature, req| async move {
        let next = f.cancel_email_change(&req, &token).await?;
        leptos_axum::redirect(&next);
        Ok(())
    })
    .await
}

/// What the page of an invitation link shows.
#[server(endpoint = "invitation")]
pub async fn invitation(token: Secret) -> Result<InvitationInfo, AppError> {
    crate::ssr::run(|f: Feature, req| async move { f.invitation(&req, &token).await }).await
}

/// "Accept invitation". A new person gives `name`, `new_password` and
/// `confirm_password`, and then signs in; a signed-in person goes to the portal.
#[server(endpoint = "accept_invitation")]
pub async fn accept_invitation(
    token: Secret,
    name: Option<String>,
    new_password: Option<Secret>,
    confirm_password: Option<Secret>,
) -> Result<(), AppError> {
    crate::ssr::run(|f: Feature, req| async move {
        let new = match (name, new_password, confirm_password) {
            (Some(name), Some(password), Some(confirm)) => Some(NewPerson {
                name,
                password,
                confirm,
            }),
            _ => None,
        };
        let created = new.is_some();
        f.accept_invitation(&req, &token, new).await?;
        leptos_axum::redirect(if created { "/login?invited=1" } else { "/" });
        Ok(())
    })
    .await
}
