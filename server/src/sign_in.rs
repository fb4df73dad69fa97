//! Signing in: the password with its throttles, the code step, the start of single
//! sign-on, signing out, the signed-in person and switching the active account. Session
//! creation for every way in (password, code, directory) is here.

use crate::{
    db::directory,
    db::events::{self, EventKind},
    db::sso,
    db::throttle::{self, Reserve, Scope},
    oidc,
    policy::{self, Access},
    sessions::{EndReason, Factors},
    state::AppState,
};
use app::{
    api::{Authentication, SignInOutcome},
    models::{AccountId, Membership, MfaRequirement, Viewer},
    ssr::{Fail, Outcome, RequestInfo, UserCtx},
    validation::{email_domain, normalize_email, safe_next_path, validate_email},
    AppError, Secret,
};
use sqlx::AnyConnection;

impl AppState {
    /// Creates the session after every factor passed, and records the sign-in, on `tx`
    /// (the caller's transaction, with whatever else the sign-in writes); a sign-in from
    /// a device new to the person (not their first) is announced by mail. Returns the
    /// `Set-Cookie` values: the session's, and the device's when it is new.
    pub(crate) async fn start_session(
        &self,
        tx: &mut AnyConnection,
        req: &RequestInfo,
        user_id: i64,
        factors: Factors,
        sso_account_id: Option<i64>,
        detail: Option<&str>,
    ) -> Outcome<Vec<String>> {
        let now = self.now();
        let (ip, ua) = (req.ip.as_deref(), req.user_agent.as_deref());
        // Through an account's directory, that account is the one to work in.
        let account = match sso_account_id {
            Some(a) => Some(a),
            None => crate::db::sessions::initial_account(tx, user_id).await?,
        };
        let (token, session_id) = crate::db::sessions::create(
            tx,
            self.rng.as_ref(),
            &self.config,
            crate::db::sessions::NewSession {
                user_id,
                active_account_id: account,
                ip,
                user_agent: ua,
                factors,
                sso_account_id,
            },
            now,
        )
        .await?;
        events::record(tx, Some(user_id), EventKind::SignIn, now, ip, ua, detail).await?;
        tracing::info!(request_id = %req.request_id, user_id, session_id, "signed in");
        let mut cookies = vec![crate::web::cookies::cookie(&self.config, &token)];
        let device = req
            .device
            .as_ref()
            .and_then(|d| crate::sessions::Token::from_cookie(&d.0));
        let device = match device {
            Some(known) => known,
            None => {
                let fresh = crate::sessions::Token::generate(self.rng.as_ref());
                cookies.push(crate::web::cookies::device_cookie(&self.config, &fresh));
                fresh
            }
        };
        let first = crate::db::devices::count(tx, user_id).await? == 0;
        let new = crate::db::devices::remember(tx, user_id, &device.hash(), now).await?;
        if new && !first {
            let notice = crate::notices::Notice::NewDevice;
            self.announce(tx, user_id, Some(req), notice).await?;
        }
        Ok(cookies)
    }

