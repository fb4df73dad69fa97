//! Multi-factor authentication as people use it: enrolment and management in the Security
//! section, and the code step of sign-in.

use crate::notices::Notice;
use crate::{
    db::directory,
    db::events::EventKind,
    db::throttle::{self, Reserve, Scope},
    display::TimeDisplay,
    mfa,
    sessions::{EndReason, Factors},
    state::AppState,
};
use app::{
    api::Mfa,
    models::{MfaEnrolment, MfaStatus, RecoveryCodes},
    ssr::{Fail, Outcome, RequestInfo, SessionRef, UserCtx},
    AppError, Secret,
};
use sqlx::AnyConnection;

/// A code try reserved under the throttle for a person.
pub(crate) struct CodeTry {
    reservation: throttle::Reservation,
    user_id: i64,
}

const BAD_CODE: &str =
    "That code is not valid. Enter the 6-digit code your authenticator app shows now.";

impl AppState {
    /// Reserves one code try under the throttle, before the use case's transaction:
    /// committed on its own, so parallel guesses get no more tries than sequential ones,
    /// and a wrong code stays counted whatever happens to the use case.
    pub(crate) async fn reserve_code_try(&self, user_id: i64) -> Outcome<CodeTry> {
        let key = user_id.to_string();
        let outcome = throttle::reserve(
            &mut *self.db.acquire().await?,
            Scope::Code,
            &key,
            self.now(),
        )
        .await?;
        match outcome {
            Reserve::Granted(reservation) => Ok(CodeTry {
                reservation,
                user_id,
            }),
            Reserve::Locked(wait) => Err(AppError::Throttled {
                retry_after_secs: throttle::wait_secs(wait),
            }
            .into()),
        }
    }

    /// Checks and spends an authentication code (replay-proof across replicas) or a
    /// recovery code, on the use case's transaction `tx`: with the code spent, the try
    /// is given back and a recovery code's use recorded, all committed with the rest of
    /// the use case or not at all. `false` for a wrong code: the caller then hands `tx`
    /// to [`AppState::code_refused`].
    pub(crate) async fn spend_code(
        &self,
        tx: &mut AnyConnection,
        req: &RequestInfo,
        attempt: &CodeTry,
        code: &str,
        recovery: bool,
    ) -> Outcome<bool> {
        let (user_id, now) = (attempt.user_id, self.now());
        let ok = if recovery {
            crate::db::mfa::use_recovery_code(tx, user_id, code, now).await?
        } else {
            let record = crate::db::mfa::load(tx, &self.secret_key, user_id)
                .await?
                .filter(|r| r.enabled_at.is_some());
            match record.and_then(|r| mfa::matching_step(&r.secret, code, now)) {
                Some(step) => crate::db::mfa::consume_step(tx, user_id, step).await?,
                None => false,
            }
        };
        if ok {
            throttle::release(tx, &attempt.reservation).await?;
            if recovery {
                self.event(tx, req, user_id, EventKind::RecoveryCodeUsed)
                    .await?;
                let left = crate::db::mfa::recovery_codes_left(tx, user_id).await?;
                let notice = Notice::RecoveryCodeUsed { left };
                self.announce(tx, user_id, Some(req), notice).await?;
            }
        }
        Ok(ok)
    }

    /// A wrong code: the use case's transaction rolls back, the failure is recorded (its
    /// reserved try stands as the failure), and the person is told.
    pub(crate) async fn code_refused(
        &self,
        tx: sqlx::Transaction<'static, sqlx::Any>,
        req: &RequestInfo,
        attempt: &CodeTry,
        recovery: bool,
    ) -> Fail {
        let recorded = async {
            tx.rollback().await?;
            self.event(
                &mut *self.db.acquire().await?,
                req,
                attempt.user_id,
                EventKind::MfaCodeFailed,
            )
            .await
        }
        .await;
        match recorded {
            Ok(()) => AppError::Invalid(if recovery {
                "That recovery code is not valid or was already used.".into()
            } else {
                BAD_CODE.into()
            })
            .into(),
            Err(e) => e,
        }
    }

    pub(crate) async fn end_others_if(
        &self,
        conn: &mut AnyConnection,
        s: SessionRef,
        yes: bool,
    ) -> Outcome<()> {
        if yes {
            crate::db::sessions::end_all_except(
                conn,
                s.user_id,
                s.session_id,
                EndReason::Revoked,
                self.now(),
            )
            .await?;
        }
        Ok(())
    }

