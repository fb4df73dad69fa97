//! Account MFA policy semantics, shared by the administrators' page, the CLI and the
//! enforcement in the request middleware.
//!
//! A member is *covered* when the account's policy covers their membership (everyone for
//! `all`, members of administrator groups for `admins`). A covered member without MFA is
//! *blocked* from the account once the grace period has passed, counted from the policy
//! change or from when they joined, whichever is later.

use crate::display::TimeDisplay;
use app::{
    models::{MfaRequirement, PolicyTerms},
    ssr::SessionRef,
};

/// What the policy asks of one member, for showing to them (times in their formats).
pub fn requirement_shown(
    terms: &PolicyTerms,
    is_admin: bool,
    joined_at: i64,
    uses_mfa: bool,
    now: i64,
    display: &TimeDisplay,
) -> MfaRequirement {
    match terms.deadline_for(is_admin, joined_at) {
        None => MfaRequirement::NotRequired,
        Some(_) if uses_mfa => MfaRequirement::Met,
        Some(d) if now >= d => MfaRequirement::Blocked,
        Some(d) => MfaRequirement::Due {
            deadline: display.format(d),
        },
    }
}

/// What a session needs before it may act in an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Allowed,
    /// The person's own sign-in first ("Confirm it's you": password, then the code when
    /// MFA is on), inside this session.
    StepUp,
    /// The account requires MFA, its grace period is over, and the person has none.
    SetUpMfa,
    /// The account requires passkeys of this person, and this session passed none: they
    /// have one (confirm with it) or, once the grace period is over, must add one.
    UsePasskey,
    AddPasskey,
}

/// Whether this session may act in `account_id` now.
///
/// - A session that an account's directory started (single sign-on) speaks only for that
///   account: any other needs the person's own password first (and their code, when MFA
///   is on). A directory can therefore never reach a person's standing elsewhere.
/// - An account's MFA requirement is met by a session that passed a second factor, or by
///   the account's own directory for that account: not by the person merely having MFA.
///   A covered person with MFA whose session has not passed it steps up; a covered person
///   without MFA sets it up once the grace period is over.
pub async fn access(
    conn: &mut sqlx::AnyConnection,
    session: &SessionRef,
    account_id: i64,
    now: i64,
) -> Result<Access, sqlx::Error> {
    let own_directory = session.sso_account_id == Some(account_id);
    if session.sso_account_id.is_some() && !own_directory && !session.password_verified {
        return Ok(Access::StepUp);
    }
    if own_directory || session.passkey_verified {
        return Ok(Access::Allowed);
    }
    let Some((deadline, passkeys)) =
        crate::db::policy::requirement(conn, session.user_id, account_id).await?
    else {
        return Ok(Access::Allowed);
    };
    if passkeys {
        // A code is not enough here: only a passkey, or the grace period.
        if crate::db::passkeys::count(conn, session.user_id).await? > 0 {
            return Ok(Access::UsePasskey);
        }
        return Ok(if now >= deadline {
            Access::AddPasskey
        } else if session.mfa_verified || !crate::db::mfa::is_enabled(conn, session.user_id).await?
        {
            Access::Allowed
        } else {
            Access::StepUp
        });
    }
    if session.mfa_verified {
        return Ok(Access::Allowed);
    }
    if crate::db::mfa::is_enabled(conn, session.user_id).await? {
        Ok(Access::StepUp)
    } else if now >= deadline {
        Ok(Access::SetUpMfa)
    } else {
        Ok(Access::Allowed)
    }
}

#[cfg(test)]
mod tests {
    use app::models::{GraceDays, MfaPolicy, PolicyTerms};

    const DAY_MS: i64 = 86_400_000;

    #[test]
    fn coverage_and_deadlines() {
        assert!(!MfaPolicy::Optional.covers(true));
        assert!(MfaPolicy::Admins.covers(true) && !MfaPolicy::Admins.covers(false));
        assert!(MfaPolicy::All.covers(false));
        let terms = |grace, changed_at| PolicyTerms {
            policy: MfaPolicy::All,
            grace: GraceDays::new(grace).expect("in range"),
            changed_at,
            require_passkeys: false,
        };
        // Counted from the change, or from joining if later.
        assert_eq!(terms(0, Some(1_000)).deadline(500), 1_000);
        assert_eq!(terms(1, Some(1_000)).deadline(5_000), 5_000 + DAY_MS);
    }
}