    /// One password attempt under the throttles: the attempt is reserved for the email
    /// (and, at sign-in, the client address) before any hashing, so parallel attempts get
    /// no more tries than sequential ones; a success releases the reservations. `Ok(false)`
    /// is a wrong password (already counted).
    pub(crate) async fn attempt_password(
        &self,
        req: &RequestInfo,
        email_key: &str,
        ip_key: Option<&str>,
        user_id: Option<i64>,
        hash: Option<String>,
        password: &Secret,
    ) -> Outcome<bool> {
        let now = self.now();
        let mut scopes = vec![(Scope::Email, email_key)];
        scopes.extend(ip_key.map(|k| (Scope::Ip, k)));
        let mut held = Vec::new();
        for (scope, key) in scopes {
            let outcome =
                throttle::reserve(&mut *self.db.acquire().await?, scope, key, now).await?;
            match outcome {
                Reserve::Granted(r) => held.push(r),
                Reserve::Locked(wait_ms) => {
                    for r in &held {
                        throttle::undo(&mut *self.db.acquire().await?, r).await?;
                    }
                    // One event per lock window, however many attempts it refuses.
                    let first =
                        throttle::first_refusal(&mut *self.db.acquire().await?, scope, key, now)
                            .await?;
                    if first && user_id.is_some() {
                        events::record(
                            &mut *self.db.acquire().await?,
                            user_id,
                            EventKind::SignInThrottled,
                            now,
                            req.ip.as_deref(),
                            req.user_agent.as_deref(),
                            None,
                        )
                        .await?;
                    }
                    return Err(AppError::Throttled {
                        retry_after_secs: throttle::wait_secs(wait_ms),
                    }
                    .into());
                }
            }
        }
        let ok = match self.passwords.verify(password, hash).await {
            Ok(ok) => ok,
            Err(crate::passwords::HashError::Busy) => {
                // Never checked: not a failure. Give the tries back and say so at once.
                for r in &held {
                    throttle::undo(&mut *self.db.acquire().await?, r).await?;
                }
                return Err(AppError::Busy {
                    retry_after_secs: BUSY_RETRY_SECS,
                }
                .into());
            }
            Err(e) => return Err(e.into()),
        };
        if ok {
            for r in &held {
                throttle::release(&mut *self.db.acquire().await?, r).await?;
            }
        }
        Ok(ok)
    }
}

/// What a refused attempt is told when the hashing queue is full.
pub const BUSY_RETRY_SECS: u64 = 2;

#[async_trait::async_trait]
impl Authentication for AppState {
    async fn viewer(&self, user: &UserCtx) -> Outcome<Viewer> {
        let s = user.session;
        let directory::Person {
            name,
            email,
            preferences,
            mfa_enabled,
            ..
        } = self.person(s.user_id).await?;
        // What each account asks of the person, with times in their formats.
        let display = crate::display::TimeDisplay::new(&preferences);
        let now = self.now();
        let has_passkey =
            crate::db::passkeys::count(&mut *self.db.acquire().await?, s.user_id).await? > 0;
        let memberships: Vec<Membership> =
            directory::memberships(&mut *self.db.acquire().await?, s.user_id)
                .await?
                .into_iter()
                .map(|m| Membership {
                    mfa: if s.sso_account_id == Some(m.account_id) {
                        MfaRequirement::Directory
                    } else {
                        policy::requirement_shown(
                            &m.terms,
                            m.is_admin,
                            m.joined_at,
                            m.terms.met_by(mfa_enabled, has_passkey),
                            now,
                            &display,
                        )
                    },
                    account_id: AccountId(m.account_id),
                    account_name: m.account_name,
                    kind: m.kind,
                    group_name: m.group_name,
                    is_admin: m.is_admin,
                })
                .collect();
        let active_account_id = s
            .active_account_id
            .map(AccountId)
            .filter(|id| memberships.iter().any(|m| m.account_id == *id));
        Ok(Viewer {
            user_id: app::models::UserId(s.user_id),
            name,
            email,
            memberships,
            active_account_id,
            mfa_enabled,
            has_passkey,
        })
    }

