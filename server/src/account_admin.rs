//! Account administration from the browser. Every operation goes through an
//! [`AccountAdmin`] handle, which exists only for a validated administrator of that one
//! account, so no administrative query can run for an unchecked person or account.

use crate::{
    backend::internal,
    directory,
    display::TimeDisplay,
    policy::{self, PolicyError},
    state::AppState,
};
use app::{
    models::{AccountMfaSettings, MemberCompliance, MfaPolicy, PolicyChangeInfo},
    ssr::RequestInfo,
    validation::{parse_grace_days, policy_lockout},
    AppError,
};

/// A validated administrator acting on one account.
pub struct AccountAdmin<'a> {
    state: &'a AppState,
    req: &'a RequestInfo,
    account_id: i64,
    user_id: i64,
}

impl AppState {
    /// The handle for administering `account_id`, if the signed-in person administers
    /// it. Others are refused with [`AppError::Forbidden`]; an administrator whom the
    /// account's own MFA policy keeps out is told to set up MFA first.
    pub async fn account_admin<'a>(
        &'a self,
        req: &'a RequestInfo,
        account_id: i64,
    ) -> Result<AccountAdmin<'a>, AppError> {
        let s = req.session.ok_or(AppError::Unauthenticated)?;
        let admin = policy::is_admin(&self.db, s.user_id, account_id)
            .await
            .map_err(|e| internal(req, e))?;
        if !admin {
            tracing::info!(request_id = %req.request_id, user_id = s.user_id, account_id, "account administration refused");
            return Err(AppError::Forbidden);
        }
        let blocked = policy::blocks(&self.db, s.user_id, account_id, self.now())
            .await
            .map_err(|e| internal(req, e))?;
        if blocked {
            return Err(AppError::Invalid(
                "This account requires multi-factor authentication. Set it up in your profile's Security section first.".into(),
            ));
        }
        Ok(AccountAdmin {
            state: self,
            req,
            account_id,
            user_id: s.user_id,
        })
    }

    pub(crate) async fn account_mfa_settings_for(
        &self,
        req: &RequestInfo,
        account_id: i64,
    ) -> Result<AccountMfaSettings, AppError> {
        self.account_admin(req, account_id)
            .await?
            .mfa_settings()
            .await
    }

    pub(crate) async fn set_account_mfa_policy_for(
        &self,
        req: &RequestInfo,
        account_id: i64,
        policy: &str,
        grace_days: &str,
    ) -> Result<(), AppError> {
        // Validate first: bad input changes nothing and needs no database.
        let policy = MfaPolicy::parse(policy)
            .ok_or_else(|| AppError::Invalid("Choose one of the three policies.".into()))?;
        let grace_days = if policy == MfaPolicy::Optional {
            0
        } else {
            parse_grace_days(grace_days).map_err(AppError::Invalid)?
        };
        self.account_admin(req, account_id)
            .await?
            .set_mfa_policy(policy, grace_days)
            .await
    }
}

impl AccountAdmin<'_> {
    fn internal(&self, err: impl std::fmt::Display) -> AppError {
        internal(self.req, err)
    }

    async fn display(&self) -> Result<TimeDisplay, AppError> {
        let (prefs, _) = self.state.display_for(self.req, self.user_id).await?;
        Ok(TimeDisplay::new(&prefs))
    }

    /// The policy, its history and every member's compliance.
    pub async fn mfa_settings(&self) -> Result<AccountMfaSettings, AppError> {
        let db = &self.state.db;
        let now = self.state.now();
        let display = self.display().await?;
        let terms = policy::load(db, self.account_id)
            .await
            .map_err(|e| self.internal(e))?
            .ok_or(AppError::Forbidden)?;
        let members = policy::members(db, self.account_id)
            .await
            .map_err(|e| self.internal(e))?;
        let history = policy::history(db, self.account_id)
            .await
            .map_err(|e| self.internal(e))?;
        let me = members.iter().find(|m| m.user_id == self.user_id);
        let viewer_uses_mfa = me.is_some_and(|m| m.uses_mfa);
        let viewer_requirement = match me {
            Some(m) => {
                terms
                    .terms()
                    .requirement(m.is_admin, m.joined_at, m.uses_mfa, now, &display)
            }
            None => app::models::MfaRequirement::NotRequired,
        };
        Ok(AccountMfaSettings {
            account_id: self.account_id,
            account_name: terms.account_name,
            policy: terms.policy,
            grace_days: terms.grace_days,
            history: history
                .into_iter()
                .map(|c| PolicyChangeInfo {
                    by: c.by,
                    at: display.format(c.at),
                    from: c.from,
                    to: c.to,
                    grace_days: c.grace_days,
                })
                .collect(),
            members: members
                .into_iter()
                .map(|m| MemberCompliance {
                    user_id: m.user_id,
                    name: m.name,
                    email: m.email,
                    group: m.group,
                    is_admin: m.is_admin,
                    uses_mfa: m.uses_mfa,
                    covered: m.covered,
                    blocked_from: m.blocked_from.map(|t| display.format(t)),
                    blocked_now: m.blocked_from.is_some_and(|t| now >= t),
                })
                .collect(),
            viewer_uses_mfa,
            viewer_requirement,
        })
    }

    /// Changes the policy, with the self-lockout guard, and records the change.
    pub async fn set_mfa_policy(&self, policy: MfaPolicy, grace_days: i64) -> Result<(), AppError> {
        let db = &self.state.db;
        let uses_mfa = crate::mfa::is_enabled(db, self.user_id)
            .await
            .map_err(|e| self.internal(e))?;
        if let Some(message) = policy_lockout(policy, uses_mfa) {
            return Err(AppError::Invalid(message.into()));
        }
        let current = policy::load(db, self.account_id)
            .await
            .map_err(|e| self.internal(e))?
            .ok_or(AppError::Forbidden)?;
        if current.policy == policy && current.grace_days == grace_days {
            return Ok(()); // nothing to change, nothing to record
        }
        let (name, email) = directory::user_identity(db, self.user_id)
            .await
            .map_err(|e| self.internal(e))?
            .ok_or(AppError::Unauthenticated)?;
        let label = format!("{name} ({email})");
        match policy::set(
            db,
            self.account_id,
            policy,
            grace_days,
            Some(self.user_id),
            &label,
            self.state.now(),
        )
        .await
        {
            Ok(()) => {
                tracing::info!(
                    request_id = %self.req.request_id,
                    user_id = self.user_id,
                    account_id = self.account_id,
                    policy = policy.as_str(),
                    grace_days,
                    "account MFA policy changed"
                );
                Ok(())
            }
            Err(PolicyError::BadGrace) => Err(AppError::Invalid(PolicyError::BadGrace.to_string())),
            Err(e) => Err(self.internal(e)),
        }
    }
}
