//! Passkeys (WebAuthn), with webauthn-rs: the relying party (from the public URL), and
//! the registration and authentication ceremonies. A ceremony is started by one request
//! and finished by another, possibly on another replica: its state is in the database
//! (`db::passkeys` ceremonies), single use, a few minutes, bound to what started it (the
//! session for a registration, the pending sign-in for a second factor), and its id is
//! a random token of which only a hash is stored.
//!
//! A passkey is a second factor (after the password, or in "Confirm it's you") and,
//! alone, a complete sign-in (discoverable credentials: it proves possession and user
//! verification). The person's first passkey turns MFA on (see `db::mfa::mfa_on_sql`).

use crate::{
    db::events::EventKind,
    db::passkeys::{self as db, Ceremony, Kind},
    db::throttle,
    display::TimeDisplay,
    mfa,
    notices::Notice,
    sessions::{EndReason, Factors, Token},
    state::AppState,
};
use app::{
    api::Passkeys,
    models::{PasskeyChallenge, PasskeyInfo, RecoveryCodes},
    ssr::{Fail, Outcome, RequestInfo, UserCtx},
    AppError, Secret,
};
use std::sync::Arc;
use webauthn_rs::prelude::{
    AuthenticationResult, DiscoverableAuthentication, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, Url, Uuid, Webauthn, WebauthnBuilder, WebauthnError,
};

/// How long a ceremony may take between its two requests.
pub const CEREMONY_TTL_MS: i64 = 5 * 60_000;

/// The relying party for the portal's public URL: its host is the relying party id, its
/// origin the only one accepted. WebAuthn refuses IP addresses as relying party ids, so a
/// portal served at an IP address has no passkeys (`None`); `http://localhost:PORT`
/// works (browsers treat it as a secure context).
pub fn relying_party(public_origin: &str) -> Option<Arc<Webauthn>> {
    let origin = Url::parse(public_origin).ok()?;
    let host = origin.domain()?.to_string();
    WebauthnBuilder::new(&host, &origin)
        .ok()?
        .rp_name("Connect Portal")
        .build()
        .ok()
        .map(Arc::new)
}

const UNAVAILABLE: &str = "Passkeys need the portal to be served at a domain name (not an IP address): ask your operator.";
const NO_CEREMONY: &str = "This passkey request has expired or was already used. Start again.";
const UNREADABLE: &str = "The browser's answer could not be read. Start again.";

fn invalid(message: &str) -> Fail {
    AppError::Invalid(message.into()).into()
}

const NOT_ACCEPTED: &str = "The passkey was not accepted. Try again.";
const EXPIRED_SIGN_IN: &str =
    "This sign-in has expired. Please sign in again with your email and password.";

impl AppState {
    fn webauthn(&self) -> Outcome<&Webauthn> {
        self.webauthn.as_deref().ok_or_else(|| invalid(UNAVAILABLE))
    }

    /// The person's WebAuthn user handle: a random UUID made at their first passkey.
    async fn webauthn_handle(&self, user_id: i64) -> Outcome<Uuid> {
        let mut conn = self.db.acquire().await?;
        let handle = match db::handle(&mut conn, user_id).await? {
            Some(h) => h,
            None => {
                let mut bytes = [0u8; 16];
                self.rng.fill(&mut bytes);
                let fresh = uuid::Builder::from_random_bytes(bytes).into_uuid();
                db::ensure_handle(&mut conn, user_id, &fresh.to_string())
                    .await?
                    .ok_or_else(|| Fail::internal("the person has no row"))?
            }
        };
        Uuid::parse_str(&handle).map_err(|e| Fail::internal(format!("stored user handle: {e}")))
    }

    /// Stores a ceremony's state for its second half, bound to `bound_to` and `user_id`,
    /// and gives the browser its id and `options`.
    async fn start<S: serde::Serialize, O: serde::Serialize>(
        &self,
        kind: Kind,
        bound_to: Option<String>,
        user_id: Option<i64>,
        state: &S,
        options: &O,
    ) -> Outcome<PasskeyChallenge> {
        let ceremony = Ceremony {
            bound_to,
            user_id,
            state: to_json(state)?,
            expires_at: self.now() + CEREMONY_TTL_MS,
        };
        let token = Token::generate(self.rng.as_ref());
        db::put_ceremony(
            &mut *self.db.acquire().await?,
            &token.hash(),
            kind,
            &ceremony,
        )
        .await?;
        Ok(PasskeyChallenge {
            ceremony: token.expose().to_string(),
            options: to_json(options)?,
        })
    }

