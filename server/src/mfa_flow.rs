//! Multi-factor authentication as people use it: enrolment and management in the Security
//! section, and the code step of sign-in.

use crate::{
    backend::internal,
    directory,
    display::TimeDisplay,
    events::EventKind,
    mfa,
    sessions::{self, EndReason, Factors},
    state::AppState,
    throttle::{self, Reserve, Scope},
};
use app::{
    models::{MfaEnrolment, MfaStatus, RecoveryCodes},
    ssr::{RequestInfo, SessionRef},
    AppError, Secret,
};

const BAD_CODE: &str =
    "That code is not valid. Enter the 6-digit code your authenticator app shows now.";

fn session(req: &RequestInfo) -> Result<SessionRef, AppError> {
    req.session.ok_or(AppError::Unauthenticated)
}

impl AppState {
    /// Throttles, checks and spends an authentication code (replay-proof across replicas),
    /// or a recovery code. Failures are counted and recorded.
    async fn check_code(
        &self,
        req: &RequestInfo,
        user_id: i64,
        code: &str,
        recovery: bool,
    ) -> Result<(), AppError> {
        let key = user_id.to_string();
        let now = self.now();
        // Reserved before the check, so parallel guesses get no more tries than
        // sequential ones.
        let reservation = match throttle::reserve(&self.db, Scope::Code, &key, now)
            .await
            .map_err(|e| internal(req, e))?
        {
            Reserve::Granted(r) => r,
            Reserve::Locked(wait) => {
                return Err(AppError::Throttled {
                    retry_after_secs: throttle::wait_secs(wait),
                })
            }
        };
        let ok = if recovery {
            mfa::use_recovery_code(&self.db, user_id, code, now)
                .await
                .map_err(|e| internal(req, e))?
        } else {
            let record = mfa::load(&self.db, &self.secret_key, user_id)
                .await
                .map_err(|e| internal(req, e))?
                .filter(|r| r.enabled_at.is_some());
            match record.and_then(|r| mfa::matching_step(&r.secret, code, now)) {
                Some(step) => mfa::consume_step(&self.db, user_id, step)
                    .await
                    .map_err(|e| internal(req, e))?,
                None => false,
            }
        };
        if ok {
            throttle::release(&self.db, &reservation)
                .await
                .map_err(|e| internal(req, e))?;
            if recovery {
                self.event(req, user_id, EventKind::RecoveryCodeUsed)
                    .await?;
            }
            Ok(())
        } else {
            // The reservation stands as the failure.
            self.event(req, user_id, EventKind::MfaCodeFailed).await?;
            Err(AppError::Invalid(if recovery {
                "That recovery code is not valid or was already used.".into()
            } else {
                BAD_CODE.into()
            }))
        }
    }

    async fn end_others_if(
        &self,
        req: &RequestInfo,
        s: SessionRef,
        yes: bool,
    ) -> Result<(), AppError> {
        if yes {
            sessions::end_all_except(
                &self.db,
                s.user_id,
                s.session_id,
                EndReason::Revoked,
                self.now(),
            )
            .await
            .map_err(|e| internal(req, e))?;
        }
        Ok(())
    }

    async fn fresh_recovery_codes(
        &self,
        req: &RequestInfo,
        user_id: i64,
    ) -> Result<RecoveryCodes, AppError> {
        let (codes, hashes) = mfa::new_recovery_codes(self.rng.as_ref());
        mfa::replace_recovery_codes(&self.db, user_id, &hashes)
            .await
            .map_err(|e| internal(req, e))?;
        Ok(RecoveryCodes(codes))
    }

    pub(crate) async fn verify_sign_in_code_for(
        &self,
        req: &RequestInfo,
        code: &str,
        recovery: bool,
    ) -> Result<Vec<String>, AppError> {
        let expired = || {
            AppError::Invalid(
                "This sign-in has expired. Please sign in again with your email and password."
                    .into(),
            )
        };
        let token = req.pending.as_ref().ok_or_else(expired)?;
        let (pending_id, user_id) = mfa::resolve_pending(&self.db, &token.0, self.now())
            .await
            .map_err(|e| internal(req, e))?
            .ok_or_else(expired)?;
        self.check_code(req, user_id, code, recovery).await?;
        mfa::end_pending(&self.db, pending_id)
            .await
            .map_err(|e| internal(req, e))?;
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
        let session = self
            .start_session(req, user_id, second, None, Some(detail))
            .await?;
        Ok(vec![session, sessions::clear_pending_cookie(&self.config)])
    }