    async fn sign_in(
        &self,
        req: &RequestInfo,
        email: &str,
        password: &Secret,
    ) -> Outcome<SignInOutcome> {
        let result: Outcome<SignInOutcome> = async {
            let email_key = normalize_email(email);
            let ip_key = req.ip.clone().unwrap_or_else(|| "unknown".into());
            let ip = req.ip.as_deref();
            let ua = req.user_agent.as_deref();

            let record = directory::login_record(&mut *self.db.acquire().await?, &email_key).await?;
            let user_id = record.as_ref().map(|r| r.user_id);
            let ok = self
                .attempt_password(
                    req,
                    &email_key,
                    Some(&ip_key),
                    user_id,
                    record.map(|r| r.password_hash),
                    password,
                )
                .await?;
            let now = self.now();
            let Some(user_id) = user_id.filter(|_| ok) else {
                if user_id.is_some() {
                    events::record(
                        &mut *self.db.acquire().await?,
                        user_id,
                        EventKind::SignInFailed,
                        now,
                        ip,
                        ua,
                        None,
                    )
                    .await?;
                }
                tracing::info!(request_id = %req.request_id, "sign-in failed");
                return Err(AppError::BadCredentials.into());
            };

            // One transaction: an older session in this browser ends (a fresh token at every
            // sign-in), and either the code step or the new session begins.
            let mut tx = self.db.begin().await?;
            if let Some(old) = req.session {
                crate::db::sessions::end(&mut tx, old.session_id, EndReason::SignedOut, now).await?;
            }
            // With MFA on, the password alone grants nothing but the code step.
            // Checked after the hash (not with the record before it), so MFA turned on while
            // this sign-in was hashing still applies.
            if crate::db::mfa::is_enabled(&mut tx, user_id).await? {
                let token =
                    crate::db::mfa::create_pending(&mut tx, self.rng.as_ref(), user_id, now).await?;
                let passkey = crate::db::passkeys::count(&mut tx, user_id).await? > 0;
                tx.commit().await?;
                tracing::info!(request_id = %req.request_id, user_id, "password accepted; code required");
                return Ok(SignInOutcome::CodeRequired {
                    cookie: crate::web::cookies::pending_cookie(&self.config, &token),
                    passkey: passkey && self.webauthn.is_some(),
                });
            }
            let cookie = self
                .start_session(&mut tx, req, user_id, Factors::PASSWORD, None, None)
                .await?;
            tx.commit().await?;
            Ok(SignInOutcome::SignedIn(cookie))
        }
        .await;
        let outcome = match &result {
            Ok(SignInOutcome::SignedIn(_)) => "success",
            Ok(SignInOutcome::CodeRequired { .. }) => "code_required",
            Err(e) => crate::metrics::refusal(e),
        };
        self.metrics.sign_in("password", outcome);
        result
    }

    async fn sign_out(&self, req: &RequestInfo) -> Outcome<Vec<String>> {
        if let Some(s) = req.session {
            let now = self.now();
            let mut tx = self.db.begin().await?;
            crate::db::sessions::end(&mut tx, s.session_id, EndReason::SignedOut, now).await?;
            events::record(
                &mut tx,
                Some(s.user_id),
                EventKind::SignOut,
                now,
                req.ip.as_deref(),
                req.user_agent.as_deref(),
                None,
            )
            .await?;
            tx.commit().await?;
        }
        Ok(vec![
            crate::web::cookies::clear_cookie(&self.config),
            // A form's message not shown yet goes with the session.
            crate::web::cookies::clear_flash_cookie(&self.config),
            crate::web::cookies::clear_site_flag(),
        ])
    }

    async fn switch_account(&self, user: &UserCtx, account: AccountId) -> Outcome<Option<String>> {
        let (s, account_id) = (user.session, account.get());
        let member =
            directory::is_member(&mut *self.db.acquire().await?, s.user_id, account_id).await?;
        if !member {
            return Err(AppError::Forbidden.into());
        }
        let updated = crate::db::sessions::set_active_account(
            &mut *self.db.acquire().await?,
            s.session_id,
            s.user_id,
            account_id,
        )
        .await?;
        if !updated {
            return Err(AppError::Unauthenticated.into());
        }
        // The account is active now. A directory's session proves the person's own
        // credentials first; an account that requires MFA of them asks for it first.
        let access =
            policy::access(&mut *self.db.acquire().await?, &s, account_id, self.now()).await?;
        Ok(match access {
            Access::Allowed => None,
            Access::StepUp => Some(app::format::step_up_href("/")),
            Access::SetUpMfa => Some(app::format::mfa_setup_href(account, "/")),
            Access::UsePasskey => Some(app::format::passkey_step_up_href("/")),
            Access::AddPasskey => Some(app::format::passkey_setup_href(account, "/")),
        })
    }