    /// Takes a ceremony of this kind that `bound_to` started (anything else: as if it
    /// did not exist, and it is used up either way).
    async fn take(&self, kind: Kind, ceremony: &str, bound_to: Option<&str>) -> Outcome<Ceremony> {
        let hash = Token::from_cookie(ceremony)
            .map(|t| t.hash())
            .ok_or_else(|| invalid(NO_CEREMONY))?;
        let c = db::take_ceremony(&mut *self.db.acquire().await?, &hash, kind, self.now())
            .await?
            .ok_or_else(|| invalid(NO_CEREMONY))?;
        if c.bound_to.as_deref() != bound_to {
            return Err(invalid(NO_CEREMONY));
        }
        Ok(c)
    }

    /// A ceremony in which the person's passkeys sign a challenge (a second factor, or
    /// "Confirm it's you"), bound to `bound_to`.
    pub async fn begin_assertion(&self, user_id: i64, bound_to: &str) -> Outcome<PasskeyChallenge> {
        let webauthn = self.webauthn()?;
        let keys: Vec<Passkey> = self
            .passkeys_of(user_id)
            .await?
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        if keys.is_empty() {
            return Err(invalid(
                "You have no passkey: use your authentication code.",
            ));
        }
        let (options, state): (RequestChallengeResponse, PasskeyAuthentication) = webauthn
            .start_passkey_authentication(&keys)
            .map_err(|e| Fail::internal(format!("passkey authentication: {e}")))?;
        self.start(
            Kind::SecondFactor,
            Some(bound_to.to_string()),
            Some(user_id),
            &state,
            &options,
        )
        .await
    }

    /// The second half of [`AppState::begin_assertion`]: one of the person's passkeys
    /// signed this ceremony's challenge with user verification. Its counter and flags are
    /// kept; a counter that went backwards (a cloned authenticator) is refused, recorded
    /// and announced.
    pub async fn complete_assertion(
        &self,
        req: &RequestInfo,
        user_id: i64,
        bound_to: &str,
        ceremony: &str,
        answer: &str,
    ) -> Outcome<()> {
        let webauthn = self.webauthn()?;
        let c = self
            .take(Kind::SecondFactor, ceremony, Some(bound_to))
            .await?;
        if c.user_id != Some(user_id) {
            return Err(invalid(NO_CEREMONY));
        }
        let state: PasskeyAuthentication = serde_json::from_str(&c.state)
            .map_err(|e| Fail::internal(format!("stored authentication state: {e}")))?;
        let answer: PublicKeyCredential =
            serde_json::from_str(answer).map_err(|_| invalid(UNREADABLE))?;
        let result = webauthn.finish_passkey_authentication(&answer, &state);
        self.verified(req, user_id, &answer, result).await
    }