    pub(crate) async fn mfa_status_for(&self, req: &RequestInfo) -> Result<MfaStatus, AppError> {
        let s = session(req)?;
        let now = self.now();
        let record = mfa::load(&self.db, &self.secret_key, s.user_id)
            .await
            .map_err(|e| internal(req, e))?;
        let enabled_at = record.and_then(|r| r.enabled_at);
        let (prefs, _) = self.display_for(req, s.user_id).await?;
        let elevated = sessions::elevated_for(&self.db, s.session_id, now)
            .await
            .map_err(|e| internal(req, e))?;
        Ok(MfaStatus {
            enabled: enabled_at.is_some(),
            enabled_since: enabled_at.map(|t| TimeDisplay::new(&prefs).format(t)),
            recovery_codes_left: mfa::recovery_codes_left(&self.db, s.user_id)
                .await
                .map_err(|e| internal(req, e))?,
            elevated_secs: elevated / 1000,
            required_by: mfa::required_by(&self.db, s.user_id)
                .await
                .map_err(|e| internal(req, e))?,
        })
    }

    /// "Confirm it's you" inside the current session: the person's own password, then
    /// their authentication code (or, with `recovery`, one of their recovery codes) when
    /// MFA is on, each under its throttle. The session gains those factors and a few
    /// minutes of elevation, under a new token.
    pub(crate) async fn step_up_for(
        &self,
        req: &RequestInfo,
        password: &Secret,
        code: Option<&str>,
        recovery: bool,
    ) -> Result<String, AppError> {
        let s = session(req)?;
        let has_mfa = mfa::is_enabled(&self.db, s.user_id)
            .await
            .map_err(|e| internal(req, e))?;
        if has_mfa && code.is_none() {
            return Err(AppError::StepUpRequired { code: true });
        }
        self.check_current_password(req, s.user_id, password)
            .await?;
        let mut gained = Factors::PASSWORD;
        if let (true, Some(code)) = (has_mfa, code) {
            self.check_code(req, s.user_id, code, recovery).await?;
            if recovery {
                gained.recovery_code = true;
            } else {
                gained.totp = true;
            }
        }
        let now = self.now();
        let token = sessions::gain_factors(
            &self.db,
            self.rng.as_ref(),
            s.session_id,
            gained,
            Some(now + mfa::ELEVATION_MS),
            now,
        )
        .await
        .map_err(|e| internal(req, e))?
        .ok_or(AppError::Unauthenticated)?;
        self.event(req, s.user_id, EventKind::StepUp).await?;
        tracing::info!(request_id = %req.request_id, user_id = s.user_id, session_id = s.session_id, "identity confirmed in session");
        Ok(sessions::cookie(&self.config, &token))
    }

    /// Sensitive administration needs a recent step-up in this session.
    pub(crate) async fn require_recent_step_up(
        &self,
        req: &RequestInfo,
        s: SessionRef,
    ) -> Result<(), AppError> {
        let left = sessions::elevated_for(&self.db, s.session_id, self.now())
            .await
            .map_err(|e| internal(req, e))?;
        if left > 0 {
            return Ok(());
        }
        let code = mfa::is_enabled(&self.db, s.user_id)
            .await
            .map_err(|e| internal(req, e))?;
        Err(AppError::StepUpRequired { code })
    }

    pub(crate) async fn start_mfa_enrolment_for(
        &self,
        req: &RequestInfo,
    ) -> Result<MfaEnrolment, AppError> {
        let s = session(req)?;
        let now = self.now();
        // "Confirm it's you" first (asked again after a few minutes).
        self.require_recent_step_up(req, s).await?;
        if mfa::is_enabled(&self.db, s.user_id)
            .await
            .map_err(|e| internal(req, e))?
        {
            return Err(AppError::Invalid(
                "Multi-factor authentication is already on.".into(),
            ));
        }
        let (_, email) = directory::user_identity(&self.db, s.user_id)
            .await
            .map_err(|e| internal(req, e))?
            .ok_or(AppError::Unauthenticated)?;
        let secret = mfa::begin_enrolment(
            &self.db,
            &self.secret_key,
            self.rng.as_ref(),
            s.user_id,
            now,
        )
        .await
        .map_err(|e| internal(req, e))?;
        let b32 = mfa::base32(&secret);
        let issuer = &self.config.totp_issuer;
        let uri = mfa::otpauth_uri(issuer, &email, &b32);
        let qr_svg = mfa::qr_svg(&uri).ok_or_else(|| internal(req, "QR code rendering failed"))?;
        Ok(MfaEnrolment {
            qr_svg,
            secret_grouped: mfa::grouped(&b32),
            account_label: format!("{issuer}: {email}"),
            expires_in_secs: mfa::ENROLMENT_TTL_MS / 1000,
        })
    }

