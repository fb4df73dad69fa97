//! Accounts' MFA policies as stored (`accounts.mfa_*`), each change written to the
//! account's audit log (its history is a view of that log), and the members each
//! policy covers. Stored policies and grace
//! periods decode strictly: a value this build does not know is an error (enforcement
//! fails closed), never "optional".

use app::models::{GraceDays, MfaPolicy, PolicyTerms};
use sqlx::{AnyConnection, Row};

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("there is no account with id {0}")]
    UnknownAccount(i64),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

/// An account's policy as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AccountPolicy {
    #[sqlx(rename = "name")]
    pub account_name: String,
    #[sqlx(rename = "mfa_policy", try_from = "String")]
    pub policy: MfaPolicy,
    #[sqlx(rename = "mfa_grace_days", try_from = "i64")]
    pub grace: GraceDays,
    #[sqlx(rename = "mfa_policy_changed_at")]
    pub changed_at: Option<i64>,
    #[sqlx(rename = "mfa_require_passkeys")]
    pub require_passkeys: i64,
}

impl AccountPolicy {
    pub fn terms(&self) -> PolicyTerms {
        PolicyTerms {
            policy: self.policy,
            grace: self.grace,
            changed_at: self.changed_at,
            require_passkeys: self.require_passkeys != 0,
        }
    }
}

pub async fn load(
    conn: &mut AnyConnection,
    account_id: i64,
) -> Result<Option<AccountPolicy>, sqlx::Error> {
    sqlx::query_as(
        "SELECT name, mfa_policy, mfa_grace_days, mfa_policy_changed_at, mfa_require_passkeys \
         FROM accounts WHERE id = $1",
    )
    .bind(account_id)
    .fetch_optional(&mut *conn)
    .await
}

