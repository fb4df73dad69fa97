//! Sign-in through an account's directory (OpenID Connect authorization code flow with
//! PKCE), from the email typed on the sign-in page to the session.

use crate::{
    db::directory,
    db::events::{self, EventKind},
    db::sso,
    oidc::{self, Expected},
    sessions,
    state::AppState,
};
use app::{
    models::SsoFailure,
    ssr::{Fail, RequestInfo},
    validation::{email_domain, normalize_email},
};

/// Logs an internal failure of the callback with the request id (the person is told
/// only that the sign-in did not work, by its failure code).
fn internal(req: &RequestInfo, e: impl std::error::Error + Send + Sync + 'static) {
    let _ = Fail::from(e).into_app_error(&req.request_id);
}

/// What the provider sends back to `/sso/callback`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
}

impl AppState {
    /// Where providers send people back; to be registered with the provider.
    pub fn sso_redirect_uri(&self) -> String {
        format!("{}/sso/callback", self.config.public_origin)
    }

    /// A pooled connection for the callback; a failure is logged and reported as the
    /// provider's (the person is told only that the sign-in did not work).
    async fn sso_conn(
        &self,
        req: &RequestInfo,
    ) -> Result<sqlx::pool::PoolConnection<sqlx::Any>, SsoFailure> {
        self.db.acquire().await.map_err(|e| {
            internal(req, e);
            SsoFailure::Provider
        })
    }