    async fn fresh_recovery_codes(
        &self,
        conn: &mut AnyConnection,
        user_id: i64,
    ) -> Outcome<RecoveryCodes> {
        let (codes, hashes) = mfa::new_recovery_codes(self.rng.as_ref());
        crate::db::mfa::replace_recovery_codes(conn, user_id, &hashes).await?;
        Ok(RecoveryCodes(codes))
    }

    /// The second factor a change of MFA asks for, on the transaction returned for the
    /// change: a code from the authenticator app (spent), or, for a person whose only
    /// factors are passkeys, a recent "Confirm it's you" (which passed a passkey).
    async fn passed_second_factor(
        &self,
        user: &UserCtx,
        code: &str,
    ) -> Outcome<sqlx::Transaction<'static, sqlx::Any>> {
        let (req, s) = (&user.req, user.session);
        if !crate::db::mfa::has_totp(&mut *self.db.acquire().await?, s.user_id).await? {
            // Passkeys only: a step-up that passed one of them (a recovery code would not
            // do: it could replace the codes the person saved).
            self.require_passkey_step_up(s).await?;
            return Ok(self.db.begin().await?);
        }
        let attempt = self.reserve_code_try(s.user_id).await?;
        let mut tx = self.db.begin().await?;
        if !self.spend_code(&mut tx, req, &attempt, code, false).await? {
            return Err(self.code_refused(tx, req, &attempt, false).await);
        }
        Ok(tx)
    }

    /// Sensitive administration needs a recent step-up in this session.
    pub(crate) async fn require_recent_step_up(&self, s: SessionRef) -> Outcome<()> {
        let left = crate::db::sessions::elevated_for(
            &mut *self.db.acquire().await?,
            s.session_id,
            self.now(),
        )
        .await?;
        if left > 0 {
            return Ok(());
        }
        self.ask_step_up(s.user_id, false).await
    }

    /// Changing a person's passkeys (or turning MFA off, which removes them) when they
    /// have one needs a session that passed one of them, and a recent step-up: a
    /// phished password and code cannot replace or remove the person's passkeys.
    pub(crate) async fn require_passkey_step_up(&self, s: SessionRef) -> Outcome<()> {
        let has = crate::db::passkeys::count(&mut *self.db.acquire().await?, s.user_id).await? > 0;
        if has && !s.passkey_verified {
            return self.ask_step_up(s.user_id, true).await;
        }
        self.require_recent_step_up(s).await
    }

    /// Refuses with "Confirm it's you", saying what it must include for this person
    /// (`only_passkey`: nothing but a passkey will do).
    pub(crate) async fn ask_step_up<T>(&self, user_id: i64, only_passkey: bool) -> Outcome<T> {
        let mut conn = self.db.acquire().await?;
        Err(AppError::StepUpRequired {
            code: crate::db::mfa::is_enabled(&mut conn, user_id).await?,
            passkey: crate::db::passkeys::count(&mut conn, user_id).await? > 0,
            only_passkey,
        }
        .into())
    }
}

#[async_trait::async_trait]
impl Mfa for AppState {
    async fn mfa_status(&self, user: &UserCtx) -> Outcome<MfaStatus> {
        let s = user.session;
        let now = self.now();
        let record =
            crate::db::mfa::load(&mut *self.db.acquire().await?, &self.secret_key, s.user_id)
                .await?;
        let totp_since = record.and_then(|r| r.enabled_at);
        let (prefs, _) = self.display_for(s.user_id).await?;
        let display = TimeDisplay::new(&prefs);
        let first_passkey = crate::db::passkeys::list(&mut *self.db.acquire().await?, s.user_id)
            .await?
            .first()
            .map(|k| k.created_at);
        // On since its first factor.
        let enabled_at = match (totp_since, first_passkey) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let elevated =
            crate::db::sessions::elevated_for(&mut *self.db.acquire().await?, s.session_id, now)
                .await?;
        Ok(MfaStatus {
            enabled: enabled_at.is_some(),
            totp: totp_since.is_some(),
            passkeys: self.passkey_list(s.user_id, &display).await?,
            passkeys_available: self.webauthn.is_some(),
            enabled_since: enabled_at.map(|t| display.format(t)),
            recovery_codes_left: crate::db::mfa::recovery_codes_left(
                &mut *self.db.acquire().await?,
                s.user_id,
            )
            .await?,
            elevated_secs: elevated / 1000,
            passkey_session: s.passkey_verified,
            required_by: crate::db::policy::required_by(&mut *self.db.acquire().await?, s.user_id)
                .await?,
        })
    }

