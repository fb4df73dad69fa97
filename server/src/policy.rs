//! Account MFA policy semantics, shared by the administrators' page, the CLI and the
//! enforcement in the request middleware.
//!
//! A member is *covered* when the account's policy covers their membership (everyone for
//! `all`, members of administrator groups for `admins`). A covered member without MFA is
//! *blocked* from the account once the grace period has passed, counted from the policy
//! change or from when they joined, whichever is later.

use crate::{db::Db, display::TimeDisplay};
use app::{
    models::{MfaPolicy, MfaRequirement, MAX_GRACE_DAYS},
    ssr::SessionRef,
};
use sqlx::Row;

const DAY_MS: i64 = 86_400_000;

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("there is no account with id {0}")]
    UnknownAccount(i64),
    #[error("the grace period must be between 0 and {MAX_GRACE_DAYS} days")]
    BadGrace,
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

/// An account's policy as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountPolicy {
    pub account_name: String,
    pub policy: MfaPolicy,
    pub grace_days: i64,
    pub changed_at: Option<i64>,
}

impl AccountPolicy {
    pub fn terms(&self) -> Terms {
        Terms {
            policy: self.policy,
            grace_days: self.grace_days,
            changed_at: self.changed_at,
        }
    }
}

pub async fn load(db: &Db, account_id: i64) -> Result<Option<AccountPolicy>, sqlx::Error> {
    sqlx::query(
        "SELECT name, mfa_policy, mfa_grace_days, mfa_policy_changed_at FROM accounts WHERE id = $1",
    )
    .bind(account_id)
    .fetch_optional(db.pool())
    .await?
    .map(|r| {
        let p: String = r.try_get("mfa_policy")?;
        Ok(AccountPolicy {
            account_name: r.try_get("name")?,
            // A value this build does not know is an error (enforcement fails closed),
            // never "optional".
            policy: MfaPolicy::parse(&p).ok_or_else(|| {
                sqlx::Error::Decode(format!("unknown MFA policy {p:?} on account {account_id}").into())
            })?,
            grace_days: r.try_get("mfa_grace_days")?,
            changed_at: r.try_get("mfa_policy_changed_at")?,
        })
    })
    .transpose()
}

/// An account's policy terms, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terms {
    pub policy: MfaPolicy,
    pub grace_days: i64,
    pub changed_at: Option<i64>,
}

impl Terms {
    /// The member's deadline when the policy covers them.
    pub fn deadline_for(&self, is_admin: bool, joined_at: i64) -> Option<i64> {
        self.policy
            .covers(is_admin)
            .then(|| deadline(self.changed_at, joined_at, self.grace_days))
    }

    /// What the policy asks of one member, for showing to them.
    pub fn requirement(
        &self,
        is_admin: bool,
        joined_at: i64,
        uses_mfa: bool,
        now: i64,
        display: &TimeDisplay,
    ) -> MfaRequirement {
        match self.deadline_for(is_admin, joined_at) {
            None => MfaRequirement::NotRequired,
            Some(_) if uses_mfa => MfaRequirement::Met,
            Some(d) if now >= d => MfaRequirement::Blocked,
            Some(d) => MfaRequirement::Due {
                deadline: display.format(d),
            },
        }
    }
}

/// When a covered member must have MFA: the later of the policy change and joining, plus
/// the grace period.
pub fn deadline(changed_at: Option<i64>, joined_at: i64, grace_days: i64) -> i64 {
    changed_at.unwrap_or(0).max(joined_at) + grace_days * DAY_MS
}

