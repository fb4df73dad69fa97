//! Passkeys (WebAuthn), with webauthn-rs: the relying party (from the public URL), and
//! the registration and authentication ceremonies. A ceremony is started by one request
//! and finished by another, possibly on another replica: its state is in the database
//! (`db::passkeys` ceremonies), single use, a few minutes, bound to what started it (the
//! session for a registration, the pending sign-in for a second factor), and its id is
//! a random token of which only a hash is stored.
//!
//! This is the server's core; the Security section's list, the sign-in steps, the
//! policy level and their browser island are built on it (see docs/mfa.md).

use crate::{
    db::passkeys::{self as db, Ceremony, Kind},
    sessions::Token,
    state::AppState,
};
use app::{
    ssr::{Fail, Outcome, UserCtx},
    AppError,
};
use std::sync::Arc;
use webauthn_rs::prelude::{
    Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, RequestChallengeResponse, Url, Uuid, Webauthn, WebauthnBuilder,
    WebauthnError,
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

/// A ceremony for the browser: its id (sent back to finish it) and the options for
/// `navigator.credentials` (JSON).
pub struct Started {
    pub ceremony: Token,
    pub options: String,
}

impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Started").finish_non_exhaustive()
    }
}

const UNAVAILABLE: &str = "Passkeys need the portal to be served at a domain name (not an IP address): ask your operator.";
const NO_CEREMONY: &str = "This passkey request has expired or was already used. Start again.";
const UNREADABLE: &str = "The browser's answer could not be read. Start again.";

fn invalid(message: &str) -> Fail {
    AppError::Invalid(message.into()).into()
}

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
        bound_to: String,
        user_id: i64,
        state: &S,
        options: &O,
    ) -> Outcome<Started> {
        let ceremony = Ceremony {
            bound_to: Some(bound_to),
            user_id: Some(user_id),
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
        Ok(Started {
            ceremony: token,
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

    /// "Add a passkey", first half: needs a recent "Confirm it's you". The options ask
    /// the authenticator for a new credential of this person, excluding the ones they
    /// have.
    pub async fn start_passkey_registration(&self, user: &UserCtx) -> Outcome<Started> {
        let webauthn = self.webauthn()?;
        self.require_recent_step_up(user.session).await?;
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
        self.start(
            Kind::Register,
            session_binding(user),
            user_id,
            &state,
            &options,
        )
        .await
    }

    /// "Add a passkey", second half: the authenticator's answer to the options of a
    /// ceremony this session started, and the name the person gave it. Returns the new
    /// passkey's id.
    pub async fn finish_passkey_registration(
        &self,
        user: &UserCtx,
        ceremony: &str,
        answer: &str,
        name: &str,
    ) -> Outcome<i64> {
        let webauthn = self.webauthn()?;
        let name =
            app::validation::validate_name("passkey name", name).map_err(AppError::Invalid)?;
        let c = self
            .take(Kind::Register, ceremony, Some(&session_binding(user)))
            .await?;
        if c.user_id != Some(user.user_id()) {
            return Err(invalid(NO_CEREMONY));
        }
        let state: PasskeyRegistration = serde_json::from_str(&c.state)
            .map_err(|e| Fail::internal(format!("stored registration state: {e}")))?;
        let answer: RegisterPublicKeyCredential =
            serde_json::from_str(answer).map_err(|_| invalid(UNREADABLE))?;
        let passkey = webauthn
            .finish_passkey_registration(&answer, &state)
            .map_err(|e| {
                tracing::info!(request_id = %user.req.request_id, error = %e, "passkey registration refused");
                invalid("The authenticator's answer was not accepted. Start again.")
            })?;
        let credential = to_json(&passkey)?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let id = match db::insert(
            &mut tx,
            user.user_id(),
            &credential_id(&passkey),
            &name,
            &credential,
            now,
        )
        .await
        {
            Ok(id) => id,
            Err(e) if crate::db::is_unique_violation(&e) => {
                return Err(invalid("This passkey is registered already."))
            }
            Err(e) => return Err(e.into()),
        };
        tx.commit().await?;
        Ok(id)
    }

    /// A second factor with a passkey, first half: the options for the person's
    /// passkeys, bound to `bound_to` (the pending sign-in or session token's hash).
    pub async fn start_passkey_authentication(
        &self,
        user_id: i64,
        bound_to: &str,
    ) -> Outcome<Started> {
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
            bound_to.to_string(),
            user_id,
            &state,
            &options,
        )
        .await
    }

    /// A second factor with a passkey, second half: the person's passkey signed this
    /// ceremony's challenge with user verification. Its counter and flags are kept; a
    /// counter that went backwards (a cloned authenticator) is refused.
    pub async fn finish_passkey_authentication(
        &self,
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
        let result = match webauthn.finish_passkey_authentication(&answer, &state) {
            Ok(r) => r,
            Err(WebauthnError::CredentialPossibleCompromise) => {
                tracing::warn!(user_id, "passkey refused: its signature counter went backwards (a cloned authenticator?)");
                return Err(invalid(
                    "This passkey was refused: its signature counter went backwards, as a copied authenticator's would. Use another passkey or your authentication code, and remove this one.",
                ));
            }
            Err(e) => {
                tracing::info!(user_id, error = %e, "passkey authentication refused");
                return Err(invalid("The passkey was not accepted. Try again."));
            }
        };
        let now = self.now();
        for (id, checked, mut key) in self.stored_passkeys(user_id).await? {
            if key.cred_id() == result.cred_id() {
                key.update_credential(&result);
                // Written only over the credential this answer was checked against: of
                // two answers checked at once against the same counter (a copied key
                // racing the real one), one counts.
                if db::record_use(
                    &mut *self.db.acquire().await?,
                    id,
                    &checked,
                    &to_json(&key)?,
                    now,
                )
                .await?
                {
                    return Ok(());
                }
                return Err(invalid(
                    "This passkey was used at the same moment elsewhere. Try again.",
                ));
            }
        }
        // Signed by a key that is no longer the person's (removed meanwhile).
        Err(invalid("The passkey was not accepted. Try again."))
    }

    /// The person's passkeys with their stored ids.
    async fn passkeys_of(&self, user_id: i64) -> Outcome<Vec<(i64, Passkey)>> {
        Ok(self
            .stored_passkeys(user_id)
            .await?
            .into_iter()
            .map(|(id, _, p)| (id, p))
            .collect())
    }

    /// The person's passkeys with their stored ids and stored JSON.
    async fn stored_passkeys(&self, user_id: i64) -> Outcome<Vec<(i64, String, Passkey)>> {
        db::list(&mut *self.db.acquire().await?, user_id)
            .await?
            .into_iter()
            .map(|s| {
                serde_json::from_str::<Passkey>(&s.credential)
                    .map(|p| (s.id, s.credential, p))
                    .map_err(|e| Fail::internal(format!("stored passkey {}: {e}", s.id)))
            })
            .collect()
    }
}

/// What a registration is bound to: the session (by id; its token never leaves the
/// cookie layer).
fn session_binding(user: &UserCtx) -> String {
    format!("session:{}", user.session.session_id)
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
