//! The server's implementation of the UI's [`Backend`]: sign-in with throttling,
//! sessions, and the signed-in person's view of their accounts.

use crate::{
    directory,
    events::{self, EventKind},
    policy::{self, Access},
    sessions::{self, EndReason, Factors},
    state::AppState,
    throttle::{self, Reserve, Scope},
};
use app::{
    models::{
        AccountMfaSettings, AccountSsoSettings, GeneralSettings, MfaEnrolment, MfaStatus,
        RecoveryCodes, SecurityEventInfo, SessionsPage, SsoTestReport, Viewer,
    },
    ssr::{
        Backend, GeneralUpdate, PasswordChange, RequestInfo, SessionRef, SignInOutcome, SsoForm,
    },
    validation::normalize_email,
    AppError, Secret,
};

/// Logs an unexpected error with the request id and returns the user-safe error.
pub fn internal(req: &RequestInfo, err: impl std::fmt::Display) -> AppError {
    tracing::error!(request_id = %req.request_id, error = %err, "request failed");
    AppError::Internal {
        request_id: req.request_id.clone(),
    }
}

fn session(req: &RequestInfo) -> Result<SessionRef, AppError> {
    req.session.ok_or(AppError::Unauthenticated)
}

impl AppState {
    /// Creates the session after every factor passed; returns its `Set-Cookie` value.
    pub(crate) async fn start_session(
        &self,
        req: &RequestInfo,
        user_id: i64,
        factors: Factors,
        sso_account_id: Option<i64>,
        detail: Option<&str>,
    ) -> Result<String, AppError> {
        let now = self.now();
        let (ip, ua) = (req.ip.as_deref(), req.user_agent.as_deref());
        // Through an account's directory, that account is the one to work in.
        let account = match sso_account_id {
            Some(a) => Some(a),
            None => sessions::initial_account(&self.db, user_id)
                .await
                .map_err(|e| internal(req, e))?,
        };
        let (token, session_id) = sessions::create(
            &self.db,
            self.rng.as_ref(),
            &self.config,
            sessions::NewSession {
                user_id,
                active_account_id: account,
                ip,
                user_agent: ua,
                factors,
                sso_account_id,
            },
            now,
        )
        .await
        .map_err(|e| internal(req, e))?;
        events::record(
            &self.db,
            Some(user_id),
            EventKind::SignIn,
            now,
            ip,
            ua,
            detail,
        )
        .await
        .map_err(|e| internal(req, e))?;
        tracing::info!(request_id = %req.request_id, user_id, session_id, "signed in");
        Ok(sessions::cookie(&self.config, &token))
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
    ) -> Result<bool, AppError> {
        let now = self.now();
        let mut scopes = vec![(Scope::Email, email_key)];
        scopes.extend(ip_key.map(|k| (Scope::Ip, k)));
        let mut held = Vec::new();
        for (scope, key) in scopes {
            match throttle::reserve(&self.db, scope, key, now)
                .await
                .map_err(|e| internal(req, e))?
            {
                Reserve::Granted(r) => held.push(r),
                Reserve::Locked(wait_ms) => {
                    for r in &held {
                        throttle::undo(&self.db, r)
                            .await
                            .map_err(|e| internal(req, e))?;
                    }
                    // One event per lock window, however many attempts it refuses.
                    let first = throttle::first_refusal(&self.db, scope, key, now)
                        .await
                        .map_err(|e| internal(req, e))?;
                    if first && user_id.is_some() {
                        events::record(
                            &self.db,
                            user_id,
                            EventKind::SignInThrottled,
                            now,
                            req.ip.as_deref(),
                            req.user_agent.as_deref(),
                            None,
                        )
                        .await
                        .map_err(|e| internal(req, e))?;
                    }
                    return Err(AppError::Throttled {
                        retry_after_secs: throttle::wait_secs(wait_ms),
                    });
                }
            }
        }
        let ok = match self.passwords.verify(password, hash).await {
            Ok(ok) => ok,
            Err(crate::passwords::HashError::Busy) => {
                // Never checked: not a failure. Give the tries back and say so at once.
                for r in &held {
                    throttle::undo(&self.db, r)
                        .await
                        .map_err(|e| internal(req, e))?;
                }
                return Err(AppError::Busy {
                    retry_after_secs: BUSY_RETRY_SECS,
                });
            }
            Err(e) => return Err(internal(req, e)),
        };
        if ok {
            for r in &held {
                throttle::release(&self.db, r)
                    .await
                    .map_err(|e| internal(req, e))?;
            }
        }
        Ok(ok)
    }
}

/// What a refused attempt is told when the hashing queue is full.
pub const BUSY_RETRY_SECS: u64 = 2;

