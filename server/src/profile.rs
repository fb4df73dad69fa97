//! The profile sections' server side: General, Security and Sessions. Every operation
//! acts on the signed-in person only; ids from the browser are checked against them.

use crate::{
    db::directory,
    db::email_changes,
    db::events::{self, EventKind},
    display::{describe_device, TimeDisplay},
    recovery::EMAIL_LINK_MS,
    sessions::Token,
    sessions::{self, EndReason},
    state::AppState,
};
use app::{
    api::{GeneralUpdate, PasswordChange, Profile},
    models::SessionId,
    models::{
        DateFormat, GeneralSettings, PendingEmail, Preferences, SecurityEventInfo, SessionInfo,
        SessionsPage, TimeFormat,
    },
    ssr::{Outcome, RequestInfo, UserCtx},
    validation::{normalize_email, validate_email, validate_name},
    AppError, Secret,
};
use sqlx::AnyConnection;

const NO_PENDING_EMAIL: &str = "There is no email change waiting for confirmation.";
/// "Resend" waits this long after the last link (a person's mailbox is not a target).
const RESEND_AFTER_MS: i64 = 60_000;

/// Sessions shown per page.
pub const SESSIONS_PER_PAGE: i64 = 20;
/// Entries in "Recent security activity".
pub const RECENT_EVENTS: i64 = 20;

impl AppState {
    pub(crate) async fn display_for(&self, user_id: i64) -> Outcome<(Preferences, bool)> {
        let p = self.person(user_id).await?;
        Ok((p.preferences, p.preferences_saved))
    }

    /// The person behind a session (one query); a deleted person is signed out.
    pub(crate) async fn person(&self, user_id: i64) -> Outcome<directory::Person> {
        directory::person(&mut *self.db.acquire().await?, user_id)
            .await?
            .ok_or(AppError::Unauthenticated.into())
    }

    /// Records a security event of the person, on `conn` (the use case's transaction,
    /// or a pooled connection).
    pub(crate) async fn event(
        &self,
        conn: &mut AnyConnection,
        req: &RequestInfo,
        user_id: i64,
        kind: EventKind,
    ) -> Outcome<()> {
        events::record(
            conn,
            Some(user_id),
            kind,
            self.now(),
            req.ip.as_deref(),
            req.user_agent.as_deref(),
            None,
        )
        .await?;
        Ok(())
    }

    /// Re-authentication for sensitive changes: checks the current password, with the
    /// same throttling as sign-in (so a stolen session cannot guess it quickly).
    pub(crate) async fn check_current_password(
        &self,
        req: &RequestInfo,
        user_id: i64,
        password: &Secret,
    ) -> Outcome<()> {
        let (_, email) = directory::user_identity(&mut *self.db.acquire().await?, user_id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let key = normalize_email(&email);
        let hash = directory::password_hash(&mut *self.db.acquire().await?, user_id).await?;
        let ok = self
            .attempt_password(req, &key, None, Some(user_id), hash, password)
            .await?;
        if ok {
            Ok(())
        } else {
            self.event(
                &mut *self.db.acquire().await?,
                req,
                user_id,
                EventKind::CurrentPasswordFailed,
            )
            .await?;
            Err(AppError::Invalid("The current password is incorrect.".into()).into())
        }
    }
}

#[async_trait::async_trait]
impl Profile for AppState {
    async fn general_settings(&self, user: &UserCtx) -> Outcome<GeneralSettings> {
        let s = user.session;
        let person = self.person(s.user_id).await?;
        let display = TimeDisplay::new(&person.preferences);
        let now = self.now();
        let now_formatted = display.format(now);
        let pending_email = email_changes::of_user(&mut *self.db.acquire().await?, s.user_id)
            .await?
            .map(|p| PendingEmail {
                new_email: p.new_email,
                expires: display.format(p.expires_at),
                expired: p.expires_at <= now,
            });
        Ok(GeneralSettings {
            pending_email,
            name: person.name,
            email: person.email,
            preferences: person.preferences,
            preferences_saved: person.preferences_saved,
            now_formatted,
        })
    }