    /// "Confirm it's you" inside the current session: the person's own password, then
    /// their authentication code (or, with `recovery`, one of their recovery codes) when
    /// MFA is on, each under its throttle. The session gains those factors and a few
    /// minutes of elevation, under a new token.
    async fn step_up(
        &self,
        user: &UserCtx,
        password: &Secret,
        code: Option<&str>,
        recovery: bool,
    ) -> Outcome<String> {
        let (req, s) = (&user.req, user.session);
        let has_mfa = crate::db::mfa::is_enabled(&mut *self.db.acquire().await?, s.user_id).await?;
        if has_mfa && code.is_none() {
            return self.ask_step_up(s.user_id, false).await;
        }
        self.check_current_password(req, s.user_id, password)
            .await?;
        let attempt = match (has_mfa, code) {
            (true, Some(_)) => Some(self.reserve_code_try(s.user_id).await?),
            _ => None,
        };
        // The code spent, the session's new factors and token, the event: one transaction.
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let mut gained = Factors::PASSWORD;
        if let (Some(attempt), Some(code)) = (&attempt, code) {
            if !self
                .spend_code(&mut tx, req, attempt, code, recovery)
                .await?
            {
                return Err(self.code_refused(tx, req, attempt, recovery).await);
            }
            if recovery {
                gained.recovery_code = true;
            } else {
                gained.totp = true;
            }
        }
        let token = crate::db::sessions::gain_factors(
            &mut tx,
            self.rng.as_ref(),
            s.session_id,
            gained,
            Some(now + mfa::ELEVATION_MS),
            now,
        )
        .await?
        .ok_or(AppError::Unauthenticated)?;
        self.event(&mut tx, req, s.user_id, EventKind::StepUp)
            .await?;
        tx.commit().await?;
        tracing::info!(request_id = %req.request_id, user_id = s.user_id, session_id = s.session_id, "identity confirmed in session");
        Ok(crate::web::cookies::cookie(&self.config, &token))
    }