    /// What a checked answer leads to: a counter regression refused (recorded and
    /// announced), any other refusal, or the use stored.
    async fn verified(
        &self,
        req: &RequestInfo,
        user_id: i64,
        answer: &PublicKeyCredential,
        result: Result<AuthenticationResult, WebauthnError>,
    ) -> Outcome<()> {
        let result = match result {
            Ok(r) => r,
            Err(WebauthnError::CredentialPossibleCompromise) => {
                tracing::warn!(request_id = %req.request_id, user_id, "passkey refused: its signature counter went backwards (a cloned authenticator?)");
                let name = self
                    .stored_passkeys(user_id)
                    .await?
                    .into_iter()
                    .find(|(_, p)| p.cred_id().as_slice() == answer.raw_id.as_slice())
                    .map(|(stored, _)| stored.name);
                let mut tx = self.db.begin().await?;
                self.event(&mut tx, req, user_id, EventKind::PasskeyRefused)
                    .await?;
                if let Some(name) = name {
                    let notice = Notice::PasskeyRefused { name };
                    self.announce(&mut tx, user_id, Some(req), notice).await?;
                }
                tx.commit().await?;
                return Err(invalid(
                    "This passkey was refused: its signature counter went backwards, as a copied authenticator's would. Use another passkey or your authentication code, and remove this one.",
                ));
            }
            Err(e) => {
                tracing::info!(request_id = %req.request_id, user_id, error = %e, "passkey authentication refused");
                return Err(invalid(NOT_ACCEPTED));
            }
        };
        let now = self.now();
        for (stored, mut key) in self.stored_passkeys(user_id).await? {
            if key.cred_id() == result.cred_id() {
                key.update_credential(&result);
                // Written only over the credential this answer was checked against: of
                // two answers checked at once against the same counter (a copied key
                // racing the real one), one counts.
                let mut tx = self.db.begin().await?;
                let updated = to_json(&key)?;
                if !db::record_use(&mut tx, stored.id, &stored.credential, &updated, now).await? {
                    return Err(invalid(
                        "This passkey was used at the same moment elsewhere. Try again.",
                    ));
                }
                self.event(&mut tx, req, user_id, EventKind::PasskeyUsed)
                    .await?;
                tx.commit().await?;
                return Ok(());
            }
        }
        // Signed by a key that is no longer the person's (removed meanwhile).
        Err(invalid(NOT_ACCEPTED))
    }

    /// The person's passkeys with their stored ids.
    async fn passkeys_of(&self, user_id: i64) -> Outcome<Vec<(i64, Passkey)>> {
        Ok(self
            .stored_passkeys(user_id)
            .await?
            .into_iter()
            .map(|(s, p)| (s.id, p))
            .collect())
    }

    /// The person's passkeys as stored, each with its credential read.
    async fn stored_passkeys(&self, user_id: i64) -> Outcome<Vec<(db::Stored, Passkey)>> {
        db::list(&mut *self.db.acquire().await?, user_id)
            .await?
            .into_iter()
            .map(|s| {
                serde_json::from_str::<Passkey>(&s.credential)
                    .map(|p| (s.clone(), p))
                    .map_err(|e| Fail::internal(format!("stored passkey {}: {e}", s.id)))
            })
            .collect()
    }

    /// The Security section's list of the person's passkeys, in their formats.
    pub(crate) async fn passkey_list(
        &self,
        user_id: i64,
        display: &TimeDisplay,
    ) -> Outcome<Vec<PasskeyInfo>> {
        Ok(self
            .stored_passkeys(user_id)
            .await?
            .into_iter()
            .map(|(s, _)| {
                // The authenticator's backup-eligible flag, as webauthn-rs stores it.
                let synced = serde_json::from_str::<serde_json::Value>(&s.credential)
                    .ok()
                    .and_then(|v| v.pointer("/cred/backup_eligible")?.as_bool())
                    .unwrap_or(false);
                PasskeyInfo {
                    id: s.id,
                    name: s.name,
                    added: display.format(s.created_at),
                    last_used: s.last_used_at.map(|t| display.format(t)),
                    kind: if synced {
                        "Synced passkey (can be on your other devices)".into()
                    } else {
                        "Device-bound passkey (stays on one authenticator)".into()
                    },
                }
            })
            .collect())
    }

    /// The live pending sign-in of this browser (password done, second factor next).
    async fn pending_sign_in(&self, req: &RequestInfo) -> Outcome<(i64, i64)> {
        let token = req
            .pending
            .as_ref()
            .and_then(|t| Token::from_cookie(&t.0))
            .ok_or_else(|| invalid(EXPIRED_SIGN_IN))?;
        crate::db::mfa::resolve_pending(&mut *self.db.acquire().await?, &token, self.now())
            .await?
            .ok_or_else(|| invalid(EXPIRED_SIGN_IN))
    }
}

