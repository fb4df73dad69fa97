//! Account administration: the MFA policy and single sign-on of one account, for its
//! administrators only.

use crate::{
    error::AppError,
    models::{AccountId, SsoTestReport},
    Secret,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
pub use server_side::*;

#[cfg(feature = "ssr")]
mod server_side {
    use crate::{
        models::{
            AccountId, AccountMfaSettings, AccountSsoSettings, GraceDays, MfaPolicy, SsoTestReport,
        },
        ssr::{Outcome, UserCtx},
        Secret,
    };

    /// The single sign-on form, as submitted.
    #[derive(Debug, Clone)]
    pub struct SsoForm {
        pub enabled: bool,
        pub issuer: String,
        pub client_id: String,
        pub client_secret: Secret,
        pub domains: String,
    }

    /// One account's administration (implemented in the server's `account_admin`). Every
    /// method first checks that the person administers `account`.
    #[async_trait::async_trait]
    pub trait AccountAdministration: Send + Sync + 'static {
        /// The policy page: policy, history, one page of member compliance (optionally
        /// only members without MFA).
        async fn account_mfa_settings(
            &self,
            user: &UserCtx,
            account: AccountId,
            page: i64,
            without_mfa: bool,
        ) -> Outcome<AccountMfaSettings>;
        /// Changes the MFA policy (with the lockout guard and a recent step-up).
        async fn set_account_mfa_policy(
            &self,
            user: &UserCtx,
            account: AccountId,
            policy: MfaPolicy,
            grace: GraceDays,
            require_passkeys: bool,
        ) -> Outcome<()>;
        /// The single sign-on settings (never the secret).
        async fn account_sso_settings(
            &self,
            user: &UserCtx,
            account: AccountId,
        ) -> Outcome<AccountSsoSettings>;
        /// Saves the single sign-on settings; an empty `client_secret` keeps the stored one.
        async fn save_account_sso(
            &self,
            user: &UserCtx,
            account: AccountId,
            form: SsoForm,
        ) -> Outcome<()>;
        /// Proves one of the account's single sign-on domains by its DNS TXT record.
        async fn verify_sso_domain(
            &self,
            user: &UserCtx,
            account: AccountId,
            domain: &str,
        ) -> Outcome<()>;
        /// Fetches the provider's discovery document and keys and reports what it found.
        async fn test_account_sso(
            &self,
            user: &UserCtx,
            account: AccountId,
        ) -> Outcome<SsoTestReport>;
    }
}

#[cfg(feature = "ssr")]
type Feature = std::sync::Arc<dyn AccountAdministration>;

/// An account's MFA policy, history and member compliance (administrators only).
#[server(endpoint = "account_mfa_settings")]
pub async fn account_mfa_settings(
    account_id: AccountId,
    page: Option<i64>,
    without_mfa: Option<bool>,
) -> Result<crate::models::AccountMfaSettings, AppError> {
    let (page, without_mfa) = (page.unwrap_or(1), without_mfa.unwrap_or(false));
    crate::ssr::run_user(|f: Feature, user| async move {
        f.account_mfa_settings(&user, account_id, page, without_mfa)
            .await
    })
    .await
}

/// Changes an account's MFA policy (administrators only). `policy` is `optional`,
/// `admins` or `all`; `grace_days` 0–30 (ignored for `optional`); `require_passkeys`
/// (present) asks passkeys of the people it covers (ignored for `optional`).
#[server(endpoint = "set_account_mfa_policy")]
pub async fn set_account_mfa_policy(
    account_id: AccountId,
    policy: String,
    grace_days: String,
    require_passkeys: Option<String>,
) -> Result<(), AppError> {
    crate::ssr::run_user(|f: Feature, user| async move {
        // Validated here, as in the browser: bad input changes nothing.
        let policy = crate::models::MfaPolicy::parse(&policy)
            .ok_or_else(|| AppError::Invalid("Choose one of the three policies.".into()))?;
        let grace =
            crate::models::GraceDays::parse_for(policy, &grace_days).map_err(AppError::Invalid)?;
        let passkeys = require_passkeys.is_some() && policy != crate::models::MfaPolicy::Optional;
        f.set_account_mfa_policy(&user, account_id, policy, grace, passkeys)
            .await
    })
    .await
}

/// An account's single sign-on settings (administrators only).
#[server(endpoint = "account_sso_settings")]
pub async fn account_sso_settings(
    account_id: AccountId,
) -> Result<crate::models::AccountSsoSettings, AppError> {
    crate::ssr::run_user(|f: Feature, user| async move {
        f.account_sso_settings(&user, account_id).await
    })
    .await
}

/// Saves an account's single sign-on settings (administrators only).
#[server(endpoint = "save_account_sso")]
pub async fn save_account_sso(
    account_id: AccountId,
    issuer: String,
    client_id: String,
    client_secret: Secret,
    domains: String,
    enabled: Option<String>,
) -> Result<(), AppError> {
    crate::ssr::run_user(|f: Feature, user| async move {
        let form = SsoForm {
            enabled: enabled.is_some(),
            issuer,
            client_id,
            client_secret,
            domains,
        };
        f.save_account_sso(&user, account_id, form).await
    })
    .await
}

/// "Test connection": the provider's discovery document and keys (administrators only).
#[server(endpoint = "test_account_sso")]
pub async fn test_account_sso(account_id: AccountId) -> Result<SsoTestReport, AppError> {
    crate::ssr::run_user(
        |f: Feature, user| async move { f.test_account_sso(&user, account_id).await },
    )
    .await
}

/// "Verify": proves one of the account's single sign-on email domains by its DNS TXT
/// record (administrators only).
#[server(endpoint = "verify_sso_domain")]
pub async fn verify_sso_domain(account_id: AccountId, domain: String) -> Result<(), AppError> {
    crate::ssr::run_user(|f: Feature, user| async move {
        f.verify_sso_domain(&user, account_id, &domain).await
    })
    .await
}
