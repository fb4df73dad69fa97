//! Account administration from the browser. Every operation goes through an
//! [`AccountAdmin`] handle, which exists only for a validated administrator of that one
//! account, so no administrative query can run for an unchecked person or account.

use crate::{
    db::sso::{self, SsoError},
    display::TimeDisplay,
    oidc, policy,
    state::AppState,
};
use app::{
    api::{AccountAdministration, SsoForm},
    models::{
        members_listed, page_count, AccountMfaSettings, AccountSsoSettings, MemberCompliance,
        MfaPolicy, PolicyChangeInfo, SsoChangeInfo, SsoDomainInfo, SsoTestReport, MEMBERS_PER_PAGE,
    },
    models::{AccountId, GraceDays},
    ssr::{Outcome, UserCtx},
    validation::{parse_domains, policy_lockout},
    AppError,
};

/// How many changes the MFA policy and single sign-on pages list (the whole history is
/// the audit log).
const HISTORY_ROWS: i64 = 50;

/// Single sign-on settings that passed validation.
pub struct ValidSso {
    pub enabled: bool,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub domains: Vec<String>,
}

impl std::fmt::Debug for ValidSso {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidSso")
            .field("enabled", &self.enabled)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("domains", &self.domains)
            .finish()
    }
}

/// Checks the form; the same rules apply to the CLI. `allow_private` is
/// `--sso-allow-private-issuers`.
pub fn validate_sso(form: &SsoForm, allow_private: bool) -> Result<ValidSso, String> {
    let issuer = oidc::normalize_issuer(&form.issuer, allow_private).map_err(|e| match e {
        oidc::OidcError::NotPublic { .. } => {
            "The issuer URL must be an https:// address on the public internet (not loopback or a private network)."
                .to_string()
        }
        _ => "The issuer URL must be an absolute https:// address, such as https://login.example.com."
            .to_string(),
    })?;
    let client_id = form.client_id.trim();
    if client_id.is_empty() || client_id.len() > 255 {
        return Err("Enter the client ID the provider gave you (at most 255 characters).".into());
    }
    let secret = form.client_secret.expose().trim();
    if secret.len() > 1024 {
        return Err("The client secret is too long (at most 1024 characters).".into());
    }
    Ok(ValidSso {
        enabled: form.enabled,
        issuer,
        client_id: client_id.to_string(),
        client_secret: (!secret.is_empty()).then(|| secret.to_string()),
        domains: parse_domains(&form.domains)?,
    })
}

/// A validated administrator acting on one account.
pub struct AccountAdmin<'a> {
    pub(crate) state: &'a AppState,
    pub(crate) user: &'a UserCtx,
    pub(crate) account_id: i64,
    pub(crate) user_id: i64,
}

impl AppState {
    /// The handle for administering `account_id`, if the signed-in person administers
    /// it. Others are refused with [`AppError::Forbidden`]; an administrator whom the
    /// account's own MFA policy keeps out is told to set up MFA first.
    pub async fn account_admin<'a>(
        &'a self,
        user: &'a UserCtx,
        account: AccountId,
    ) -> Outcome<AccountAdmin<'a>> {
        let (req, s, account_id) = (&user.req, user.session, account.get());
        let admin =
            crate::db::policy::is_admin(&mut *self.db.acquire().await?, s.user_id, account_id)
                .await?;
        if !admin {
            tracing::info!(request_id = %req.request_id, user_id = s.user_id, account_id, "account administration refused");
            return Err(AppError::Forbidden.into());
        }
        let outcome =
            policy::access(&mut *self.db.acquire().await?, &s, account_id, self.now()).await?;
        match outcome {
            policy::Access::Allowed => {}
            policy::Access::StepUp => return self.ask_step_up(s.user_id, false).await,
            policy::Access::UsePasskey => return self.ask_step_up(s.user_id, true).await,
            policy::Access::SetUpMfa => {
                return Err(AppError::Invalid(
                    "This account requires multi-factor authentication. Set it up in your profile's Security section first.".into(),
                ).into())
            }
            policy::Access::AddPasskey => {
                return Err(AppError::Invalid(
                    "This account requires passkeys. Add one in your profile's Security section first.".into(),
                ).into())
            }
        }
        Ok(AccountAdmin {
            state: self,
            user,
            account_id,
            user_id: s.user_id,
        })
    }
}