    async fn start_mfa_enrolment(&self, user: &UserCtx) -> Outcome<MfaEnrolment> {
        let s = user.session;
        let now = self.now();
        // "Confirm it's you" first (asked again after a few minutes); for a person with
        // passkeys, with one of them (a new app is a new, phishable way in).
        self.require_passkey_step_up(s).await?;
        if crate::db::mfa::has_totp(&mut *self.db.acquire().await?, s.user_id).await? {
            return Err(
                AppError::Invalid("Your authenticator app is set up already.".into()).into(),
            );
        }
        let (_, email) = directory::user_identity(&mut *self.db.acquire().await?, s.user_id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let secret = crate::db::mfa::begin_enrolment(
            &mut *self.db.acquire().await?,
            &self.secret_key,
            self.rng.as_ref(),
            s.user_id,
            now,
        )
        .await?;
        let b32 = mfa::base32(&secret);
        let issuer = &self.config.totp_issuer;
        let uri = mfa::otpauth_uri(issuer, &email, &b32);
        let qr_svg = mfa::qr_svg(&uri).ok_or_else(|| Fail::internal("QR code rendering failed"))?;
        Ok(MfaEnrolment {
            qr_svg,
            secret_grouped: mfa::grouped(&b32),
            account_label: format!("{issuer}: {email}"),
            expires_in_secs: mfa::ENROLMENT_TTL_MS / 1000,
        })
    }

    async fn enable_mfa(
        &self,
        user: &UserCtx,
        code: &str,
        sign_out_others: bool,
    ) -> Outcome<(Option<RecoveryCodes>, String)> {
        let (req, s) = (&user.req, user.session);
        let now = self.now();
        let record =
            crate::db::mfa::load(&mut *self.db.acquire().await?, &self.secret_key, s.user_id)
                .await?
                .filter(|r| r.enabled_at.is_none() && r.pending_expires_at.is_some_and(|t| t > now))
                .ok_or_else(|| {
                    AppError::Invalid(
                "The set-up has expired. Start again with “Set up multi-factor authentication”."
                    .into(),
            )
                })?;
        let step = mfa::matching_step(&record.secret, code, now)
            .ok_or_else(|| AppError::Invalid(BAD_CODE.into()))?;
        // MFA on, the session's new factor, the event and the other sessions ended: one
        // transaction, under the person's lock (a change of factors).
        let mut tx = self.db.begin().await?;
        crate::db::passkeys::lock_owner(&mut tx, self.db.backend(), s.user_id).await?;
        // On already through passkeys: the app joins them, and the person's recovery
        // codes stay (the ones they saved keep working).
        let was_on = crate::db::mfa::is_enabled(&mut tx, s.user_id).await?;
        let (codes, hashes) = mfa::new_recovery_codes(self.rng.as_ref());
        let hashes = (!was_on).then_some(hashes.as_slice());
        let done = crate::db::mfa::finish_enrolment(&mut tx, s.user_id, step, hashes, now).await?;
        if !done {
            return Err(AppError::Invalid(
                "The set-up has expired. Start again with “Set up multi-factor authentication”."
                    .into(),
            )
            .into());
        }
        // This session just passed the code: it counts as verified, under a new token.
        let token = crate::db::sessions::gain_factors(
            &mut tx,
            self.rng.as_ref(),
            s.session_id,
            Factors {
                totp: true,
                ..Factors::default()
            },
            None,
            now,
        )
        .await?
        .ok_or(AppError::Unauthenticated)?;
        let (kind, notice) = if was_on {
            (EventKind::TotpAdded, Notice::TotpAdded)
        } else {
            (EventKind::MfaEnabled, Notice::MfaEnabled)
        };
        self.event(&mut tx, req, s.user_id, kind).await?;
        self.announce(&mut tx, s.user_id, Some(req), notice).await?;
        // A change of sign-in drops a waiting email change (perhaps someone else's).
        crate::db::email_changes::cancel(&mut tx, s.user_id).await?;
        self.end_others_if(&mut tx, s, sign_out_others).await?;
        tx.commit().await?;
        Ok((
            (!was_on).then_some(RecoveryCodes(codes)),
            crate::web::cookies::cookie(&self.config, &token),
        ))
    }

    async fn regenerate_recovery_codes(
        &self,
        user: &UserCtx,
        code: &str,
        sign_out_others: bool,
    ) -> Outcome<RecoveryCodes> {
        let (req, s) = (&user.req, user.session);
        if !crate::db::mfa::is_enabled(&mut *self.db.acquire().await?, s.user_id).await? {
            return Err(AppError::Invalid("Multi-factor authentication is not on.".into()).into());
        }
        let mut tx = self.passed_second_factor(user, code).await?;
        let codes = self.fresh_recovery_codes(&mut tx, s.user_id).await?;
        self.event(&mut tx, req, s.user_id, EventKind::RecoveryCodesRegenerated)
            .await?;
        let notice = Notice::RecoveryCodesRegenerated;
        self.announce(&mut tx, s.user_id, Some(req), notice).await?;
        self.end_others_if(&mut tx, s, sign_out_others).await?;
        tx.commit().await?;
        Ok(codes)
    }

    async fn disable_mfa(
        &self,
        user: &UserCtx,
        password: &Secret,
        code: &str,
        sign_out_others: bool,
    ) -> Outcome<()> {
        let (req, s) = (&user.req, user.session);
        if !crate::db::mfa::is_enabled(&mut *self.db.acquire().await?, s.user_id).await? {
            return Err(AppError::Invalid("Multi-factor authentication is not on.".into()).into());
        }
        let required =
            crate::db::policy::required_by(&mut *self.db.acquire().await?, s.user_id).await?;
        if !required.is_empty() {
            return Err(AppError::Invalid(format!(
                "You cannot turn off multi-factor authentication: {} require{} it.",
                required.join(", "),
                if required.len() == 1 { "s" } else { "" }
            ))
            .into());
        }
        // It removes the passkeys too: only from a session that passed one of them.
        let has_passkey =
            crate::db::passkeys::count(&mut *self.db.acquire().await?, s.user_id).await? > 0;
        if has_passkey && !s.passkey_verified {
            return self.ask_step_up(s.user_id, true).await;
        }
        self.check_current_password(req, s.user_id, password)
            .await?;
        let mut tx = self.passed_second_factor(user, code).await?;
        // The authenticator app, the passkeys and the recovery codes.
        crate::db::mfa::disable(&mut tx, s.user_id).await?;
        self.event(&mut tx, req, s.user_id, EventKind::MfaDisabled)
            .await?;
        crate::db::email_changes::cancel(&mut tx, s.user_id).await?;
        let notice = Notice::MfaDisabled;
        self.announce(&mut tx, s.user_id, Some(req), notice).await?;
        self.end_others_if(&mut tx, s, sign_out_others).await?;
        tx.commit().await?;
        Ok(())
    }
}
