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
        let target = next
            .as_deref()
            .and_then(crate::validation::safe_next_path)
            .unwrap_or("/");
        match backend.sign_in(&req, &email, &password).await? {
            crate::ssr::SignInOutcome::SignedIn(cookie) => {
                crate::ssr::append_set_cookie(&req, &cookie)?;
                leptos_axum::redirect(target);
            }
            crate::ssr::SignInOutcome::CodeRequired(cookie) => {
                crate::ssr::append_set_cookie(&req, &cookie)?;
                let next: String = crate::format::url_encode(target);
                leptos_axum::redirect(&format!("/login/code?next={next}"));
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
    crate::ssr::run(|backend, req| async move {
        let cookies = backend
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
    crate::ssr::run(|backend, req| async move {
        let cookie = backend.sign_out(&req).await?;
        crate::ssr::append_set_cookie(&req, &cookie)?;
        // Nothing private survives in the browser (ASVS 14.3.1): this flag makes
        // /pwa.js on the sign-in page delete the portal's caches and web storage. (The
        // `Clear-Site-Data` header on this redirect made Chromium reload the old page.)
        crate::ssr::append_set_cookie(&req, "portal_clear=1; Path=/; Max-Age=60; SameSite=Lax")?;
        leptos_axum::redirect("/login");
        Ok(())
    })
    .await
}

/// Makes another of the person's accounts the active one for this session. Returns the
/// MFA set-up page to go to first when that account requires MFA of the person.
#[server(endpoint = "switch_account")]
pub async fn switch_account(account_id: i64) -> Result<Option<String>, AppError> {
    crate::ssr::run(|backend, req| async move { backend.switch_account(&req, account_id).await })
        .await
}

/// The General section's data.
#[server(endpoint = "general_settings")]
pub async fn general_settings() -> Result<crate::models::GeneralSettings, AppError> {
    crate::ssr::run(|backend, req| async move { backend.general_settings(&req).await }).await
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
    crate::ssr::run(|backend, req| async move {
        let update = crate::ssr::GeneralUpdate {
            name,
            time_zone,
            date_format,
            time_format,
            news_opt_in: news_opt_in.is_some(),
        };
        backend.save_general(&req, update).await
    })
    .await
}

/// Changes the email; needs the current password.
#[server(endpoint = "change_email")]
pub async fn change_email(new_email: String, current_password: Secret) -> Result<(), AppError> {
    crate::ssr::run(|backend, req| async move {
        backend
            .change_email(&req, &new_email, &current_password)
            .await
    })
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
    crate::ssr::run(|backend, req| async move {
        let change = crate::ssr::PasswordChange {
            current: current_password,
            new: new_password,
            confirm: confirm_password,
            sign_out_others: sign_out_others.is_some(),
        };
        backend.change_password(&req, change).await
    })
    .await
}

/// Permanently deletes the signed-in person, then signs them out.
#[server(endpoint = "delete_account")]
pub async fn delete_account(
    current_password: Secret,
    confirm_email: String,
) -> Result<(), AppError> {
    crate::ssr::run(|backend, req| async move {
        let cookie = backend
            .delete_self(&req, &current_password, &confirm_email)
            .await?;
        crate::ssr::append_set_cookie(&req, &cookie)?;
        leptos_axum::redirect("/login?deleted=1");
        Ok(())
    })
    .await
}

/// One page of the person's sessions.
#[server(endpoint = "sessions")]
pub async fn list_sessions(page: u32) -> Result<crate::models::SessionsPage, AppError> {
    crate::ssr::run(|backend, req| async move { backend.sessions(&req, page).await }).await
}

/// Ends one of the person's other sessions.
#[server(endpoint = "revoke_session")]
pub async fn revoke_session(session_id: i64) -> Result<(), AppError> {
    crate::ssr::run(|backend, req| async move { backend.revoke_session(&req, session_id).await })
        .await
}

/// Ends all of the person's other sessions.
#[server(endpoint = "revoke_other_sessions")]
pub async fn revoke_other_sessions() -> Result<u64, AppError> {
    crate::ssr::run(|backend, req| async move { backend.revoke_other_sessions(&req).await }).await
}

/// Recent security activity.
#[server(endpoint = "security_activity")]
pub async fn security_activity() -> Result<Vec<crate::models::SecurityEventInfo>, AppError> {
    crate::ssr::run(|backend, req| async move { backend.security_activity(&req).await }).await
}

/// Multi-factor authentication state for the Security section.
#[server(endpoint = "mfa_status")]
pub async fn mfa_status() -> Result<crate::models::MfaStatus, AppError> {
    crate::ssr::run(|backend, req| async move { backend.mfa_status(&req).await }).await
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
    crate::ssr::run(|backend, req| async move {
        let code = code.filter(|c| !c.trim().is_empty());
        let cookie = backend
            .step_up(&req, &current_password, code.as_deref(), recovery.is_some())
            .await?;
        crate::ssr::append_set_cookie(&req, &cookie)
    })
    .await
}

/// Starts MFA enrolment: QR code and key.
#[server(endpoint = "start_mfa_enrolment")]
pub async fn start_mfa_enrolment() -> Result<crate::models::MfaEnrolment, AppError> {
    crate::ssr::run(|backend, req| async move { backend.start_mfa_enrolment(&req).await }).await
}

/// Finishes enrolment with a code from the app.
#[server(endpoint = "enable_mfa")]
pub async fn enable_mfa(
    code: String,
    sign_out_others: Option<String>,
) -> Result<crate::models::RecoveryCodes, AppError> {
    crate::ssr::run(|backend, req| async move {
        let (codes, cookie) = backend
            .enable_mfa(&req, &code, sign_out_others.is_some())
            .await?;
        crate::ssr::append_set_cookie(&req, &cookie)?;
        Ok(codes)
    })
    .await
}

/// Replaces the recovery codes (needs a valid code).
#[server(endpoint = "regenerate_recovery_codes")]
pub async fn regenerate_recovery_codes(
    code: String,
    sign_out_others: Option<String>,
) -> Result<crate::models::RecoveryCodes, AppError> {
    crate::ssr::run(|backend, req| async move {
        backend
            .regenerate_recovery_codes(&req, &code, sign_out_others.is_some())
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
    crate::ssr::run(|backend, req| async move {
        backend
            .disable_mfa(&req, &current_password, &code, sign_out_others.is_some())
            .await
    })
    .await
}

/// An account's MFA policy, history and member compliance (administrators only).
#[server(endpoint = "account_mfa_settings")]
pub async fn account_mfa_settings(
    account_id: i64,
    page: Option<i64>,
    without_mfa: Option<bool>,
) -> Result<crate::models::AccountMfaSettings, AppError> {
    let (page, without_mfa) = (page.unwrap_or(1), without_mfa.unwrap_or(false));
    crate::ssr::run(|backend, req| async move {
        backend
            .account_mfa_settings(&req, account_id, page, without_mfa)
            .await
    })
    .await
}

/// Changes an account's MFA policy (administrators only). `policy` is `optional`,
/// `admins` or `all`; `grace_days` 0–30 (ignored for `optional`).
#[server(endpoint = "set_account_mfa_policy")]
pub async fn set_account_mfa_policy(
    account_id: i64,
    policy: String,
    grace_days: String,
) -> Result<(), AppError> {
    crate::ssr::run(|backend, req| async move {
        backend
            .set_account_mfa_policy(&req, account_id, &policy, &grace_days)
            .await
    })
    .await
}

/// Sign-in through the person's organisation: finds the account whose directory owns the
/// email's domain and sends the browser to that directory.
#[server(endpoint = "start_sso")]
pub async fn start_sso(email: String, next: Option<String>) -> Result<(), AppError> {
    crate::ssr::run(|backend, req| async move {
        let (url, cookie) = backend.start_sso(&req, &email, next.as_deref()).await?;
        crate::ssr::append_set_cookie(&req, &cookie)?;
        leptos_axum::redirect(&url);
        Ok(())
    })
    .await
}

/// An account's single sign-on settings (administrators only).
#[server(endpoint = "account_sso_settings")]
pub async fn account_sso_settings(
    account_id: i64,
) -> Result<crate::models::AccountSsoSettings, AppError> {
    crate::ssr::run(
        |backend, req| async move { backend.account_sso_settings(&req, account_id).await },
    )
    .await
}

/// Saves an account's single sign-on settings (administrators only).
#[server(endpoint = "save_account_sso")]
pub async fn save_account_sso(
    account_id: i64,
    issuer: String,
    client_id: String,
    client_secret: Secret,
    domains: String,
    enabled: Option<String>,
) -> Result<(), AppError> {
    crate::ssr::run(|backend, req| async move {
        let form = crate::ssr::SsoForm {
            enabled: enabled.is_some(),
            issuer,
            client_id,
            client_secret,
            domains,
        };
        backend.save_account_sso(&req, account_id, form).await
    })
    .await
}

/// "Test connection": the provider's discovery document and keys (administrators only).
#[server(endpoint = "test_account_sso")]
pub async fn test_account_sso(account_id: i64) -> Result<crate::models::SsoTestReport, AppError> {
    crate::ssr::run(|backend, req| async move { backend.test_account_sso(&req, account_id).await })
        .await
}

/// "Verify": proves one of the account's single sign-on email domains by its DNS TXT
/// record (administrators only).
#[server(endpoint = "verify_sso_domain")]
pub async fn verify_sso_domain(account_id: i64, domain: String) -> Result<(), AppError> {
    crate::ssr::run(|backend, req| async move {
        backend.verify_sso_domain(&req, account_id, &domain).await
    })
    .await
}