#[async_trait::async_trait]
impl AccountAdministration for AppState {
    async fn account_mfa_settings(
        &self,
        user: &UserCtx,
        account: AccountId,
        page: i64,
        without_mfa: bool,
    ) -> Outcome<AccountMfaSettings> {
        self.account_admin(user, account)
            .await?
            .mfa_settings(page, without_mfa)
            .await
    }

    async fn set_account_mfa_policy(
        &self,
        user: &UserCtx,
        account: AccountId,
        policy: MfaPolicy,
        grace: GraceDays,
        require_passkeys: bool,
    ) -> Outcome<()> {
        let admin = self.account_admin(user, account).await?;
        admin.require_step_up().await?;
        admin.set_mfa_policy(policy, grace, require_passkeys).await
    }

    async fn account_sso_settings(
        &self,
        user: &UserCtx,
        account: AccountId,
    ) -> Outcome<AccountSsoSettings> {
        self.account_admin(user, account)
            .await?
            .sso_settings()
            .await
    }

    async fn save_account_sso(
        &self,
        user: &UserCtx,
        account: AccountId,
        form: SsoForm,
    ) -> Outcome<()> {
        // Validated first: bad input changes nothing and needs no database.
        let valid = validate_sso(&form, self.config.sso_allow_private_issuers)
            .map_err(AppError::Invalid)?;
        let admin = self.account_admin(user, account).await?;
        admin.require_step_up().await?;
        admin.save_sso(valid).await
    }

    async fn verify_sso_domain(
        &self,
        user: &UserCtx,
        account: AccountId,
        domain: &str,
    ) -> Outcome<()> {
        self.account_admin(user, account)
            .await?
            .verify_domain(domain)
            .await
    }

    async fn test_account_sso(&self, user: &UserCtx, account: AccountId) -> Outcome<SsoTestReport> {
        self.account_admin(user, account).await?.test_sso().await
    }
}

