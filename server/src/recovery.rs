//! Mailed links, the server side: a forgotten password (a reset link, then a new password
//! with the code step for people with MFA) and the links of an email change (confirming
//! the new address; "If this wasn't you" from the old one, which cancels the change and
//! starts a reset). Only hashes of the links' tokens are stored.

use crate::{
    db::{
        directory::{self, DirectoryError},
        email_changes::{self, Link},
        events::EventKind,
        password_resets,
        throttle::{self, Reserve, Scope},
    },
    notices::{Notice, EMAIL_LINK_HOURS, RESET_LINK_MINUTES},
    sessions::{EndReason, Token},
    state::AppState,
};
use app::{
    api::{EmailLinkKind, NewPerson, PasswordReset, Recovery},
    format::{link_href, RESET_PASSWORD_PATH},
    models::{EmailLinkInfo, InvitationInfo, ResetLinkInfo},
    ssr::{Outcome, RequestInfo},
    validation::{normalize_email, validate_new_password},
    AppError, Secret,
};
use sqlx::AnyConnection;

const RESET_LINK_MS: i64 = RESET_LINK_MINUTES * 60_000;
/// How long the links of an email change work.
pub const EMAIL_LINK_MS: i64 = EMAIL_LINK_HOURS * 3_600_000;

const RESET_LINK_INVALID: &str =
    "This reset link has expired or was already used. Ask for a new one below.";
const EMAIL_LINK_INVALID: &str =
    "This link has expired or was already used. Sign in and ask for the change again in General.";
const DIRECTORY_ONLY: &str = "You sign in through your organisation's directory, so you have no Connect Portal password to reset. Use “Sign in with single sign-on” with your work email.";

/// The stored hash of a link's token; `None` for anything that is not one of our tokens.
fn token_hash(token: &Secret) -> Option<String> {
    Token::from_cookie(token.expose().trim()).map(|t| t.hash())
}

const INVITATION_INVALID: &str =
    "This invitation link is not valid: it was used, revoked or replaced by a newer one. Ask an administrator of the account to send it again.";

impl AppState {
    /// The still-valid invitation a link belongs to.
    async fn pending_invitation(
        &self,
        token: &Secret,
    ) -> Outcome<crate::db::invitations::Invitation> {
        let invalid = || AppError::Invalid(INVITATION_INVALID.into());
        let hash = token_hash(token).ok_or_else(invalid)?;
        let inv = crate::db::invitations::by_token(&mut *self.db.acquire().await?, &hash)
            .await?
            .ok_or_else(invalid)?;
        if inv.expires_at <= self.now() {
            return Err(AppError::Invalid(format!(
                "This invitation expired. Ask an administrator of {} to send it again.",
                inv.account_name
            ))
            .into());
        }
        Ok(inv)
    }

    /// Hashes a new password off the async threads; a full hashing queue is "busy".
    pub(crate) async fn hash_new_password(&self, password: &Secret) -> Outcome<String> {
        match self.passwords.hash(password).await {
            Ok(hash) => Ok(hash),
            // The queue in front of argon2 is full: nothing changed, try again soon.
            Err(crate::passwords::HashError::Busy) => Err(AppError::Busy {
                retry_after_secs: crate::sign_in::BUSY_RETRY_SECS,
            }
            .into()),
            Err(e) => Err(e.into()),
        }
    }

    /// Checks a new password and its confirmation against the rules of the Security
    /// section.
    pub(crate) fn check_new_password(
        &self,
        new: &Secret,
        confirm: &Secret,
        email: &str,
    ) -> Outcome<()> {
        if new.expose() != confirm.expose() {
            return Err(AppError::Invalid(
                "The new password and its confirmation do not match.".into(),
            )
            .into());
        }
        validate_new_password(new.expose(), email, self.config.min_password_length)
            .map_err(AppError::Invalid)?;
        crate::common_passwords::check(new.expose()).map_err(AppError::Invalid)?;
        Ok(())
    }