    async fn verify_sign_in_code(
        &self,
        req: &RequestInfo,
        code: &str,
        recovery: bool,
    ) -> Outcome<Vec<String>> {
        let result: Outcome<Vec<String>> = async {
            let expired = || {
                AppError::Invalid(
                    "This sign-in has expired. Please sign in again with your email and password."
                        .into(),
                )
            };
            let token = req
                .pending
                .as_ref()
                .and_then(|t| crate::sessions::Token::from_cookie(&t.0))
                .ok_or_else(expired)?;
            let (pending_id, user_id) =
                crate::db::mfa::resolve_pending(&mut *self.db.acquire().await?, &token, self.now())
                    .await?
                    .ok_or_else(expired)?;
            let attempt = self.reserve_code_try(user_id).await?;
            // The code spent, the pending sign-in ended and the session started: one
            // transaction.
            let mut tx = self.db.begin().await?;
            if !self
                .spend_code(&mut tx, req, &attempt, code, recovery)
                .await?
            {
                return Err(self.code_refused(tx, req, &attempt, recovery).await);
            }
            // Used once: of two code steps racing on one pending sign-in, one starts a session.
            if !crate::db::mfa::end_pending(&mut tx, pending_id).await? {
                return Err(expired().into());
            }
            let (detail, second) = if recovery {
                (
                    "recovery code",
                    Factors {
                        recovery_code: true,
                        ..Factors::PASSWORD
                    },
                )
            } else {
                (
                    "authentication code",
                    Factors {
                        totp: true,
                        ..Factors::PASSWORD
                    },
                )
            };
            let mut cookies = self
                .start_session(&mut tx, req, user_id, second, None, Some(detail))
                .await?;
            tx.commit().await?;
            cookies.push(crate::web::cookies::clear_pending_cookie(&self.config));
            Ok(cookies)
        }
        .await;
        let method = if recovery { "recovery_code" } else { "code" };
        self.metrics
            .sign_in(method, crate::metrics::outcome(&result));
        result
    }

    /// Starts a sign-in through the directory of the account owning the email's domain.
    /// Returns the provider's authorization URL and the cookie binding the attempt to
    /// this browser.
    async fn start_sso(
        &self,
        req: &RequestInfo,
        email: &str,
        next: Option<&str>,
    ) -> Outcome<(String, String)> {
        validate_email(email).map_err(AppError::Invalid)?;
        let domain = email_domain(email)
            .ok_or_else(|| AppError::Invalid("Enter your work email address.".into()))?;
        let account_id = sso::account_for_domain(&mut *self.db.acquire().await?, &domain)
            .await?
            .ok_or_else(|| {
                AppError::Invalid(format!(
                    "No account signs in with single sign-on for {domain}. Sign in with your email and password."
                ))
            })?;
        let config = sso::load(&mut *self.db.acquire().await?, account_id)
            .await?
            .ok_or_else(|| Fail::internal("SSO settings vanished"))?;
        let (discovery, _) = self
            .oidc_cache
            .provider(&self.http, &config.issuer, self.config.sso_allow_private_issuers)
            .await
            .map_err(|e| {
                tracing::warn!(request_id = %req.request_id, account_id, error = %e, "SSO provider unavailable");
                AppError::Invalid(
                    "Your organisation's sign-in service cannot be reached right now. Try again later, or sign in with your password.".into(),
                )
            })?;
        let next = next.and_then(safe_next_path).unwrap_or("/");
        let started = sso::start_request(
            &mut *self.db.acquire().await?,
            self.rng.as_ref(),
            account_id,
            next,
            self.now(),
        )
        .await?;
        let url = oidc::authorization_url(
            &discovery,
            &config.client_id,
            &self.sso_redirect_uri(),
            &started.state,
            &started.nonce,
            &started.verifier,
            email.trim(),
        );
        tracing::info!(request_id = %req.request_id, account_id, "single sign-on started");
        Ok((
            url,
            crate::web::cookies::sso_state_cookie(&self.config, &started.state),
        ))
    }
}