impl AccountAdmin<'_> {
    /// Sensitive settings (single sign-on, the MFA policy) change only within a few
    /// minutes of a "Confirm it's you" in this session.
    pub async fn require_step_up(&self) -> Outcome<()> {
        self.state.require_recent_step_up(self.user.session).await
    }

    /// The single sign-on settings, without the secret.
    pub async fn sso_settings(&self) -> Outcome<AccountSsoSettings> {
        let db = &self.state.db;
        let display = self.display().await?;
        let account = crate::db::policy::load(&mut *db.acquire().await?, self.account_id)
            .await?
            .ok_or(AppError::Forbidden)?;
        let config = sso::load(&mut *db.acquire().await?, self.account_id).await?;
        let history = crate::db::audit::history(
            &mut *db.acquire().await?,
            self.account_id,
            &[
                crate::db::audit::Action::SsoChanged,
                crate::db::audit::Action::DomainProven,
            ],
            HISTORY_ROWS,
        )
        .await?;
        Ok(AccountSsoSettings {
            account_id: AccountId(self.account_id),
            account_name: account.account_name,
            configured: config.is_some(),
            enabled: config.as_ref().is_some_and(|c| c.enabled),
            issuer: config
                .as_ref()
                .map(|c| c.issuer.clone())
                .unwrap_or_default(),
            client_id: config
                .as_ref()
                .map(|c| c.client_id.clone())
                .unwrap_or_default(),
            has_client_secret: config.is_some(),
            domains: config
                .map(|c| c.domains)
                .unwrap_or_default()
                .into_iter()
                .map(|d| SsoDomainInfo {
                    record_name: sso::proof_name(&d.domain),
                    record_value: d.token,
                    domain: d.domain,
                    verified: d.verified,
                })
                .collect(),
            redirect_uri: self.state.sso_redirect_uri(),
            history: history
                .into_iter()
                .map(|c| SsoChangeInfo {
                    summary: if c.action == crate::db::audit::Action::DomainProven.as_str() {
                        format!("Domain {} verified", c.detail)
                    } else {
                        c.detail
                    },
                    by: c.actor,
                    at: display.format(c.at),
                })
                .collect(),
        })
    }

    /// Saves validated single sign-on settings and records the change.
    pub async fn save_sso(&self, form: ValidSso) -> Outcome<()> {
        let actor = self.actor().await?;
        let mut tx = self.state.db.begin().await?;
        let result = sso::save(
            &mut tx,
            &self.state.secret_key,
            self.state.rng.as_ref(),
            self.account_id,
            sso::SsoUpdate {
                enabled: form.enabled,
                issuer: &form.issuer,
                client_id: &form.client_id,
                client_secret: form.client_secret.as_deref(),
                domains: &form.domains,
                trusted_domains: false,
            },
            &actor,
            self.state.now(),
        )
        .await;
        match result {
            Ok(()) => {
                tx.commit().await?;
                self.state.oidc_cache.forget(&form.issuer);
                tracing::info!(request_id = %self.user.req.request_id, user_id = self.user_id, account_id = self.account_id, enabled = form.enabled, "single sign-on settings saved");
                Ok(())
            }
            Err(e @ SsoError::DomainTaken(_)) => Err(AppError::Invalid(format!(
                "The email domain {} already belongs to another account's single sign-on.",
                match &e {
                    SsoError::DomainTaken(d) => d.as_str(),
                    _ => "",
                }
            )).into()),
            Err(SsoError::SecretMissing) => Err(AppError::Invalid(
                "Enter the client secret the provider gave you.".into(),
            ).into()),
            Err(SsoError::SecretRebind) => Err(AppError::Invalid(
                "You changed the issuer or the client ID: enter the client secret for it again. The stored secret is only ever sent to the provider it was issued for.".into(),
            ).into()),
            Err(e) => Err(e.into()),
        }
    }

    /// "Verify": looks up the TXT record that proves `domain` and, when it holds this
    /// account's token, makes the domain route sign-ins to the account's directory. A
    /// domain another account proved first stays with that account. Routing sign-ins is
    /// a change of the single sign-on settings: it needs a recent step-up too.
    pub async fn verify_domain(&self, domain: &str) -> Outcome<()> {
        self.require_step_up().await?;
        let domain = domain.trim().to_ascii_lowercase();
        let config = sso::load(&mut *self.state.db.acquire().await?, self.account_id)
            .await?
            .ok_or_else(|| AppError::Invalid("Save the settings first.".into()))?;
        let claim = config
            .domains
            .iter()
            .find(|d| d.domain == domain)
            .ok_or_else(|| {
                AppError::Invalid(format!(
                    "{domain} is not one of this account's email domains."
                ))
            })?;
        if claim.verified {
            return Ok(());
        }
        let name = sso::proof_name(&domain);
        let found = match self.state.dns.txt(&name).await {
            Ok(values) => values.iter().any(|v| v.trim() == claim.token),
            Err(crate::dns::DnsError::NotFound(_)) => false,
            Err(e) => {
                tracing::warn!(request_id = %self.user.req.request_id, account_id = self.account_id, error = %e, "domain proof lookup failed");
                return Err(AppError::Invalid(format!(
                    "The DNS lookup for {name} failed. Try again in a few minutes."
                ))
                .into());
            }
        };
        if !found {
            return Err(AppError::Invalid(format!(
                "No TXT record at {name} holds the value shown. Add it at your DNS provider; changes can take a while to appear, so try again later."
            )).into());
        }
        let now = self.state.now();
        let actor = self.actor().await?;
        let mut tx = self.state.db.begin().await?;
        let outcome = sso::mark_verified(&mut tx, self.account_id, &domain, &actor, now).await;
        match outcome {
            Ok(true) => {
                tx.commit().await?;
            }
            // Proven meanwhile (another tab): nothing more to do.
            Ok(false) => {}
            Err(SsoError::DomainTaken(_)) => {
                return Err(AppError::Invalid(format!(
                    "{domain} is already proven by another account and stays with it."
                ))
                .into())
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(request_id = %self.user.req.request_id, user_id = self.user_id, account_id = self.account_id, %domain, "single sign-on domain proven");
        Ok(())
    }

    /// "Test connection": discovery and keys, reported step by step.
    pub async fn test_sso(&self) -> Outcome<SsoTestReport> {
        let config = sso::load(&mut *self.state.db.acquire().await?, self.account_id)
            .await?
            .ok_or_else(|| AppError::Invalid("Save the settings first, then test them.".into()))?;
        let http = &self.state.http;
        let mut lines = vec![format!("Issuer: {}", config.issuer)];
        let allow_private = self.state.config.sso_allow_private_issuers;
        let timing = self.state.oidc_cache.timing();
        let discovery = oidc::discover(http, &config.issuer, allow_private);
        let d = match oidc::timed(timing, "discovery", discovery).await {
            Ok(d) => d,
            Err(e) => {
                lines.push(format!("Discovery failed: {e}."));
                return Ok(SsoTestReport { ok: false, lines });
            }
        };
        lines.push(format!(
            "Discovery document found: authorization at {}, tokens at {}.",
            d.authorization_endpoint, d.token_endpoint
        ));
        match oidc::timed(timing, "keys", oidc::fetch_keys(http, &d)).await {
            Ok(keys) => {
                let n = keys.rs256_keys().count();
                lines.push(format!(
                    "Signing keys found at {}: {n} RS256 key{}.",
                    d.jwks_uri,
                    if n == 1 { "" } else { "s" }
                ));
                Ok(SsoTestReport { ok: true, lines })
            }
            Err(e) => {
                lines.push(format!("Keys failed: {e}."));
                Ok(SsoTestReport { ok: false, lines })
            }
        }
    }

    pub(crate) async fn display(&self) -> Outcome<TimeDisplay> {
        let (prefs, _) = self.state.display_for(self.user_id).await?;
        Ok(TimeDisplay::new(&prefs))
    }

    /// The policy, its history and every member's compliance.
    pub async fn mfa_settings(&self, page: i64, without_mfa: bool) -> Outcome<AccountMfaSettings> {
        let db = &self.state.db;
        let now = self.state.now();
        let display = self.display().await?;
        let terms = crate::db::policy::load(&mut *db.acquire().await?, self.account_id)
            .await?
            .ok_or(AppError::Forbidden)?;
        let (member_count, members_with_mfa) =
            crate::db::policy::member_counts(&mut *db.acquire().await?, self.account_id).await?;
        let listed = members_listed(member_count, members_with_mfa, without_mfa);
        let page_count = page_count(listed, MEMBERS_PER_PAGE);
        let page = page.clamp(1, page_count);
        let filter = crate::db::policy::MemberFilter {
            without_mfa,
            limit: MEMBERS_PER_PAGE,
            offset: (page - 1) * MEMBERS_PER_PAGE,
        };
        let members = crate::db::policy::members(
            &mut *db.acquire().await?,
            self.account_id,
            terms.terms(),
            filter,
        )
        .await?;
        let me = crate::db::policy::member(
            &mut *db.acquire().await?,
            self.account_id,
            terms.terms(),
            self.user_id,
        )
        .await?;
        let history = crate::db::audit::history(
            &mut *db.acquire().await?,
            self.account_id,
            &[crate::db::audit::Action::PolicyChanged],
            HISTORY_ROWS,
        )
        .await?;
        let viewer_uses_mfa = me.as_ref().is_some_and(|m| m.uses_mfa);
        let viewer_has_passkey = me.as_ref().is_some_and(|m| m.has_passkey);
        let viewer_requirement = match me {
            Some(m) => crate::policy::requirement_shown(
                &terms.terms(),
                m.is_admin,
                m.joined_at,
                terms.terms().met_by(m.uses_mfa, m.has_passkey),
                now,
                &display,
            ),
            None => app::models::MfaRequirement::NotRequired,
        };
        Ok(AccountMfaSettings {
            account_id: AccountId(self.account_id),
            account_name: terms.account_name,
            policy: terms.policy,
            grace_days: terms.grace,
            require_passkeys: terms.require_passkeys != 0,
            history: history
                .into_iter()
                .map(|c| PolicyChangeInfo {
                    by: c.actor,
                    at: display.format(c.at),
                    summary: c.detail,
                })
                .collect(),
            members: members
                .into_iter()
                .map(|m| MemberCompliance {
                    user_id: app::models::UserId(m.user_id),
                    name: m.name,
                    email: m.email,
                    group: m.group,
                    is_admin: m.is_admin,
                    uses_mfa: m.uses_mfa,
                    method: match (m.has_passkey, m.has_totp) {
                        (true, true) => "Passkey and authenticator app",
                        (true, false) => "Passkey",
                        (false, true) => "Authenticator app",
                        (false, false) => "None",
                    }
                    .into(),
                    covered: m.covered,
                    blocked_from: m.blocked_from.map(|t| display.format(t)),
                    blocked_now: m.blocked_from.is_some_and(|t| now >= t),
                })
                .collect(),
            member_count,
            members_with_mfa,
            without_mfa,
            page,
            page_count,
            viewer_uses_mfa,
            viewer_has_passkey,
            viewer_requirement,
            sso_enabled: sso::enabled(&mut *db.acquire().await?, self.account_id).await?,
        })
    }

    /// Changes the policy, with the self-lockout guard, and records the change.
    pub async fn set_mfa_policy(
        &self,
        policy: MfaPolicy,
        grace: GraceDays,
        require_passkeys: bool,
    ) -> Outcome<()> {
        let grace_days = grace.days();
        let require_passkeys = require_passkeys && policy != MfaPolicy::Optional;
        let db = &self.state.db;
        let uses_mfa = crate::db::mfa::is_enabled(&mut *db.acquire().await?, self.user_id).await?;
        if let Some(message) = policy_lockout(policy, uses_mfa) {
            return Err(AppError::Invalid(message.into()).into());
        }
        let has_passkey =
            crate::db::passkeys::count(&mut *db.acquire().await?, self.user_id).await? > 0;
        if let Some(message) =
            app::validation::passkey_lockout(policy, require_passkeys, has_passkey)
        {
            return Err(AppError::Invalid(message.into()).into());
        }
        let current = crate::db::policy::load(&mut *db.acquire().await?, self.account_id)
            .await?
            .ok_or(AppError::Forbidden)?;
        let passkeys_change = (current.require_passkeys != 0) != require_passkeys;
        if current.policy == policy && current.grace == grace && !passkeys_change {
            return Ok(()); // nothing to change, nothing to record
        }
        let actor = self.actor().await?;
        // The policy, the passkey requirement and their audit rows: one transaction.
        let mut tx = db.begin().await?;
        let now = self.state.now();
        let outcome = async {
            if current.policy != policy || current.grace != grace {
                crate::db::policy::set(&mut tx, self.account_id, policy, grace, &actor, now)
                    .await?;
            }
            if passkeys_change {
                crate::db::policy::set_require_passkeys(
                    &mut tx,
                    self.account_id,
                    require_passkeys,
                    &actor,
                    now,
                )
                .await?;
            }
            Ok::<(), crate::db::policy::PolicyError>(())
        }
        .await;
        match outcome {
            Ok(()) => {
                tx.commit().await?;
                tracing::info!(
                    request_id = %self.user.req.request_id,
                    user_id = self.user_id,
                    account_id = self.account_id,
                    policy = policy.as_str(),
                    grace_days,
                    "account MFA policy changed"
                );
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}