    /// Finishes a sign-in coming back from the provider. On success: the cookies to set
    /// and where to go. On failure: why, as a code the sign-in page explains.
    pub async fn finish_sso(
        &self,
        req: &RequestInfo,
        callback: Callback,
        state_cookie: Option<String>,
    ) -> Result<(Vec<String>, String), SsoFailure> {
        let result: Result<(Vec<String>, String), SsoFailure> = async {
            let log = |what: &str, detail: &dyn std::fmt::Display| {
                tracing::warn!(request_id = %req.request_id, what, detail = %detail, "single sign-on refused");
            };
            // The state must come back in the query and in this browser's cookie, and match
            // a request started here that has not been used or expired.
            let state = match (callback.state.as_deref(), state_cookie.as_deref()) {
                (Some(q), Some(c)) if !q.is_empty() && q == c => q.to_string(),
                _ => {
                    log("state", &"missing or not this browser's");
                    return Err(SsoFailure::State);
                }
            };
            let now = self.now();
            let pending = match sso::take_request(&mut *self.sso_conn(req).await?, &state, now).await {
                Ok(Some(p)) => p,
                Ok(None) => {
                    log("state", &"unknown, used or expired");
                    return Err(SsoFailure::State);
                }
                Err(e) => {
                    internal(req, e);
                    return Err(SsoFailure::Provider);
                }
            };
            if let Some(error) = callback.error {
                // Whatever the provider (or anyone crafting the address) sent: escaped, short.
                log("provider error", &crate::oidc::provider_text(&error));
                return Err(SsoFailure::Denied);
            }
            let Some(code) = callback.code.filter(|c| !c.is_empty()) else {
                log("code", &"missing");
                return Err(SsoFailure::Denied);
            };
            let account_id = pending.account_id;
            let config = match sso::load(&mut *self.sso_conn(req).await?, account_id).await {
                Ok(Some(c)) if c.enabled => c,
                Ok(_) => return Err(SsoFailure::Disabled),
                Err(e) => {
                    internal(req, e);
                    return Err(SsoFailure::Provider);
                }
            };
            let secret = match sso::client_secret(
                &mut *self.sso_conn(req).await?,
                &self.secret_key,
                account_id,
            )
            .await
            {
                Ok(Some(s)) => s,
                Ok(None) => return Err(SsoFailure::Disabled),
                Err(e) => {
                    internal(req, e);
                    return Err(SsoFailure::Provider);
                }
            };
            let verified = async {
                let (d, keys) = self
                    .oidc_cache
                    .provider(
                        &self.http,
                        &config.issuer,
                        self.config.sso_allow_private_issuers,
                    )
                    .await?;
                let timing = self.oidc_cache.timing();
                let tokens = oidc::timed(
                    timing,
                    "token",
                    oidc::exchange_code(
                        &self.http,
                        &d,
                        &config.client_id,
                        &secret,
                        &code,
                        &self.sso_redirect_uri(),
                        &pending.verifier,
                    ),
                )
                .await?;
                let claims = oidc::verify_id_token(
                    &tokens.id_token,
                    &keys,
                    Expected {
                        issuer: &config.issuer,
                        client_id: &config.client_id,
                        nonce: &pending.nonce,
                        now: now / 1000,
                    },
                )?;
                let email = match (claims.email.clone(), tokens.access_token.as_deref()) {
                    (Some(e), _) => Some(e),
                    (None, Some(at)) => {
                        let call = oidc::userinfo_email(&self.http, &d, at, &claims.subject);
                        oidc::timed(timing, "userinfo", call).await?
                    }
                    (None, None) => None,
                };
                email.ok_or(oidc::OidcError::InvalidToken("no verified email"))
            }
            .await;
            let email = match verified {
                Ok(e) => e,
                Err(e @ oidc::OidcError::InvalidToken(_)) => {
                    log("id token", &e);
                    return Err(SsoFailure::Token);
                }
                Err(e) => {
                    log("provider", &e);
                    return Err(SsoFailure::Provider);
                }
            };
            // The directory vouches only for its own domains, and only for members.
            let in_domains = email_domain(&email).is_some_and(|d| config.proves(&d));
            let user = if in_domains {
                directory::login_record(&mut *self.sso_conn(req).await?, &normalize_email(&email))
                    .await
                    .map_err(|e| {
                        internal(req, e);
                        SsoFailure::Provider
                    })?
                    .map(|r| r.user_id)
            } else {
                None
            };
            let member = match user {
                Some(u) => directory::is_member(&mut *self.sso_conn(req).await?, u, account_id)
                    .await
                    .map_err(|e| {
                        internal(req, e);
                        SsoFailure::Provider
                    })?
                    .then_some(u),
                None => None,
            };
            let Some(user_id) = member else {
                log("membership", &"not a member of the account");
                // Best effort: the person is told they are not a member either way.
                if let (Some(u), Ok(mut conn)) = (user, self.db.acquire().await) {
                    let _ = events::record(
                        &mut conn,
                        Some(u),
                        EventKind::SignInFailed,
                        now,
                        req.ip.as_deref(),
                        req.user_agent.as_deref(),
                        Some("single sign-on: not a member"),
                    )
                    .await;
                }
                return Err(SsoFailure::NotMember);
            };
            // One transaction: an older session in this browser ends, and the new one starts
            // recording its directory.
            let session = async {
                let mut tx = self.db.begin().await?;
                if let Some(old) = req.session {
                    crate::db::sessions::end(
                        &mut tx,
                        old.session_id,
                        sessions::EndReason::SignedOut,
                        now,
                    )
                    .await?;
                }
                let cookie = self
                    .start_session(
                        &mut tx,
                        req,
                        user_id,
                        crate::sessions::Factors::SSO,
                        Some(account_id),
                        Some("single sign-on"),
                    )
                    .await?;
                tx.commit().await?;
                Ok::<_, Fail>(cookie)
            }
            .await
            .map_err(|e| {
                e.into_app_error(&req.request_id);
                SsoFailure::Provider
            })?;
            tracing::info!(request_id = %req.request_id, user_id, account_id, "signed in through single sign-on");
            let mut cookies = session;
            cookies.push(crate::web::cookies::clear_sso_state_cookie(&self.config));
            Ok((cookies, pending.next_path))
        }
        .await;
        let outcome = if result.is_ok() { "success" } else { "refused" };
        self.metrics.sign_in("sso", outcome);
        result
    }
}