    async fn save_general(&self, user: &UserCtx, u: GeneralUpdate) -> Outcome<()> {
        let s = user.session;
        let name = validate_name("name", &u.name).map_err(AppError::Invalid)?;
        // The browser's own check, again: the server never trusts it.
        let time_zone =
            app::time_zones::validate_time_zone(&u.time_zone).map_err(AppError::Invalid)?;
        let date_format = DateFormat::parse(&u.date_format)
            .ok_or_else(|| AppError::Invalid("Choose one of the date formats.".into()))?;
        let time_format = TimeFormat::parse(&u.time_format)
            .ok_or_else(|| AppError::Invalid("Choose 24-hour or 12-hour time.".into()))?;
        let prefs = Preferences {
            time_zone: time_zone.to_string(),
            date_format,
            time_format,
            news_opt_in: u.news_opt_in,
        };
        let saved = directory::save_general(
            &mut *self.db.acquire().await?,
            s.user_id,
            &name,
            &prefs,
            self.now(),
        )
        .await?;
        if saved {
            Ok(())
        } else {
            Err(AppError::Unauthenticated.into())
        }
    }

    async fn change_email(
        &self,
        user: &UserCtx,
        new_email: &str,
        password: &Secret,
    ) -> Outcome<()> {
        let (req, s) = (&user.req, user.session);
        validate_email(new_email).map_err(AppError::Invalid)?;
        let new_email = new_email.trim();
        let person = self.person(s.user_id).await?;
        if normalize_email(new_email) == normalize_email(&person.email) {
            return Err(AppError::Invalid("That is already your email address.".into()).into());
        }
        self.check_current_password(req, s.user_id, password)
            .await?;
        let taken = directory::user_by_email(&mut *self.db.acquire().await?, new_email).await?;
        if taken.is_some() {
            return Err(AppError::Invalid(
                "That email address is already used by another person.".into(),
            )
            .into());
        }
        // Not changed yet: the new address proves itself by its link. The pending
        // change, both mails and the event: one transaction.
        let (confirm, cancel) = (
            Token::generate(self.rng.as_ref()),
            Token::generate(self.rng.as_ref()),
        );
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let recorded = email_changes::put(
            &mut tx,
            s.user_id,
            new_email,
            &confirm.hash(),
            &cancel.hash(),
            now,
            now + EMAIL_LINK_MS,
        )
        .await?;
        if !recorded {
            return Err(AppError::Invalid(
                "Your email address changed less than a day ago. You can change it again tomorrow."
                    .into(),
            )
            .into());
        }
        self.email_confirm_mail(&mut tx, &person, new_email, &confirm, req)
            .await?;
        self.email_change_requested_mail(&mut tx, &person, new_email, &cancel, req)
            .await?;
        self.event(&mut tx, req, s.user_id, EventKind::EmailChangeRequested)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn resend_email_confirmation(&self, user: &UserCtx) -> Outcome<()> {
        let (req, s) = (&user.req, user.session);
        let now = self.now();
        let person = self.person(s.user_id).await?;
        let mut tx = self.db.begin().await?;
        let pending = email_changes::of_user(&mut tx, s.user_id)
            .await?
            .ok_or_else(|| AppError::Invalid(NO_PENDING_EMAIL.into()))?;
        let confirm = Token::generate(self.rng.as_ref());
        let renewed = email_changes::renew_confirm(
            &mut tx,
            s.user_id,
            &confirm.hash(),
            now,
            now + EMAIL_LINK_MS,
            now - RESEND_AFTER_MS,
        )
        .await?;
        if !renewed {
            return Err(AppError::Invalid(
                "A link was sent less than a minute ago. Check your mail (and its spam folder) before asking again.".into(),
            )
            .into());
        }
        self.email_confirm_mail(&mut tx, &person, &pending.new_email, &confirm, req)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn cancel_pending_email(&self, user: &UserCtx) -> Outcome<()> {
        let (req, s) = (&user.req, user.session);
        let mut tx = self.db.begin().await?;
        if !email_changes::cancel(&mut tx, s.user_id).await? {
            return Err(AppError::Invalid(NO_PENDING_EMAIL.into()).into());
        }
        self.event(&mut tx, req, s.user_id, EventKind::EmailChangeCancelled)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn change_password(&self, user: &UserCtx, c: PasswordChange) -> Outcome<()> {
        let (req, s) = (&user.req, user.session);
        let (_, email) = directory::user_identity(&mut *self.db.acquire().await?, s.user_id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        self.check_new_password(&c.new, &c.confirm, &email)?;
        if c.new.expose() == c.current.expose() {
            return Err(AppError::Invalid(
                "The new password must differ from the current one.".into(),
            )
            .into());
        }
        self.check_current_password(req, s.user_id, &c.current)
            .await?;
        let hash = self.hash_new_password(&c.new).await?;
        // The new hash, its event and the end of the other sessions: one transaction,
        // so a failure leaves the old password and the sessions as they were.
        let now = self.now();
        let mut tx = self.db.begin().await?;
        directory::set_password_hash(&mut tx, s.user_id, &hash, now).await?;
        // Reset links asked for before no longer work, nor does a waiting email change
        // (asked for, perhaps, by whoever knew the old password).
        crate::db::password_resets::revoke_all(&mut tx, s.user_id).await?;
        email_changes::cancel(&mut tx, s.user_id).await?;
        self.event(&mut tx, req, s.user_id, EventKind::PasswordChanged)
            .await?;
        let person = directory::person(&mut tx, s.user_id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        self.password_changed_notice(&mut tx, &person, req).await?;
        if c.sign_out_others {
            crate::db::sessions::end_all_except(
                &mut tx,
                s.user_id,
                s.session_id,
                EndReason::Revoked,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn delete_self(
        &self,
        user: &UserCtx,
        password: &Secret,
        confirm_email: &str,
    ) -> Outcome<Vec<String>> {
        let (req, s) = (&user.req, user.session);
        let (_, email) = directory::user_identity(&mut *self.db.acquire().await?, s.user_id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        if normalize_email(confirm_email) != normalize_email(&email) {
            return Err(AppError::Invalid(
                "Type your email address exactly to confirm the deletion.".into(),
            )
            .into());
        }
        self.check_current_password(req, s.user_id, password)
            .await?;
        // Told by mail, with the deletion: who they were is read before it.
        let person = self.person(s.user_id).await?;
        let mut tx = self.db.begin().await?;
        let blocking = directory::delete_user(&mut tx, s.user_id).await?;
        if !blocking.is_empty() {
            return Err(AppError::Invalid(format!(
                "You are the only administrator of {}. Make someone else an administrator there first, then delete your account.",
                blocking.join(", ")
            )).into());
        }
        let notice = crate::notices::Notice::AccountDeleted;
        self.send_notice(&mut tx, &person, Some(req), notice)
            .await?;
        tx.commit().await?;
        tracing::info!(request_id = %req.request_id, user_id = s.user_id, "person deleted their account");
        Ok(vec![
            crate::web::cookies::clear_cookie(&self.config),
            // A form's message not shown yet goes with the session.
            crate::web::cookies::clear_flash_cookie(&self.config),
            crate::web::cookies::clear_site_flag(),
        ])
    }

    async fn sessions(&self, user: &UserCtx, page: u32) -> Outcome<SessionsPage> {
        let s = user.session;
        let page = page.max(1);
        let (prefs, _) = self.display_for(s.user_id).await?;
        let display = TimeDisplay::new(&prefs);
        let offset = i64::from(page - 1) * SESSIONS_PER_PAGE;
        // A session only a directory vouches for sees that directory's sessions: where
        // and when the person signs in elsewhere is not the directory's to know.
        let reach = sessions::Reach::of(&s);
        let (rows, total) = crate::db::sessions::list(
            &mut *self.db.acquire().await?,
            s.user_id,
            reach,
            SESSIONS_PER_PAGE,
            offset,
        )
        .await?;
        let active_others = crate::db::sessions::count_active(
            &mut *self.db.acquire().await?,
            s.user_id,
            s.session_id,
            reach,
            &self.config,
            self.now(),
        )
        .await?;
        let now = self.now();
        let sessions = rows
            .into_iter()
            .map(|r| {
                let (status, ended) = r.status(&self.config, now);
                SessionInfo {
                    id: SessionId(r.id),
                    device: describe_device(r.user_agent.as_deref()),
                    ip: r.ip.clone(),
                    signed_in: display.format(r.created_at),
                    last_active: display.format(r.last_seen_at),
                    status,
                    ended: ended.map(|t| display.format(t)),
                    current: r.id == s.session_id,
                    how: r.factors.describe(r.sso_account.as_deref()),
                }
            })
            .collect();
        let page_count = u32::try_from((total + SESSIONS_PER_PAGE - 1) / SESSIONS_PER_PAGE)
            .unwrap_or(u32::MAX)
            .max(1);
        Ok(SessionsPage {
            sessions,
            page,
            page_count,
            total,
            active_others,
            only_directory: reach != sessions::Reach::All,
            retention_days: u32::try_from(self.config.history_retention.as_secs() / 86_400)
                .unwrap_or(u32::MAX),
        })
    }

    async fn revoke_session(&self, user: &UserCtx, session: SessionId) -> Outcome<()> {
        let (req, s, session_id) = (&user.req, user.session, session.get());
        if session_id == s.session_id {
            return Err(AppError::Invalid(
                "This is the session you are using. Use “Sign out” in the user menu instead."
                    .into(),
            )
            .into());
        }
        let mut tx = self.db.begin().await?;
        let ended = crate::db::sessions::end_own(
            &mut tx,
            s.user_id,
            session_id,
            sessions::Reach::of(&s),
            EndReason::Revoked,
            self.now(),
        )
        .await?;
        if !ended {
            // Not theirs, unknown, or already ended: reveal nothing about other people.
            return Err(AppError::Invalid(
                "That session is not one of your active sessions.".into(),
            )
            .into());
        }
        self.event(&mut tx, req, s.user_id, EventKind::SessionRevoked)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn revoke_other_sessions(&self, user: &UserCtx) -> Outcome<u64> {
        let (req, s) = (&user.req, user.session);
        // A directory's session ends only its directory's sessions: it cannot sign the
        // person out of their other accounts.
        let mut tx = self.db.begin().await?;
        let n = crate::db::sessions::end_others_within(
            &mut tx,
            s.user_id,
            s.session_id,
            sessions::Reach::of(&s),
            EndReason::Revoked,
            self.now(),
        )
        .await?;
        // Signing everyone else out also drops an email change someone else may have
        // asked for from one of those sessions (not for a directory's session: what the
        // person asked for elsewhere is not the directory's to undo).
        if sessions::Reach::of(&s) == sessions::Reach::All {
            email_changes::cancel(&mut tx, s.user_id).await?;
        }
        if n > 0 {
            self.event(&mut tx, req, s.user_id, EventKind::SessionRevoked)
                .await?;
        }
        tx.commit().await?;
        Ok(n)
    }

    async fn security_activity(&self, user: &UserCtx) -> Outcome<Vec<SecurityEventInfo>> {
        let s = user.session;
        // The person's whole history (sign-ins everywhere, from where): not for a session
        // only a directory vouches for. Their own password opens it (step-up).
        if sessions::Reach::of(&s) != sessions::Reach::All {
            return self.ask_step_up(s.user_id, false).await;
        }
        let (prefs, _) = self.display_for(s.user_id).await?;
        let display = TimeDisplay::new(&prefs);
        let rows = events::recent(&mut *self.db.acquire().await?, s.user_id, RECENT_EVENTS).await?;
        Ok(rows
            .into_iter()
            .map(|e| SecurityEventInfo {
                what: EventKind::describe(&e.kind).to_string(),
                at: display.format(e.at),
                ip: e.ip,
                device: e.user_agent.as_deref().map(|ua| describe_device(Some(ua))),
            })
            .collect())
    }
}

/// Purges history older than the retention period; run hourly by `serve`.
pub async fn purge_history(state: &AppState) -> Result<(u64, u64), sqlx::Error> {
    let retention =
        i64::try_from(state.config.history_retention.as_millis()).unwrap_or(i64::MAX / 2);
    let cutoff = state.now().saturating_sub(retention);
    let s = crate::db::sessions::purge(&mut *state.db.acquire().await?, cutoff).await?;
    let e = events::purge(&mut *state.db.acquire().await?, cutoff).await?;
    crate::db::throttle::purge(&mut *state.db.acquire().await?, state.now()).await?;
    // Delivered mails are not kept past the retention period either (mails given up on
    // stay for the operator).
    crate::db::outbox::purge_sent(&mut *state.db.acquire().await?, cutoff).await?;
    // Links: reset links once expired; email changes a retention period after (until
    // then the person sees the change they asked for, and can send it again).
    crate::db::password_resets::purge(&mut *state.db.acquire().await?, state.now()).await?;
    // Passkey ceremonies never finished, once expired.
    crate::db::passkeys::purge_ceremonies(&mut *state.db.acquire().await?, state.now()).await?;
    email_changes::purge(&mut *state.db.acquire().await?, cutoff).await?;
    crate::db::policy_notices::purge(&mut *state.db.acquire().await?, cutoff).await?;
    // The accounts' audit logs have their own, longer retention.
    let audit = i64::try_from(state.config.audit_retention.as_millis()).unwrap_or(i64::MAX / 2);
    crate::db::audit::purge(
        &mut *state.db.acquire().await?,
        state.now().saturating_sub(audit),
    )
    .await?;
    Ok((s, e))
}