#[async_trait::async_trait]
impl Passkeys for AppState {
    /// "Add a passkey", first half: needs a recent "Confirm it's you" (with a passkey,
    /// when the person has one: [`AppState::require_passkey_step_up`]). The options ask
    /// the authenticator for a new discoverable credential of this person (so it can
    /// sign in alone later), excluding the ones they have.
    async fn start_passkey_registration(&self, user: &UserCtx) -> Outcome<PasskeyChallenge> {
        let webauthn = self.webauthn()?;
        self.require_passkey_step_up(user.session).await?;
        let user_id = user.user_id();
        let (name, email) =
            crate::db::directory::user_identity(&mut *self.db.acquire().await?, user_id)
                .await?
                .ok_or(AppError::Unauthenticated)?;
        let handle = self.webauthn_handle(user_id).await?;
        let exclude = self
            .passkeys_of(user_id)
            .await?
            .into_iter()
            .map(|(_, p)| p.cred_id().clone())
            .collect::<Vec<_>>();
        let (options, state) = webauthn
            .start_passkey_registration(handle, &email, &name, Some(exclude))
            .map_err(|e| Fail::internal(format!("passkey registration: {e}")))?;
        // A passkey that can sign in alone must be discoverable (a resident key): asked
        // of the authenticator here (the state does not depend on it).
        let mut options =
            serde_json::to_value(&options).map_err(|e| Fail::internal(e.to_string()))?;
        if let Some(sel) = options
            .pointer_mut("/publicKey/authenticatorSelection")
            .and_then(|v| v.as_object_mut())
        {
            // WebAuthn Level 2's member, which browsers follow over Level 1's
            // `requireResidentKey` (left as webauthn-rs sets it).
            sel.insert("residentKey".into(), "required".into());
        }
        self.start(
            Kind::Register,
            Some(session_binding(user)),
            Some(user_id),
            &state,
            &options,
        )
        .await
    }

    /// "Add a passkey", second half: the authenticator's answer to the options of a
    /// ceremony this session started. The passkey, MFA turned on with fresh recovery
    /// codes when it was off, events and notices: one transaction.
    async fn add_passkey(
        &self,
        user: &UserCtx,
        ceremony: &str,
        answer: &str,
        name: &str,
    ) -> Outcome<Option<RecoveryCodes>> {
        let webauthn = self.webauthn()?;
        let (req, s) = (&user.req, user.session);
        let name =
            app::validation::validate_name("passkey name", name).map_err(AppError::Invalid)?;
        let c = self
            .take(Kind::Register, ceremony, Some(&session_binding(user)))
            .await?;
        if c.user_id != Some(s.user_id) {
            return Err(invalid(NO_CEREMONY));
        }
        let state: PasskeyRegistration = serde_json::from_str(&c.state)
            .map_err(|e| Fail::internal(format!("stored registration state: {e}")))?;
        let answer: RegisterPublicKeyCredential =
            serde_json::from_str(answer).map_err(|_| invalid(UNREADABLE))?;
        let passkey = webauthn
            .finish_passkey_registration(&answer, &state)
            .map_err(|e| {
                tracing::info!(request_id = %req.request_id, error = %e, "passkey registration refused");
                invalid("The authenticator's answer was not accepted. Start again.")
            })?;
        let credential = to_json(&passkey)?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        db::lock_owner(&mut tx, self.db.backend(), s.user_id).await?;
        // Checked again under the lock: a registration started before the person's first
        // passkey was added (in another tab) is not finished by a session without one.
        if db::count(&mut tx, s.user_id).await? > 0 && !s.passkey_verified {
            return self.ask_step_up(s.user_id, true).await;
        }
        let was_on = crate::db::mfa::is_enabled(&mut tx, s.user_id).await?;
        match db::insert(
            &mut tx,
            s.user_id,
            &credential_id(&passkey),
            &name,
            &credential,
            now,
        )
        .await
        {
            Ok(_) => {}
            Err(e) if crate::db::is_unique_violation(&e) => {
                return Err(invalid("This passkey is registered already."))
            }
            Err(e) => return Err(e.into()),
        }
        let codes = if was_on {
            None
        } else {
            let (codes, hashes) = mfa::new_recovery_codes(self.rng.as_ref());
            crate::db::mfa::replace_recovery_codes(&mut tx, s.user_id, &hashes).await?;
            self.event(&mut tx, req, s.user_id, EventKind::MfaEnabled)
                .await?;
            Some(RecoveryCodes(codes))
        };
        self.event(&mut tx, req, s.user_id, EventKind::PasskeyAdded)
            .await?;
        let notice = Notice::PasskeyAdded { name };
        self.announce(&mut tx, s.user_id, Some(req), notice).await?;
        // A change of sign-in drops a waiting email change (perhaps someone else's).
        crate::db::email_changes::cancel(&mut tx, s.user_id).await?;
        // The session does not gain the passkey factor: making a passkey is not signing
        // in with one (a session that passed only a code, perhaps a phished one, could
        // otherwise make itself phishing-resistant). The person uses it next.
        tx.commit().await?;
        tracing::info!(request_id = %req.request_id, user_id = s.user_id, "passkey added");
        Ok(codes)
    }