    pub(crate) async fn enable_mfa_for(
        &self,
        req: &RequestInfo,
        code: &str,
        sign_out_others: bool,
    ) -> Result<(RecoveryCodes, String), AppError> {
        let s = session(req)?;
        let now = self.now();
        let record = mfa::load(&self.db, &self.secret_key, s.user_id)
            .await
            .map_err(|e| internal(req, e))?
            .filter(|r| r.enabled_at.is_none() && r.pending_expires_at.is_some_and(|t| t > now))
            .ok_or_else(|| {
                AppError::Invalid("The set-up has expired. Start again with “Set up multi-factor authentication”.".into())
            })?;
        let step = mfa::matching_step(&record.secret, code, now)
            .ok_or_else(|| AppError::Invalid(BAD_CODE.into()))?;
        let (codes, hashes) = mfa::new_recovery_codes(self.rng.as_ref());
        let done = mfa::finish_enrolment(&self.db, s.user_id, step, &hashes, now)
            .await
            .map_err(|e| internal(req, e))?;
        if !done {
            return Err(AppError::Invalid(
                "The set-up has expired. Start again with “Set up multi-factor authentication”."
                    .into(),
            ));
        }
        // This session just passed the code: it counts as verified, under a new token.
        let token = sessions::gain_factors(
            &self.db,
            self.rng.as_ref(),
            s.session_id,
            Factors {
                totp: true,
                ..Factors::default()
            },
            None,
            now,
        )
        .await
        .map_err(|e| internal(req, e))?
        .ok_or(AppError::Unauthenticated)?;
        self.event(req, s.user_id, EventKind::MfaEnabled).await?;
        self.end_others_if(req, s, sign_out_others).await?;
        Ok((RecoveryCodes(codes), sessions::cookie(&self.config, &token)))
    }

    pub(crate) async fn regenerate_recovery_codes_for(
        &self,
        req: &RequestInfo,
        code: &str,
        sign_out_others: bool,
    ) -> Result<RecoveryCodes, AppError> {
        let s = session(req)?;
        if !mfa::is_enabled(&self.db, s.user_id)
            .await
            .map_err(|e| internal(req, e))?
        {
            return Err(AppError::Invalid(
                "Multi-factor authentication is not on.".into(),
            ));
        }
        self.check_code(req, s.user_id, code, false).await?;
        let codes = self.fresh_recovery_codes(req, s.user_id).await?;
        self.event(req, s.user_id, EventKind::RecoveryCodesRegenerated)
            .await?;
        self.end_others_if(req, s, sign_out_others).await?;
        Ok(codes)
    }

    pub(crate) async fn disable_mfa_for(
        &self,
        req: &RequestInfo,
        password: &Secret,
        code: &str,
        sign_out_others: bool,
    ) -> Result<(), AppError> {
        let s = session(req)?;
        if !mfa::is_enabled(&self.db, s.user_id)
            .await
            .map_err(|e| internal(req, e))?
        {
            return Err(AppError::Invalid(
                "Multi-factor authentication is not on.".into(),
            ));
        }
        let required = mfa::required_by(&self.db, s.user_id)
            .await
            .map_err(|e| internal(req, e))?;
        if !required.is_empty() {
            return Err(AppError::Invalid(format!(
                "You cannot turn off multi-factor authentication: {} require{} it.",
                required.join(", "),
                if required.len() == 1 { "s" } else { "" }
            )));
        }
        self.check_current_password(req, s.user_id, password)
            .await?;
        self.check_code(req, s.user_id, code, false).await?;
        mfa::disable(&self.db, s.user_id)
            .await
            .map_err(|e| internal(req, e))?;
        self.event(req, s.user_id, EventKind::MfaDisabled).await?;
        self.end_others_if(req, s, sign_out_others).await
    }
}