/// Changes the policy and records who changed it from what to what, in one transaction.
pub async fn set(
    db: &Db,
    account_id: i64,
    policy: MfaPolicy,
    grace_days: i64,
    changed_by: Option<i64>,
    changed_by_label: &str,
    now: i64,
) -> Result<(), PolicyError> {
    if !(0..=MAX_GRACE_DAYS).contains(&grace_days) {
        return Err(PolicyError::BadGrace);
    }
    let grace_days = if policy == MfaPolicy::Optional {
        0
    } else {
        grace_days
    };
    let mut tx = db.pool().begin().await?;
    let from: String = sqlx::query("SELECT mfa_policy FROM accounts WHERE id = $1")
        .bind(account_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(PolicyError::UnknownAccount(account_id))?
        .try_get("mfa_policy")?;
    sqlx::query(
        "UPDATE accounts SET mfa_policy = $1, mfa_grace_days = $2, mfa_policy_changed_at = $3 WHERE id = $4",
    )
    .bind(policy.as_str())
    .bind(grace_days)
    .bind(now)
    .bind(account_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO mfa_policy_changes (account_id, changed_by, changed_by_label, at, from_policy, to_policy, grace_days) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(account_id)
    .bind(changed_by)
    .bind(changed_by_label)
    .bind(now)
    .bind(from)
    .bind(policy.as_str())
    .bind(grace_days)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// One member as the compliance view needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberState {
    pub user_id: i64,
    pub name: String,
    pub email: String,
    pub group: String,
    pub is_admin: bool,
    pub joined_at: i64,
    pub uses_mfa: bool,
    pub covered: bool,
    /// For a covered member without MFA: from when they are blocked.
    pub blocked_from: Option<i64>,
}

/// Which members a compliance page lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberFilter {
    /// Only members who do not use MFA.
    pub without_mfa: bool,
    pub limit: i64,
    pub offset: i64,
}

/// How many members an account has, and how many of them use MFA.
pub async fn member_counts(db: &Db, account_id: i64) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS total, COUNT(f.enabled_at) AS with_mfa FROM memberships m \
         LEFT JOIN user_mfa f ON f.user_id = m.user_id WHERE m.account_id = $1",
    )
    .bind(account_id)
    .fetch_one(db.pool())
    .await?;
    Ok((row.try_get("total")?, row.try_get("with_mfa")?))
}

const MEMBER_SELECT: &str = "SELECT u.id AS user_id, u.name AS name, u.email AS email, \
        g.name AS group_name, g.is_admin AS is_admin, m.created_at AS joined_at, \
        CASE WHEN f.enabled_at IS NULL THEN 0 ELSE 1 END AS uses_mfa \
     FROM memberships m \
     JOIN users u ON u.id = m.user_id \
     JOIN account_groups g ON g.id = m.group_id \
     LEFT JOIN user_mfa f ON f.user_id = u.id \
     WHERE m.account_id = $1";

/// One page of an account's members with their MFA state under its policy `p`, by name.
pub async fn members(
    db: &Db,
    account_id: i64,
    p: Terms,
    filter: MemberFilter,
) -> Result<Vec<MemberState>, sqlx::Error> {
    let sql = format!(
        "{MEMBER_SELECT}{} ORDER BY u.name, u.id LIMIT $2 OFFSET $3",
        if filter.without_mfa {
            " AND f.enabled_at IS NULL"
        } else {
            ""
        }
    );
    let rows = sqlx::query(&sql)
        .bind(account_id)
        .bind(filter.limit)
        .bind(filter.offset)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(|r| member_state(p, r)).collect()
}

/// One member's MFA state in an account under its policy `p`, if they are a member.
pub async fn member(
    db: &Db,
    account_id: i64,
    p: Terms,
    user_id: i64,
) -> Result<Option<MemberState>, sqlx::Error> {
    let sql = format!("{MEMBER_SELECT} AND m.user_id = $2");
    let row = sqlx::query(&sql)
        .bind(account_id)
        .bind(user_id)
        .fetch_optional(db.pool())
        .await?;
    row.map(|r| member_state(p, &r)).transpose()
}

fn member_state(p: Terms, r: &sqlx::any::AnyRow) -> Result<MemberState, sqlx::Error> {
    let is_admin = r.try_get::<i64, _>("is_admin")? != 0;
    let uses_mfa = r.try_get::<i64, _>("uses_mfa")? != 0;
    let covered = p.policy.covers(is_admin);
    let joined: i64 = r.try_get("joined_at")?;
    Ok(MemberState {
        user_id: r.try_get("user_id")?,
        name: r.try_get("name")?,
        email: r.try_get("email")?,
        group: r.try_get("group_name")?,
        is_admin,
        joined_at: joined,
        uses_mfa,
        covered,
        blocked_from: (covered && !uses_mfa).then(|| deadline(p.changed_at, joined, p.grace_days)),
    })
}

