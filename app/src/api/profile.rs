//! The profile sections: General, the password and email in Security, deleting oneself,
//! Sessions and recent security activity.

use crate::{
    error::AppError,
    models::{SecurityEventInfo, SessionId, SessionsPage},
    Secret,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
pub use server_side::*;

#[cfg(feature = "ssr")]
mod server_side {
    use crate::{
        models::{GeneralSettings, SecurityEventInfo, SessionId, SessionsPage},
        ssr::{Outcome, UserCtx},
        Secret,
    };

    /// The General section's form, as submitted.
    #[derive(Debug, Clone)]
    pub struct GeneralUpdate {
        pub name: String,
        pub time_zone: String,
        pub date_format: String,
        pub time_format: String,
        pub news_opt_in: bool,
    }

    /// A password change, as submitted.
    #[derive(Debug, Clone)]
    pub struct PasswordChange {
        pub current: Secret,
        pub new: Secret,
        pub confirm: Secret,
        pub sign_out_others: bool,
    }

    /// The signed-in person's own profile (implemented in the server's `profile`).
    #[async_trait::async_trait]
    pub trait Profile: Send + Sync + 'static {
        /// Name, email, preferences and the current time in them.
        async fn general_settings(&self, user: &UserCtx) -> Outcome<GeneralSettings>;
        /// Saves the name and preferences (validated again here).
        async fn save_general(&self, user: &UserCtx, update: GeneralUpdate) -> Outcome<()>;
        /// Asks to change the email after checking the current password: a link goes to
        /// the new address (which changes only when it is followed) and a notice to the
        /// old one.
        async fn change_email(
            &self,
            user: &UserCtx,
            new_email: &str,
            current_password: &Secret,
        ) -> Outcome<()>;
        /// Sends the pending change's confirmation link again (a fresh one).
        async fn resend_email_confirmation(&self, user: &UserCtx) -> Outcome<()>;
        /// Drops the pending change.
        async fn cancel_pending_email(&self, user: &UserCtx) -> Outcome<()>;
        /// Changes the password after checking the current one; optionally ends the
        /// person's other sessions.
        async fn change_password(&self, user: &UserCtx, change: PasswordChange) -> Outcome<()>;
        /// Permanently deletes the signed-in person; the `Set-Cookie` values that clear
        /// the session cookie and have the browser clear what the portal kept in it.
        async fn delete_self(
            &self,
            user: &UserCtx,
            current_password: &Secret,
            confirm_email: &str,
        ) -> Outcome<Vec<String>>;
        /// One page (1-based) of the person's sessions, newest first.
        async fn sessions(&self, user: &UserCtx, page: u32) -> Outcome<SessionsPage>;
        /// Ends one of the person's other sessions.
        async fn revoke_session(&self, user: &UserCtx, session: SessionId) -> Outcome<()>;
        /// Ends all of the person's sessions but this one; returns how many.
        async fn revoke_other_sessions(&self, user: &UserCtx) -> Outcome<u64>;
        /// The person's recent security events, newest first.
        async fn security_activity(&self, user: &UserCtx) -> Outcome<Vec<SecurityEventInfo>>;
    }
}

#[cfg(feature = "ssr")]
type Feature = std::sync::Arc<dyn Profile>;

/// The General section's data.
#[server(endpoint = "general_settings")]
pub async fn general_settings() -> Result<crate::models::GeneralSettings, AppError> {
    crate::ssr::run_user(|f: Feature, user| async move { f.general_settings(&user).await }).await
}

/// Saves name and preferences. `news_opt_in` is a checkbox: present when checked.
#[server(endpoint = "save_general")]
pub async fn save_general(
    name: String,
    time_zone: String,
    date_format: String,
    time_format: String,
    news_opt_in: Option<String>,
) -> Result<(), AppError> {
    crate::ssr::run_user(|f: Feature, user| async move {
        let update = GeneralUpdate {
            name,
            time_zone,
            date_format,
            time_format,
            news_opt_in: news_opt_in.is_some(),
        };
        f.save_general(&user, update).await
    })
    .await
}

/// Asks to change the email (proven by a link sent to it); needs the current password.
#[server(endpoint = "change_email")]
pub async fn change_email(new_email: String, current_password: Secret) -> Result<(), AppError> {
    crate::ssr::run_user(|f: Feature, user| async move {
        f.change_email(&user, &new_email, &current_password).await
    })
    .await
}

/// "Resend": the pending email change's confirmation link, again.
#[server(endpoint = "resend_email_confirmation")]
pub async fn resend_email_confirmation() -> Result<(), AppError> {
    crate::ssr::run_user(|f: Feature, user| async move { f.resend_email_confirmation(&user).await })
        .await
}

/// "Cancel": drops the pending email change.
#[server(endpoint = "cancel_pending_email")]
pub async fn cancel_pending_email() -> Result<(), AppError> {
    crate::ssr::run_user(|f: Feature, user| async move { f.cancel_pending_email(&user).await })
        .await
}

/// Changes the password. `sign_out_others` is a checkbox: present when checked.
#[server(endpoint = "change_password")]
pub async fn change_password(
    current_password: Secret,
    new_password: Secret,
    confirm_password: Secret,
    sign_out_others: Option<String>,
) -> Result<(), AppError> {
    crate::ssr::run_user(|f: Feature, user| async move {
        let change = PasswordChange {
            current: current_password,
            new: new_password,
            confirm: confirm_password,
            sign_out_others: sign_out_others.is_some(),
        };
        f.change_password(&user, change).await
    })
    .await
}

/// Permanently deletes the signed-in person, then signs them out.
#[server(endpoint = "delete_account")]
pub async fn delete_account(
    current_password: Secret,
    confirm_email: String,
) -> Result<(), AppError> {
    crate::ssr::run_user(|f: Feature, user| async move {
        let cookies = f
            .delete_self(&user, &current_password, &confirm_email)
            .await?;
        for cookie in cookies {
            crate::ssr::append_set_cookie(&user.req, &cookie)?;
        }
        leptos_axum::redirect("/login?deleted=1");
        Ok(())
    })
    .await
}

/// One page of the person's sessions.
#[server(endpoint = "sessions")]
pub async fn list_sessions(page: u32) -> Result<SessionsPage, AppError> {
    crate::ssr::run_user(|f: Feature, user| async move { f.sessions(&user, page).await }).await
}

/// Ends one of the person's other sessions.
#[server(endpoint = "revoke_session")]
pub async fn revoke_session(session_id: SessionId) -> Result<(), AppError> {
    crate::ssr::run_user(
        |f: Feature, user| async move { f.revoke_session(&user, session_id).await },
    )
    .await
}

/// Ends all of the person's other sessions.
#[server(endpoint = "revoke_other_sessions")]
pub async fn revoke_other_sessions() -> Result<u64, AppError> {
    crate::ssr::run_user(|f: Feature, user| async move { f.revoke_other_sessions(&user).await })
        .await
}

/// Recent security activity.
#[server(endpoint = "security_activity")]
pub async fn security_activity() -> Result<Vec<SecurityEventInfo>, AppError> {
    crate::ssr::run_user(|f: Feature, user| async move { f.security_activity(&user).await }).await
}