    async fn rename_passkey(&self, user: &UserCtx, id: i64, name: &str) -> Outcome<()> {
        let name =
            app::validation::validate_name("passkey name", name).map_err(AppError::Invalid)?;
        if !db::rename(&mut *self.db.acquire().await?, user.user_id(), id, &name).await? {
            return Err(invalid("That passkey is not one of yours (any more)."));
        }
        Ok(())
    }

    /// Removes a passkey after a recent "Confirm it's you". The person's last factor
    /// goes only when no account requires MFA of them, and MFA is then off (the
    /// recovery codes go with it).
    async fn remove_passkey(&self, user: &UserCtx, id: i64, sign_out_others: bool) -> Outcome<()> {
        let (req, s) = (&user.req, user.session);
        self.require_passkey_step_up(s).await?;
        let mut tx = self.db.begin().await?;
        db::lock_owner(&mut tx, self.db.backend(), s.user_id).await?;
        let Some(key) = db::list(&mut tx, s.user_id)
            .await?
            .into_iter()
            .find(|k| k.id == id)
        else {
            return Err(invalid("That passkey is not one of yours (any more)."));
        };
        let last = db::count(&mut tx, s.user_id).await? == 1
            && !crate::db::mfa::has_totp(&mut tx, s.user_id).await?;
        if db::count(&mut tx, s.user_id).await? == 1 {
            let required = crate::db::policy::passkeys_required_by(&mut tx, s.user_id).await?;
            if !required.is_empty() {
                return Err(invalid(&format!(
                    "You cannot remove your only passkey: {} require{} passkeys. Add another passkey first.",
                    required.join(", "),
                    if required.len() == 1 { "s" } else { "" }
                )));
            }
        }
        if last {
            let required = crate::db::policy::required_by(&mut tx, s.user_id).await?;
            if !required.is_empty() {
                return Err(invalid(&format!(
                    "You cannot remove your only passkey: {} require{} multi-factor authentication. Set up an authenticator app or add another passkey first.",
                    required.join(", "),
                    if required.len() == 1 { "s" } else { "" }
                )));
            }
        }
        db::delete(&mut tx, s.user_id, id).await?;
        self.event(&mut tx, req, s.user_id, EventKind::PasskeyRemoved)
            .await?;
        let notice = Notice::PasskeyRemoved { name: key.name };
        self.announce(&mut tx, s.user_id, Some(req), notice).await?;
        if last {
            crate::db::mfa::disable(&mut tx, s.user_id).await?;
            self.event(&mut tx, req, s.user_id, EventKind::MfaDisabled)
                .await?;
            self.announce(&mut tx, s.user_id, Some(req), Notice::MfaDisabled)
                .await?;
        }
        crate::db::email_changes::cancel(&mut tx, s.user_id).await?;
        // Sessions signed in with the passkey (perhaps on a lost device) end with it.
        self.end_others_if(&mut tx, s, sign_out_others).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn start_passkey_step_up(&self, user: &UserCtx) -> Outcome<PasskeyChallenge> {
        self.begin_assertion(user.user_id(), &step_up_binding(user))
            .await
    }

    /// "Confirm it's you" with the password (under its throttle) and a passkey: the
    /// session gains both and a few minutes of elevation, under a new token.
    async fn step_up_with_passkey(
        &self,
        user: &UserCtx,
        password: &Secret,
        ceremony: &str,
        answer: &str,
    ) -> Outcome<String> {
        let (req, s) = (&user.req, user.session);
        self.check_current_password(req, s.user_id, password)
            .await?;
        self.complete_assertion(req, s.user_id, &step_up_binding(user), ceremony, answer)
            .await?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let token = crate::db::sessions::gain_factors(
            &mut tx,
            self.rng.as_ref(),
            s.session_id,
            Factors {
                passkey: true,
                ..Factors::PASSWORD
            },
            Some(now + mfa::ELEVATION_MS),
            now,
        )
        .await?
        .ok_or(AppError::Unauthenticated)?;
        self.event(&mut tx, req, s.user_id, EventKind::StepUp)
            .await?;
        tx.commit().await?;
        Ok(crate::web::cookies::cookie(&self.config, &token))
    }

    async fn start_passkey_second_factor(&self, req: &RequestInfo) -> Outcome<PasskeyChallenge> {
        let (pending_id, user_id) = self.pending_sign_in(req).await?;
        self.begin_assertion(user_id, &pending_binding(pending_id))
            .await
    }

    /// The second step of sign-in with a passkey: the pending sign-in ends and the
    /// session starts (password and passkey).
    async fn verify_sign_in_passkey(
        &self,
        req: &RequestInfo,
        ceremony: &str,
        answer: &str,
    ) -> Outcome<Vec<String>> {
        let result: Outcome<Vec<String>> = async {
            let (pending_id, user_id) = self.pending_sign_in(req).await?;
            self.complete_assertion(req, user_id, &pending_binding(pending_id), ceremony, answer)
                .await?;
            let mut tx = self.db.begin().await?;
            // Used once: of two second steps racing on one pending sign-in, one starts a
            // session.
            if !crate::db::mfa::end_pending(&mut tx, pending_id).await? {
                return Err(invalid(EXPIRED_SIGN_IN));
            }
            let factors = Factors {
                passkey: true,
                ..Factors::PASSWORD
            };
            let mut cookies = self
                .start_session(&mut tx, req, user_id, factors, None, Some("passkey"))
                .await?;
            tx.commit().await?;
            cookies.push(crate::web::cookies::clear_pending_cookie(&self.config));
            Ok(cookies)
        }
        .await;
        self.metrics
            .sign_in("passkey", crate::metrics::outcome(&result));
        result
    }

    /// "Sign in with a passkey": a challenge for any discoverable passkey of this portal.
    /// Nobody is named yet, so the ceremony is bound to no one, only to the client
    /// address; its id is random and single use, and the answer names the person
    /// through their passkey's user handle.
    async fn start_passkey_sign_in(&self, req: &RequestInfo) -> Outcome<PasskeyChallenge> {
        let webauthn = self.webauthn()?;
        // Bounded per client address: each start stores a ceremony, and only a sign-in
        // gives its count back.
        if let Some(ip) = &req.ip {
            let mut conn = self.db.acquire().await?;
            if let throttle::Reserve::Locked(ms) =
                throttle::reserve(&mut conn, throttle::Scope::PasskeyIp, ip, self.now()).await?
            {
                tracing::info!(request_id = %req.request_id, "passkey sign-in throttled");
                return Err(AppError::Throttled {
                    retry_after_secs: throttle::wait_secs(ms),
                }
                .into());
            }
        }
        let (options, state): (RequestChallengeResponse, DiscoverableAuthentication) = webauthn
            .start_discoverable_authentication()
            .map_err(|e| Fail::internal(format!("passkey sign-in: {e}")))?;
        self.start(Kind::SignIn, address_binding(req), None, &state, &options)
            .await
    }

    /// "Sign in with a passkey", second half: the passkey's user handle names the
    /// person; the passkey (with user verification) is the whole sign-in.
    async fn sign_in_with_passkey(
        &self,
        req: &RequestInfo,
        ceremony: &str,
        answer: &str,
    ) -> Outcome<Vec<String>> {
        let result: Outcome<Vec<String>> = async {
            let webauthn = self.webauthn()?;
            let c = self
                .take(Kind::SignIn, ceremony, address_binding(req).as_deref())
                .await?;
            let state: DiscoverableAuthentication = serde_json::from_str(&c.state)
                .map_err(|e| Fail::internal(format!("stored sign-in state: {e}")))?;
            let answer: PublicKeyCredential =
                serde_json::from_str(answer).map_err(|_| invalid(UNREADABLE))?;
            let unknown = || {
                invalid("This passkey is not registered here. Sign in with your email and password.")
            };
            let (handle, cred_id) = webauthn
                .identify_discoverable_authentication(&answer)
                .map_err(|_| unknown())?;
            let user_id = db::user_by_handle(&mut *self.db.acquire().await?, &handle.to_string())
                .await?
                .ok_or_else(unknown)?;
            let key = self
                .passkeys_of(user_id)
                .await?
                .into_iter()
                .map(|(_, p)| p)
                .find(|p| p.cred_id().as_slice() == cred_id)
                .ok_or_else(unknown)?;
            let result = webauthn.finish_discoverable_authentication_v2(&answer, state, &key);
            self.verified(req, user_id, &answer, result).await?;
            // A person who signs in only through their organisation's directory signs in
            // there (as with a password).
            if self.person(user_id).await?.sso_only {
                return Err(invalid(
                    "Your organisation signs you in through its own directory. Sign in with your work email.",
                ));
            }
            // A sign-in of this browser waiting for its second step ends with this one.
            let pending = match self.pending_sign_in(req).await {
                Ok((pending_id, _)) => Some(pending_id),
                Err(Fail::Refused(_)) => None,
                Err(e) => return Err(e),
            };
            let now = self.now();
            let mut tx = self.db.begin().await?;
            // The address that started it (the ceremony is bound to it) gets its count back.
            if let Some(ip) = &req.ip {
                throttle::forgive_one(&mut tx, throttle::Scope::PasskeyIp, ip).await?;
            }
            // A fresh token at every sign-in: an older session in this browser ends.
            if let Some(old) = req.session {
                crate::db::sessions::end(&mut tx, old.session_id, EndReason::SignedOut, now).await?;
            }
            if let Some(pending_id) = pending {
                crate::db::mfa::end_pending(&mut tx, pending_id).await?;
            }
            let mut cookies = self
                .start_session(
                    &mut tx,
                    req,
                    user_id,
                    Factors::PASSKEY,
                    None,
                    Some("passkey"),
                )
                .await?;
            tx.commit().await?;
            if req.pending.is_some() {
                cookies.push(crate::web::cookies::clear_pending_cookie(&self.config));
            }
            Ok(cookies)
        }
        .await;
        self.metrics
            .sign_in("passkey", crate::metrics::outcome(&result));
        result
    }
}

/// What a registration is bound to: the session (by id; its token never leaves the
/// cookie layer).
fn session_binding(user: &UserCtx) -> String {
    format!("session:{}", user.session.session_id)
}

/// What a "Confirm it's you" ceremony is bound to.
fn step_up_binding(user: &UserCtx) -> String {
    format!("step_up:{}", user.session.session_id)
}

/// What a "Sign in with a passkey" ceremony is bound to: the client address that
/// started it, when known (it is finished from there, and that address's throttle count
/// is given back).
fn address_binding(req: &RequestInfo) -> Option<String> {
    req.ip.as_ref().map(|ip| format!("address:{ip}"))
}

/// What a second step of sign-in is bound to: the pending sign-in (by id).
pub fn pending_binding(pending_id: i64) -> String {
    format!("pending:{pending_id}")
}

fn to_json<T: serde::Serialize>(value: &T) -> Outcome<String> {
    serde_json::to_string(value).map_err(|e| Fail::internal(e.to_string()))
}

/// A credential id as stored (base64url, no padding).
fn credential_id(passkey: &Passkey) -> String {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    let id: &[u8] = passkey.cred_id().as_ref();
    URL_SAFE_NO_PAD.encode(id)
}
