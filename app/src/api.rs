//! Server functions: thin wrappers that hand the call to the server's [`Backend`].
//!
//! [`Backend`]: crate::ssr::Backend

use crate::{error::AppError, models::Viewer, Secret};
use leptos::prelude::*;

/// The signed-in person with their accounts, for the portal shell.
#[server(endpoint = "viewer")]
pub async fn get_viewer() -> Result<Viewer, AppError> {
    crate::ssr::run(|backend, req| async move { backend.viewer(&req).await }).await
}

/// Password sign-in. On success the session cookie is set and the browser is sent to
/// `next` (only same-site relative paths; anything else goes to the home page).
#[server(endpoint = "sign_in")]
pub async fn sign_in(
    email: String,
    password: Secret,
    next: Option<String>,
) -> Result<(), AppError> {
    crate::ssr::run(|backend, req| async move {
        crate::validation::validate_email(&email).map_err(|_| AppError::BadCredentials)?;
        let cookie = backend.sign_in(&req, &email, &password).await?;
        crate::ssr::append_set_cookie(&req, &cookie)?;
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
    crate::ssr::run(|backend, req| async move {
        let cookie = backend.sign_out(&req).await?;
        crate::ssr::append_set_cookie(&req, &cookie)?;
        leptos_axum::redirect("/login");
        Ok(())
    })
    .await
}

/// Makes another of the person's accounts the active one for this session.
#[server(endpoint = "switch_account")]
pub async fn switch_account(account_id: i64) -> Result<(), AppError> {
    crate::ssr::run(|backend, req| async move { backend.switch_account(&req, account_id).await })
        .await
}