/// Changes the policy and records in the audit log who changed it from what to what,
/// in one transaction (the caller's, when it runs in one). The grace period goes with
/// the policy ([`GraceDays::for_policy`]).
pub async fn set(
    conn: &mut AnyConnection,
    account_id: i64,
    policy: MfaPolicy,
    grace: GraceDays,
    actor: &super::audit::Actor,
    now: i64,
) -> Result<(), PolicyError> {
    let grace_days = grace.for_policy(policy).days();
    let mut tx = super::transaction(conn).await?;
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
    let from = MfaPolicy::try_from(from).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    let detail = change_summary(from, policy, grace_days);
    super::audit::record_for_account(
        &mut tx,
        actor,
        account_id,
        super::audit::Action::PolicyChanged,
        &detail,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Turns the passkey requirement on or off, with its audit row (on the caller's
/// transaction when it runs in one).
pub async fn set_require_passkeys(
    conn: &mut AnyConnection,
    account_id: i64,
    require: bool,
    actor: &super::audit::Actor,
    now: i64,
) -> Result<(), PolicyError> {
    let mut tx = super::transaction(conn).await?;
    // The policy's change time stays: it starts the grace periods, and a new one here
    // would let people already blocked for having no MFA in again.
    let done = sqlx::query("UPDATE accounts SET mfa_require_passkeys = $1 WHERE id = $2")
        .bind(i64::from(require))
        .bind(account_id)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(PolicyError::UnknownAccount(account_id));
    }
    let detail = if require {
        "Passkeys (phishing-resistant) required of the people the policy covers"
    } else {
        "Passkeys no longer required (any second factor)"
    };
    super::audit::record_for_account(
        &mut tx,
        actor,
        account_id,
        super::audit::Action::PolicyChanged,
        detail,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Names of the accounts that require passkeys of this person (their policy covers the
/// person's membership and asks for passkeys).
pub async fn passkeys_required_by(
    conn: &mut AnyConnection,
    user_id: i64,
) -> Result<Vec<String>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        name: String,
        #[sqlx(try_from = "String")]
        mfa_policy: MfaPolicy,
        is_admin: i64,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT a.name AS name, a.mfa_policy AS mfa_policy, g.is_admin AS is_admin \
         FROM memberships m \
         JOIN accounts a ON a.id = m.account_id \
         JOIN account_groups g ON g.id = m.group_id \
         WHERE m.user_id = $1 AND a.mfa_require_passkeys = 1 ORDER BY a.name",
    )
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|r| r.mfa_policy.covers(r.is_admin != 0))
        .map(|r| r.name)
        .collect())
}

/// How a policy change reads in the audit log and on the policy page:
/// "Optional → Required for all users, grace period 14 days".
pub fn change_summary(from: MfaPolicy, to: MfaPolicy, grace_days: i64) -> String {
    let grace = match (to, grace_days) {
        (MfaPolicy::Optional, _) => String::new(),
        (_, 1) => ", grace period 1 day".to_string(),
        (_, n) => format!(", grace period {n} days"),
    };
    format!("{} → {}{grace}", from.label(), to.label())
}

/// One member as stored, for the compliance view.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
struct MemberRow {
    user_id: i64,
    name: String,
    email: String,
    group_name: String,
    is_admin: i64,
    joined_at: i64,
    uses_mfa: i64,
    has_totp: i64,
    has_passkey: i64,
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
    pub has_totp: bool,
    pub has_passkey: bool,
    pub covered: bool,
    /// For a covered member who does not meet the policy: from when they are blocked.
    pub blocked_from: Option<i64>,
}

impl MemberRow {
    fn under(self, terms: PolicyTerms) -> MemberState {
        let (is_admin, uses_mfa) = (self.is_admin != 0, self.uses_mfa != 0);
        let has_passkey = self.has_passkey != 0;
        let deadline = terms.deadline_for(is_admin, self.joined_at);
        let meets = terms.met_by(uses_mfa, has_passkey);
        MemberState {
            user_id: self.user_id,
            name: self.name,
            email: self.email,
            group: self.group_name,
            is_admin,
            joined_at: self.joined_at,
            uses_mfa,
            has_totp: self.has_totp != 0,
            has_passkey,
            covered: deadline.is_some(),
            blocked_from: deadline.filter(|_| !meets),
        }
    }
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
pub async fn member_counts(
    conn: &mut AnyConnection,
    account_id: i64,
) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query(concat!(
        "SELECT COUNT(*) AS total, COALESCE(SUM(CASE WHEN ",
        crate::mfa_on_sql!("m.user_id"),
        " THEN 1 ELSE 0 END), 0) AS with_mfa FROM memberships m WHERE m.account_id = $1"
    ))
    .bind(account_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok((row.try_get("total")?, row.try_get("with_mfa")?))
}

const MEMBER_SELECT: &str = concat!(
    "SELECT u.id AS user_id, u.name AS name, u.email AS email, \
        g.name AS group_name, g.is_admin AS is_admin, m.created_at AS joined_at, \
        CASE WHEN ",
    crate::mfa_on_sql!("u.id"),
    " THEN 1 ELSE 0 END AS uses_mfa, \
        CASE WHEN EXISTS (SELECT 1 FROM user_mfa t WHERE t.user_id = u.id AND t.enabled_at IS NOT NULL) \
            THEN 1 ELSE 0 END AS has_totp, \
        CASE WHEN EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = u.id) THEN 1 ELSE 0 END AS has_passkey \
     FROM memberships m \
     JOIN users u ON u.id = m.user_id \
     JOIN account_groups g ON g.id = m.group_id \
     WHERE m.account_id = $1"
);

/// One page of an account's members with their MFA state under its policy, by name.
pub async fn members(
    conn: &mut AnyConnection,
    account_id: i64,
    terms: PolicyTerms,
    filter: MemberFilter,
) -> Result<Vec<MemberState>, sqlx::Error> {
    let sql = format!(
        "{MEMBER_SELECT}{} ORDER BY u.name, u.id LIMIT $2 OFFSET $3",
        if filter.without_mfa {
            concat!(" AND NOT ", crate::mfa_on_sql!("u.id"))
        } else {
            ""
        }
    );
    let rows: Vec<MemberRow> = sqlx::query_as(&sql)
        .bind(account_id)
        .bind(filter.limit)
        .bind(filter.offset)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.into_iter().map(|r| r.under(terms)).collect())
}

/// One member's MFA state in an account under its policy, if they are a member.
pub async fn member(
    conn: &mut AnyConnection,
    account_id: i64,
    terms: PolicyTerms,
    user_id: i64,
) -> Result<Option<MemberState>, sqlx::Error> {
    let sql = format!("{MEMBER_SELECT} AND m.user_id = $2");
    let row: Option<MemberRow> = sqlx::query_as(&sql)
        .bind(account_id)
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.under(terms)))
}