#[async_trait::async_trait]
impl Backend for AppState {
    async fn viewer(&self, req: &RequestInfo) -> Result<Viewer, AppError> {
        let s = session(req)?;
        let directory::Person {
            name,
            email,
            preferences,
            mfa_enabled,
            ..
        } = self.person(req, s.user_id).await?;
        let display = crate::display::TimeDisplay::new(&preferences);
        let memberships = directory::memberships(
            &self.db,
            s.user_id,
            mfa_enabled,
            s.sso_account_id,
            self.now(),
            &display,
        )
        .await
        .map_err(|e| internal(req, e))?;
        let active_account_id = s
            .active_account_id
            .filter(|id| memberships.iter().any(|m| m.account_id == *id));
        Ok(Viewer {
            user_id: s.user_id,
            name,
            email,
            memberships,
            active_account_id,
            mfa_enabled,
        })
    }

    async fn sign_in(
        &self,
        req: &RequestInfo,
        email: &str,
        password: &Secret,
    ) -> Result<SignInOutcome, AppError> {
        let email_key = normalize_email(email);
        let ip_key = req.ip.clone().unwrap_or_else(|| "unknown".into());
        let ip = req.ip.as_deref();
        let ua = req.user_agent.as_deref();

        let record = directory::login_record(&self.db, &email_key)
            .await
            .map_err(|e| internal(req, e))?;
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
                    &self.db,
                    user_id,
                    EventKind::SignInFailed,
                    now,
                    ip,
                    ua,
                    None,
                )
                .await
                .map_err(|e| internal(req, e))?;
            }
            tracing::info!(request_id = %req.request_id, "sign-in failed");
            return Err(AppError::BadCredentials);
        };

        // A fresh token at every sign-in; an older session in this browser ends.
        if let Some(old) = req.session {
            sessions::end(&self.db, old.session_id, EndReason::SignedOut, now)
                .await
                .map_err(|e| internal(req, e))?;
        }
        // With MFA on, the password alone grants nothing but the code step.
        // Checked after the hash (not with the record before it), so MFA turned on while
        // this sign-in was hashing still applies.
        if crate::mfa::is_enabled(&self.db, user_id)
            .await
            .map_err(|e| internal(req, e))?
        {
            let token = crate::mfa::create_pending(&self.db, self.rng.as_ref(), user_id, now)
                .await
                .map_err(|e| internal(req, e))?;
            tracing::info!(request_id = %req.request_id, user_id, "password accepted; code required");
            return Ok(SignInOutcome::CodeRequired(sessions::pending_cookie(
                &self.config,
                &token,
            )));
        }
        let cookie = self
            .start_session(req, user_id, Factors::PASSWORD, None, None)
            .await?;
        Ok(SignInOutcome::SignedIn(cookie))
    }

    async fn sign_out(&self, req: &RequestInfo) -> Result<String, AppError> {
        if let Some(s) = req.session {
            let now = self.now();
            sessions::end(&self.db, s.session_id, EndReason::SignedOut, now)
                .await
                .map_err(|e| internal(req, e))?;
            events::record(
                &self.db,
                Some(s.user_id),
                EventKind::SignOut,
                now,
                req.ip.as_deref(),
                req.user_agent.as_deref(),
                None,
            )
            .await
            .map_err(|e| internal(req, e))?;
        }
        Ok(sessions::clear_cookie(&self.config))
    }

    async fn switch_account(
        &self,
        req: &RequestInfo,
        account_id: i64,
    ) -> Result<Option<String>, AppError> {
        let s = session(req)?;
        let member = directory::is_member(&self.db, s.user_id, account_id)
            .await
            .map_err(|e| internal(req, e))?;
        if !member {
            return Err(AppError::Forbidden);
        }
        let updated = sessions::set_active_account(&self.db, s.session_id, s.user_id, account_id)
            .await
            .map_err(|e| internal(req, e))?;
        if !updated {
            return Err(AppError::Unauthenticated);
        }
        // The account is active now. A directory's session proves the person's own
        // credentials first; an account that requires MFA of them asks for it first.
        let access = policy::access(&self.db, &s, account_id, self.now())
            .await
            .map_err(|e| internal(req, e))?;
        Ok(match access {
            Access::Allowed => None,
            Access::StepUp => Some(policy::step_up_path("/")),
            Access::SetUpMfa => Some(policy::setup_path(account_id, "/")),
        })
    }

    async fn general_settings(&self, req: &RequestInfo) -> Result<GeneralSettings, AppError> {
        self.general_settings_for(req).await
    }

    async fn save_general(&self, req: &RequestInfo, update: GeneralUpdate) -> Result<(), AppError> {
        self.save_general_for(req, update).await
    }

    async fn change_email(
        &self,
        req: &RequestInfo,
        new_email: &str,
        current_password: &Secret,
    ) -> Result<(), AppError> {
        self.change_email_for(req, new_email, current_password)
            .await
    }

    async fn change_password(
        &self,
        req: &RequestInfo,
        change: PasswordChange,
    ) -> Result<(), AppError> {
        self.change_password_for(req, change).await
    }

    async fn delete_self(
        &self,
        req: &RequestInfo,
        current_password: &Secret,
        confirm_email: &str,
    ) -> Result<String, AppError> {
        self.delete_self_for(req, current_password, confirm_email)
            .await
    }

    async fn sessions(&self, req: &RequestInfo, page: u32) -> Result<SessionsPage, AppError> {
        self.sessions_for(req, page).await
    }

    async fn revoke_session(&self, req: &RequestInfo, session_id: i64) -> Result<(), AppError> {
        self.revoke_session_for(req, session_id).await
    }

    async fn revoke_other_sessions(&self, req: &RequestInfo) -> Result<u64, AppError> {
        self.revoke_others_for(req).await
    }

    async fn security_activity(
        &self,
        req: &RequestInfo,
    ) -> Result<Vec<SecurityEventInfo>, AppError> {
        self.security_activity_for(req).await
    }

    async fn start_sso(
        &self,
        req: &RequestInfo,
        email: &str,
        next: Option<&str>,
    ) -> Result<(String, String), AppError> {
        self.start_sso_for(req, email, next).await
    }

    async fn account_sso_settings(
        &self,
        req: &RequestInfo,
        account_id: i64,
    ) -> Result<AccountSsoSettings, AppError> {
        self.account_admin(req, account_id)
            .await?
            .sso_settings()
            .await
    }

    async fn save_account_sso(
        &self,
        req: &RequestInfo,
        account_id: i64,
        form: SsoForm,
    ) -> Result<(), AppError> {
        self.save_account_sso_for(req, account_id, form).await
    }

    async fn verify_sso_domain(
        &self,
        req: &RequestInfo,
        account_id: i64,
        domain: &str,
    ) -> Result<(), AppError> {
        self.account_admin(req, account_id)
            .await?
            .verify_domain(domain)
            .await
    }

    async fn test_account_sso(
        &self,
        req: &RequestInfo,
        account_id: i64,
    ) -> Result<SsoTestReport, AppError> {
        self.account_admin(req, account_id).await?.test_sso().await
    }

    async fn account_mfa_settings(
        &self,
        req: &RequestInfo,
        account_id: i64,
        page: i64,
        without_mfa: bool,
    ) -> Result<AccountMfaSettings, AppError> {
        self.account_mfa_settings_for(req, account_id, page, without_mfa)
            .await
    }

    async fn set_account_mfa_policy(
        &self,
        req: &RequestInfo,
        account_id: i64,
        policy: &str,
        grace_days: &str,
    ) -> Result<(), AppError> {
        self.set_account_mfa_policy_for(req, account_id, policy, grace_days)
            .await
    }

    async fn verify_sign_in_code(
        &self,
        req: &RequestInfo,
        code: &str,
        recovery: bool,
    ) -> Result<Vec<String>, AppError> {
        self.verify_sign_in_code_for(req, code, recovery).await
    }

    async fn mfa_status(&self, req: &RequestInfo) -> Result<MfaStatus, AppError> {
        self.mfa_status_for(req).await
    }

    async fn step_up(
        &self,
        req: &RequestInfo,
        current_password: &Secret,
        code: Option<&str>,
        recovery: bool,
    ) -> Result<String, AppError> {
        self.step_up_for(req, current_password, code, recovery)
            .await
    }

    async fn start_mfa_enrolment(&self, req: &RequestInfo) -> Result<MfaEnrolment, AppError> {
        self.start_mfa_enrolment_for(req).await
    }

    async fn enable_mfa(
        &self,
        req: &RequestInfo,
        code: &str,
        sign_out_others: bool,
    ) -> Result<(RecoveryCodes, String), AppError> {
        self.enable_mfa_for(req, code, sign_out_others).await
    }

    async fn regenerate_recovery_codes(
        &self,
        req: &RequestInfo,
        code: &str,
        sign_out_others: bool,
    ) -> Result<RecoveryCodes, AppError> {
        self.regenerate_recovery_codes_for(req, code, sign_out_others)
            .await
    }

    async fn disable_mfa(
        &self,
        req: &RequestInfo,
        current_password: &Secret,
        code: &str,
        sign_out_others: bool,
    ) -> Result<(), AppError> {
        self.disable_mfa_for(req, current_password, code, sign_out_others)
            .await
    }
}