/// The account's requirement for one person: `None` when not covered, else the deadline.
pub async fn requirement(
    db: &Db,
    user_id: i64,
    account_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let Some(p) = load(db, account_id).await? else {
        return Ok(None);
    };
    let row = sqlx::query(
        "SELECT g.is_admin AS is_admin, m.created_at AS joined_at FROM memberships m \
         JOIN account_groups g ON g.id = m.group_id WHERE m.user_id = $1 AND m.account_id = $2",
    )
    .bind(user_id)
    .bind(account_id)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let is_admin = row.try_get::<i64, _>("is_admin")? != 0;
    if !p.policy.covers(is_admin) {
        return Ok(None);
    }
    Ok(Some(deadline(
        p.changed_at,
        row.try_get("joined_at")?,
        p.grace_days,
    )))
}

/// Where a blocked person sets up MFA before continuing to `next` (a local path).
pub fn setup_path(account_id: i64, next: &str) -> String {
    let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    format!("/profile/security?mfa_required={account_id}&next={next}")
}

/// Where a session proves the person's own portal credentials before continuing to
/// `next` (a local path).
pub fn step_up_path(next: &str) -> String {
    let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    format!("/step-up?next={next}")
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
    db: &Db,
    session: &SessionRef,
    account_id: i64,
    now: i64,
) -> Result<Access, sqlx::Error> {
    let own_directory = session.sso_account_id == Some(account_id);
    if session.sso_account_id.is_some() && !own_directory && !session.password_verified {
        return Ok(Access::StepUp);
    }
    if own_directory || session.mfa_verified {
        return Ok(Access::Allowed);
    }
    let Some(deadline) = requirement(db, session.user_id, account_id).await? else {
        return Ok(Access::Allowed);
    };
    if crate::mfa::is_enabled(db, session.user_id).await? {
        Ok(Access::StepUp)
    } else if now >= deadline {
        Ok(Access::SetUpMfa)
    } else {
        Ok(Access::Allowed)
    }
}

/// Is the person an administrator of the account?
pub async fn is_admin(db: &Db, user_id: i64, account_id: i64) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "SELECT 1 AS one FROM memberships m JOIN account_groups g ON g.id = m.group_id \
         WHERE m.user_id = $1 AND m.account_id = $2 AND g.is_admin = 1",
    )
    .bind(user_id)
    .bind(account_id)
    .fetch_optional(db.pool())
    .await?
    .is_some())
}

/// A recorded policy change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub by: String,
    pub at: i64,
    pub from: MfaPolicy,
    pub to: MfaPolicy,
    pub grace_days: i64,
}

pub async fn history(db: &Db, account_id: i64) -> Result<Vec<Change>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT changed_by_label, at, from_policy, to_policy, grace_days FROM mfa_policy_changes \
         WHERE account_id = $1 ORDER BY at DESC, id DESC LIMIT 50",
    )
    .bind(account_id)
    .fetch_all(db.pool())
    .await?;
    rows.into_iter()
        .map(|r| {
            let from: String = r.try_get("from_policy")?;
            let to: String = r.try_get("to_policy")?;
            Ok(Change {
                by: r.try_get("changed_by_label")?,
                at: r.try_get("at")?,
                from: MfaPolicy::parse(&from).unwrap_or(MfaPolicy::Optional),
                to: MfaPolicy::parse(&to).unwrap_or(MfaPolicy::Optional),
                grace_days: r.try_get("grace_days")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_and_deadlines() {
        assert!(!MfaPolicy::Optional.covers(true));
        assert!(MfaPolicy::Admins.covers(true) && !MfaPolicy::Admins.covers(false));
        assert!(MfaPolicy::All.covers(false));
        // Counted from the change, or from joining if later.
        assert_eq!(deadline(Some(1_000), 500, 0), 1_000);
        assert_eq!(deadline(Some(1_000), 5_000, 1), 5_000 + DAY_MS);
    }
}