/// The account's requirement for one person: `None` when not covered, else the deadline.
pub async fn requirement(
    conn: &mut AnyConnection,
    user_id: i64,
    account_id: i64,
) -> Result<Option<(i64, bool)>, sqlx::Error> {
    let Some(p) = load(&mut *conn, account_id).await? else {
        return Ok(None);
    };
    let row = sqlx::query(
        "SELECT g.is_admin AS is_admin, m.created_at AS joined_at FROM memberships m \
         JOIN account_groups g ON g.id = m.group_id WHERE m.user_id = $1 AND m.account_id = $2",
    )
    .bind(user_id)
    .bind(account_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let is_admin = row.try_get::<i64, _>("is_admin")? != 0;
    let terms = p.terms();
    Ok(terms
        .deadline_for(is_admin, row.try_get("joined_at")?)
        .map(|d| (d, terms.require_passkeys)))
}

/// Names of the accounts whose MFA policy covers this person ([`MfaPolicy::covers`] on
/// each membership, the stored policy decoded strictly: one this build does not know is
/// an error, so it cannot let a person turn MFA off).
pub async fn required_by(
    conn: &mut AnyConnection,
    user_id: i64,
) -> Result<Vec<String>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        name: String,
        #[sqlx(try_from = "String")]
        mfa_policy: MfaPolicy,
        is_admin: i64,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT a.name AS name, a.mfa_policy AS mfa_policy, g.is_admin AS is_admin \
         FROM memberships m \
         JOIN accounts a ON a.id = m.account_id \
         JOIN account_groups g ON g.id = m.group_id \
         WHERE m.user_id = $1 ORDER BY a.name",
    )
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|r| r.mfa_policy.covers(r.is_admin != 0))
        .map(|r| r.name)
        .collect())
}

/// A member some account's policy asks to turn MFA on, who has not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uncompliant {
    pub account_id: i64,
    pub account_name: String,
    pub user_id: i64,
    /// When the member must have MFA.
    pub deadline: i64,
    pub grace: GraceDays,
    /// The account requires passkeys (and the member has none).
    pub passkeys: bool,
}

/// Every member of every account whose policy covers them and who has not turned MFA on,
/// or has no passkey where the account requires passkeys (people who sign in only
/// through their organisation's directory are left out: the directory vouches for them),
/// with their deadline.
pub async fn uncompliant(conn: &mut AnyConnection) -> Result<Vec<Uncompliant>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        account_id: i64,
        name: String,
        #[sqlx(try_from = "String")]
        mfa_policy: MfaPolicy,
        #[sqlx(try_from = "i64")]
        mfa_grace_days: GraceDays,
        mfa_policy_changed_at: Option<i64>,
        user_id: i64,
        is_admin: i64,
        joined_at: i64,
        mfa_require_passkeys: i64,
    }
    let rows: Vec<Row> = sqlx::query_as(concat!(
        "SELECT a.id AS account_id, a.name AS name, a.mfa_policy AS mfa_policy,                 a.mfa_grace_days AS mfa_grace_days, a.mfa_policy_changed_at AS mfa_policy_changed_at,                 m.user_id AS user_id, g.is_admin AS is_admin, m.created_at AS joined_at, \
                a.mfa_require_passkeys AS mfa_require_passkeys \
         FROM accounts a \
         JOIN memberships m ON m.account_id = a.id \
         JOIN account_groups g ON g.id = m.group_id \
         JOIN users u ON u.id = m.user_id \
         WHERE a.mfa_policy <> 'optional' AND u.sso_only = 0 AND (NOT ",
        crate::mfa_on_sql!("m.user_id"),
        " OR (a.mfa_require_passkeys = 1 AND NOT EXISTS \
                (SELECT 1 FROM passkeys p WHERE p.user_id = m.user_id))) \
         ORDER BY a.id, m.user_id"
    ))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let terms = PolicyTerms {
                policy: r.mfa_policy,
                grace: r.mfa_grace_days,
                changed_at: r.mfa_policy_changed_at,
                require_passkeys: r.mfa_require_passkeys != 0,
            };
            let deadline = terms.deadline_for(r.is_admin != 0, r.joined_at)?;
            Some(Uncompliant {
                account_id: r.account_id,
                account_name: r.name,
                user_id: r.user_id,
                deadline,
                grace: r.mfa_grace_days,
                passkeys: terms.require_passkeys,
            })
        })
        .collect())
}

/// Is the person an administrator of the account?
pub async fn is_admin(
    conn: &mut AnyConnection,
    user_id: i64,
    account_id: i64,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "SELECT 1 AS one FROM memberships m JOIN account_groups g ON g.id = m.group_id \
         WHERE m.user_id = $1 AND m.account_id = $2 AND g.is_admin = 1",
    )
    .bind(user_id)
    .bind(account_id)
    .fetch_optional(&mut *conn)
    .await?
    .is_some())
}