    /// Creates a reset link for the person (on `tx`); its token.
    async fn new_reset_link(&self, tx: &mut AnyConnection, user_id: i64) -> Outcome<Token> {
        let token = Token::generate(self.rng.as_ref());
        let now = self.now();
        password_resets::insert(tx, user_id, &token.hash(), now, now + RESET_LINK_MS).await?;
        Ok(token)
    }

    /// The mail of a reset request, once answered: a link for the person with that
    /// address, the directory's way for a person who has no portal password, nothing for
    /// an unknown address.
    async fn mail_reset_link(&self, req: &RequestInfo, email: &str) -> Outcome<()> {
        let mut tx = self.db.begin().await?;
        let Some(user_id) = directory::user_by_email(&mut tx, email).await? else {
            return Ok(());
        };
        let person = directory::person(&mut tx, user_id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        if person.sso_only {
            self.reset_through_directory_mail(&mut tx, &person, req)
                .await?;
        } else {
            let token = self.new_reset_link(&mut tx, user_id).await?;
            self.password_reset_mail(&mut tx, &person, &token, req)
                .await?;
            self.event(&mut tx, req, user_id, EventKind::PasswordResetRequested)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Reserves one reset request under the throttle of `scope`.
    async fn reserve_request(
        &self,
        scope: Scope,
        key: &str,
    ) -> Outcome<Result<throttle::Reservation, i64>> {
        let mut conn = self.db.acquire().await?;
        Ok(
            match throttle::reserve(&mut conn, scope, key, self.now()).await? {
                Reserve::Granted(r) => Ok(r),
                Reserve::Locked(wait) => Err(wait),
            },
        )
    }
}

#[async_trait::async_trait]
impl Recovery for AppState {
    async fn request_password_reset(&self, req: &RequestInfo, email: &str) -> Outcome<()> {
        let key = normalize_email(email);
        // Counted per typed address and per client address, known or not: the answer
        // (and a refusal) says nothing about whether anyone has the address.
        let mut held = Vec::new();
        let scopes = [
            Some((Scope::ResetEmail, key.clone())),
            req.ip.clone().map(|ip| (Scope::ResetIp, ip)),
        ];
        for (scope, value) in scopes.into_iter().flatten() {
            match self.reserve_request(scope, &value).await? {
                Ok(r) => held.push(r),
                Err(wait) => {
                    for r in &held {
                        throttle::undo(&mut *self.db.acquire().await?, r).await?;
                    }
                    return Err(AppError::Throttled {
                        retry_after_secs: throttle::wait_secs(wait),
                    }
                    .into());
                }
            }
        }
        // The lookup and the mail happen after the answer, so its timing is the same
        // for every address. A failure there is logged (the person can ask again).
        let (state, req) = (self.clone(), req.clone());
        tokio::spawn(async move {
            if let Err(e) = state.mail_reset_link(&req, &key).await {
                let e = e.into_app_error(&req.request_id);
                tracing::error!(request_id = %req.request_id, error = %e, "the reset link was not written");
            }
        });
        Ok(())
    }

    async fn reset_link(&self, _req: &RequestInfo, token: &Secret) -> Outcome<ResetLinkInfo> {
        let invalid = || AppError::Invalid(RESET_LINK_INVALID.into());
        let hash = token_hash(token).ok_or_else(invalid)?;
        let user_id = password_resets::find(&mut *self.db.acquire().await?, &hash, self.now())
            .await?
            .ok_or_else(invalid)?;
        let person = self.person(user_id).await?;
        let app = crate::db::mfa::has_totp(&mut *self.db.acquire().await?, user_id).await?;
        Ok(ResetLinkInfo {
            email: person.email,
            code_required: person.mfa_enabled,
            app,
        })
    }

    async fn reset_password(&self, req: &RequestInfo, r: PasswordReset) -> Outcome<()> {
        let invalid = || AppError::Invalid(RESET_LINK_INVALID.into());
        let hash = token_hash(&r.token).ok_or_else(invalid)?;
        let user_id = password_resets::find(&mut *self.db.acquire().await?, &hash, self.now())
            .await?
            .ok_or_else(invalid)?;
        let person = self.person(user_id).await?;
        if person.sso_only {
            return Err(AppError::Invalid(DIRECTORY_ONLY.into()).into());
        }
        self.check_new_password(&r.new, &r.confirm, &person.email)?;
        // A reset never bypasses MFA: the person's current code (or a recovery code),
        // under the code throttle, before anything is hashed.
        let attempt = if person.mfa_enabled {
            let Some(code) = r.code.as_ref().map(|c| c.expose()) else {
                return Err(AppError::Invalid(
                    "Enter the authentication code from your app, or one of your recovery codes."
                        .into(),
                )
                .into());
            };
            Some((self.reserve_code_try(user_id).await?, code.to_string()))
        } else {
            None
        };
        // MFA through passkeys only: the code can only be a recovery code.
        let recovery = r.recovery
            || (attempt.is_some()
                && !crate::db::mfa::has_totp(&mut *self.db.acquire().await?, user_id).await?);
        let new_hash = self.hash_new_password(&r.new).await?;
        let now = self.now();
        // The link, the code, the password, the end of every session, the throttles,
        // the event and the notice: one transaction.
        let mut tx = self.db.begin().await?;
        if password_resets::take(&mut tx, &hash, now).await? != Some(user_id) {
            return Err(invalid().into());
        }
        if let Some((attempt, code)) = &attempt {
            if !self
                .spend_code(&mut tx, req, attempt, code, recovery)
                .await?
            {
                return Err(self.code_refused(tx, req, attempt, recovery).await);
            }
        }
        directory::set_password_hash(&mut tx, user_id, &new_hash, now).await?;
        crate::db::sessions::end_all(&mut tx, user_id, EndReason::Revoked, now).await?;
        email_changes::cancel(&mut tx, user_id).await?;
        throttle::clear(&mut tx, Scope::Email, &normalize_email(&person.email)).await?;
        throttle::clear(&mut tx, Scope::ResetEmail, &normalize_email(&person.email)).await?;
        self.event(&mut tx, req, user_id, EventKind::PasswordReset)
            .await?;
        self.send_notice(&mut tx, &person, Some(req), Notice::PasswordReset)
            .await?;
        tx.commit().await?;
        tracing::info!(request_id = %req.request_id, user_id, "password reset with a mailed link");
        Ok(())
    }

    async fn email_link(
        &self,
        _req: &RequestInfo,
        kind: EmailLinkKind,
        token: &Secret,
    ) -> Outcome<EmailLinkInfo> {
        let invalid = || AppError::Invalid(EMAIL_LINK_INVALID.into());
        let hash = token_hash(token).ok_or_else(invalid)?;
        let link = match kind {
            EmailLinkKind::Confirm => Link::Confirm,
            EmailLinkKind::Cancel => Link::Cancel,
        };
        let pending = email_changes::find(&mut *self.db.acquire().await?, link, &hash, self.now())
            .await?
            .ok_or_else(invalid)?;
        let person = self.person(pending.user_id).await?;
        let old_email = match pending.confirmed {
            Some((_, old)) => old,
            None => person.email,
        };
        Ok(EmailLinkInfo {
            old_email,
            new_email: pending.new_email,
        })
    }

    async fn confirm_email(&self, req: &RequestInfo, token: &Secret) -> Outcome<()> {
        let invalid = || AppError::Invalid(EMAIL_LINK_INVALID.into());
        let hash = token_hash(token).ok_or_else(invalid)?;
        let now = self.now();
        // The address, the end of the other sessions, the event and the notice to the
        // old address: one transaction (the link works once).
        let mut tx = self.db.begin().await?;
        let Some(waiting) = email_changes::find(&mut tx, Link::Confirm, &hash, now).await? else {
            return Err(invalid().into());
        };
        let user_id = waiting.user_id;
        let before = directory::person(&mut tx, user_id)
            .await?
            .ok_or_else(invalid)?;
        // The link stops working; the old address's link can undo the change for a day.
        let dead = Token::generate(self.rng.as_ref()).hash();
        let pending = email_changes::confirm(
            &mut tx,
            &hash,
            &dead,
            &before.email,
            now,
            now + EMAIL_LINK_MS,
        )
        .await?
        .ok_or_else(invalid)?;
        match directory::set_email(&mut tx, user_id, &pending.new_email, now).await {
            Ok(()) => {}
            Err(DirectoryError::DuplicateEmail(_)) => {
                return Err(AppError::Invalid(
                    "That email address is now used by another person, so it cannot become yours. Sign in and ask for the change with another address.".into(),
                )
                .into())
            }
            Err(e) => return Err(e.into()),
        }
        // The session that followed the link stays, if it is the person's own.
        let keep = req
            .session
            .filter(|s| s.user_id == user_id)
            .map_or(0, |s| s.session_id);
        crate::db::sessions::end_all_except(&mut tx, user_id, keep, EndReason::Revoked, now)
            .await?;
        // Reset links went to the old address.
        password_resets::revoke_all(&mut tx, user_id).await?;
        self.event(&mut tx, req, user_id, EventKind::EmailChanged)
            .await?;
        let notice = Notice::EmailChanged {
            new_email: pending.new_email.clone(),
        };
        self.send_notice(&mut tx, &before, Some(req), notice)
            .await?;
        tx.commit().await?;
        tracing::info!(request_id = %req.request_id, user_id, "email address confirmed");
        Ok(())
    }

    async fn cancel_email_change(&self, req: &RequestInfo, token: &Secret) -> Outcome<String> {
        let invalid = || AppError::Invalid(EMAIL_LINK_INVALID.into());
        let hash = token_hash(token).ok_or_else(invalid)?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let pending = email_changes::take_cancel(&mut tx, &hash, now)
            .await?
            .ok_or_else(invalid)?;
        let person = directory::person(&mut tx, pending.user_id)
            .await?
            .ok_or_else(invalid)?;
        // Confirmed already (by whoever holds the new mailbox): the old address comes
        // back and every session ends; then a new password, as below.
        if let Some((_, old_email)) = &pending.confirmed {
            match directory::set_email(&mut tx, pending.user_id, old_email, now).await {
                Ok(()) => {}
                Err(DirectoryError::DuplicateEmail(_)) => {
                    return Err(AppError::Invalid(format!(
                        "{old_email} now belongs to another person, so it cannot come back. Contact your administrator."
                    ))
                    .into())
                }
                Err(e) => return Err(e.into()),
            }
            crate::db::sessions::end_all(&mut tx, pending.user_id, EndReason::Revoked, now).await?;
            password_resets::revoke_all(&mut tx, pending.user_id).await?;
            self.event(&mut tx, req, pending.user_id, EventKind::EmailChanged)
                .await?;
            tracing::info!(request_id = %req.request_id, user_id = pending.user_id, "confirmed email change undone from the old address");
        }
        self.event(
            &mut tx,
            req,
            pending.user_id,
            EventKind::EmailChangeCancelled,
        )
        .await?;
        // Someone else knew the password: on to set a new one (this link proved the
        // mailbox, as a reset link would).
        let next = if person.sso_only {
            "/login?email_cancelled=1".to_string()
        } else {
            let reset = self.new_reset_link(&mut tx, pending.user_id).await?;
            format!(
                "{}&email_cancelled=1",
                link_href(RESET_PASSWORD_PATH, reset.expose())
            )
        };
        tx.commit().await?;
        Ok(next)
    }

    async fn invitation(&self, req: &RequestInfo, token: &Secret) -> Outcome<InvitationInfo> {
        let inv = self.pending_invitation(token).await?;
        let existing = directory::user_by_email(&mut *self.db.acquire().await?, &inv.email).await?;
        let signed_in = match req.session {
            Some(s) => Some((s.user_id, self.person(s.user_id).await?.email)),
            None => None,
        };
        Ok(InvitationInfo {
            account_name: inv.account_name,
            group_name: inv.group_name,
            email: inv.email,
            existing: existing.is_some(),
            signed_in_as_invitee: existing.is_some()
                && signed_in.as_ref().map(|(id, _)| *id) == existing,
            signed_in_as: signed_in.map(|(_, email)| email),
        })
    }

    async fn accept_invitation(
        &self,
        req: &RequestInfo,
        token: &Secret,
        new: Option<NewPerson>,
    ) -> Outcome<()> {
        let inv = self.pending_invitation(token).await?;
        let hash = token_hash(token).ok_or_else(|| AppError::Invalid(INVITATION_INVALID.into()))?;
        let now = self.now();
        let existing = directory::user_by_email(&mut *self.db.acquire().await?, &inv.email).await?;
        // Who accepts: the person with the invited address, signed in with their own
        // credentials; or, for an address nobody uses yet, a new person (proven by the
        // link, which went to that address).
        let prepared = match (existing, &new) {
            (Some(user_id), _) => {
                let Some(s) = req.session.filter(|s| s.user_id == user_id) else {
                    return Err(AppError::Invalid(format!(
                        "Sign in as {} to accept this invitation.",
                        inv.email
                    ))
                    .into());
                };
                // A session only another account's directory vouches for cannot join the
                // person to this account: their own password first.
                if crate::sessions::Reach::of(&s) != crate::sessions::Reach::All {
                    return self.ask_step_up(user_id, false).await;
                }
                None
            }
            (None, Some(n)) => {
                let name =
                    app::validation::validate_name("name", &n.name).map_err(AppError::Invalid)?;
                self.check_new_password(&n.password, &n.confirm, &inv.email)?;
                Some((name, self.hash_new_password(&n.password).await?))
            }
            (None, None) => {
                return Err(AppError::Invalid(
                    "Enter your name and a password to accept the invitation.".into(),
                )
                .into())
            }
        };
        let mut tx = self.db.begin().await?;
        crate::db::members::lock_account(&mut tx, self.db.backend(), inv.account_id).await?;
        if !crate::db::invitations::take(&mut tx, &hash, now).await? {
            return Err(AppError::Invalid(INVITATION_INVALID.into()).into());
        }
        let user_id = match (existing, prepared) {
            (Some(user_id), _) => user_id,
            (None, Some((name, password_hash))) => {
                match directory::insert_user(&mut tx, &inv.email, &name, &password_hash, now).await
                {
                    Ok(id) => id,
                    Err(DirectoryError::DuplicateEmail(_)) => {
                        return Err(AppError::Invalid(format!(
                            "Someone already uses {}: sign in as them to accept.",
                            inv.email
                        ))
                        .into())
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            (None, None) => return Err(AppError::Invalid(INVITATION_INVALID.into()).into()),
        };
        if crate::db::members::get(&mut tx, inv.account_id, user_id)
            .await?
            .is_none()
        {
            directory::insert_membership(&mut tx, user_id, inv.account_id, inv.group_id, now)
                .await?;
        }
        let person = directory::person(&mut tx, user_id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let label = crate::people_admin::person_label(&person.name, &person.email);
        let actor = crate::db::audit::Actor::Person {
            user_id,
            label: label.clone(),
            ip: req.ip.clone(),
            user_agent: req.user_agent.clone(),
        };
        let entry = crate::db::audit::Entry {
            account_id: inv.account_id,
            action: crate::db::audit::Action::InvitationAccepted,
            subject: &label,
            subject_user_id: Some(user_id),
            detail: &format!("joined {}", inv.group_name),
        };
        crate::db::audit::record(&mut tx, &actor, entry, now).await?;
        // A signed-in person works in the account they just joined.
        if let Some(s) = req.session.filter(|s| s.user_id == user_id) {
            crate::db::sessions::set_active_account(&mut tx, s.session_id, user_id, inv.account_id)
                .await?;
        }
        tx.commit().await?;
        tracing::info!(request_id = %req.request_id, user_id, account_id = inv.account_id, "invitation accepted");
        Ok(())
    }
}
