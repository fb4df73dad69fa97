//! People, accounts, groups and memberships.

use crate::db::{is_foreign_key_violation, is_unique_violation};
use app::{
    models::AccountKind,
    validation::{normalize_email, validate_name},
};
use sqlx::{AnyConnection, Row};

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("{0}")]
    Invalid(String),
    #[error("a person with the email {0} already exists")]
    DuplicateEmail(String),
    #[error("no person has the email {0}")]
    UnknownUser(String),
    #[error("there is no account with id {0}")]
    UnknownAccount(i64),
    #[error("account {account} has no group named \"{group}\"")]
    UnknownGroup { account: i64, group: String },
    #[error("account {account} already has a group named \"{group}\"")]
    DuplicateGroup { account: i64, group: String },
    #[error("{email} is already a member of account {account}")]
    AlreadyMember { account: i64, email: String },
    #[error("password hashing failed")]
    Hash(#[from] crate::passwords::HashError),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

/// Stores a new person with an already computed password hash (see
/// [`crate::people::add`], which checks the rules and hashes off the async threads).
pub async fn insert_user(
    conn: &mut AnyConnection,
    email: &str,
    name: &str,
    password_hash: &str,
    now: i64,
) -> Result<i64, DirectoryError> {
    let email = email.trim();
    let row = sqlx::query(
        "INSERT INTO users (email, email_normalized, name, password_hash, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(email)
    .bind(normalize_email(email))
    .bind(name)
    .bind(password_hash)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            DirectoryError::DuplicateEmail(email.to_string())
        } else {
            e.into()
        }
    })?;
    Ok(row.try_get("id")?)
}

pub async fn create_account(
    conn: &mut AnyConnection,
    name: &str,
    kind: AccountKind,
    now: i64,
) -> Result<i64, DirectoryError> {
    let name = validate_name("account name", name).map_err(DirectoryError::Invalid)?;
    let row = sqlx::query(
        "INSERT INTO accounts (name, kind, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(&name)
    .bind(kind.as_str())
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get("id")?)
}

pub async fn create_group(
    conn: &mut AnyConnection,
    account_id: i64,
    name: &str,
    is_admin: bool,
    now: i64,
) -> Result<i64, DirectoryError> {
    let name = validate_name("group name", name).map_err(DirectoryError::Invalid)?;
    let row = sqlx::query(
        "INSERT INTO account_groups (account_id, name, is_admin, created_at) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(account_id)
    .bind(&name)
    .bind(i64::from(is_admin))
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| {
        if is_foreign_key_violation(&e) {
            DirectoryError::UnknownAccount(account_id)
        } else if is_unique_violation(&e) {
            DirectoryError::DuplicateGroup {
                account: account_id,
                group: name.clone(),
            }
        } else {
            e.into()
        }
    })?;
    Ok(row.try_get("id")?)
}

/// Stores a membership by ids (the caller knows the group belongs to the account).
pub async fn insert_membership(
    conn: &mut AnyConnection,
    user_id: i64,
    account_id: i64,
    group_id: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO memberships (user_id, account_id, group_id, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(user_id)
    .bind(account_id)
    .bind(group_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Puts a person in a group of an account, in one transaction.
pub async fn add_member(
    conn: &mut AnyConnection,
    account_id: i64,
    email: &str,
    group: &str,
    now: i64,
) -> Result<(), DirectoryError> {
    let mut tx = super::transaction(conn).await?;
    let user_id: i64 = sqlx::query("SELECT id FROM users WHERE email_normalized = $1")
        .bind(normalize_email(email))
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| DirectoryError::UnknownUser(email.trim().to_string()))?
        .try_get("id")?;
    if sqlx::query("SELECT id FROM accounts WHERE id = $1")
        .bind(account_id)
        .fetch_optional(&mut *tx)
        .await?
        .is_none()
    {
        return Err(DirectoryError::UnknownAccount(account_id));
    }
    let group_id: i64 =
        sqlx::query("SELECT id FROM account_groups WHERE account_id = $1 AND name = $2")
            .bind(account_id)
            .bind(group.trim())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| DirectoryError::UnknownGroup {
                account: account_id,
                group: group.trim().to_string(),
            })?
            .try_get("id")?;
    insert_membership(&mut tx, user_id, account_id, group_id, now)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                DirectoryError::AlreadyMember {
                    account: account_id,
                    email: email.trim().to_string(),
                }
            } else {
                e.into()
            }
        })?;
    tx.commit().await?;
    Ok(())
}

/// The stored credentials of a person, by email, for sign-in.
pub struct LoginRecord {
    pub user_id: i64,
    pub password_hash: String,
}

impl std::fmt::Debug for LoginRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRecord")
            .field("user_id", &self.user_id)
            .field("password_hash", &"[redacted]")
            .finish()
    }
}

pub async fn login_record(
    conn: &mut AnyConnection,
    email: &str,
) -> Result<Option<LoginRecord>, sqlx::Error> {
    let row = sqlx::query("SELECT id, password_hash FROM users WHERE email_normalized = $1")
        .bind(normalize_email(email))
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| {
        Ok(LoginRecord {
            user_id: r.try_get("id")?,
            password_hash: r.try_get("password_hash")?,
        })
    })
    .transpose()
}

/// Name and email of a person.
pub async fn user_identity(
    conn: &mut AnyConnection,
    user_id: i64,
) -> Result<Option<(String, String)>, sqlx::Error> {
    let row = sqlx::query("SELECT name, email FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| Ok((r.try_get("name")?, r.try_get("email")?)))
        .transpose()
}

/// One of a person's memberships as stored, with the account's policy terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipRow {
    pub account_id: i64,
    pub account_name: String,
    pub kind: AccountKind,
    pub group_name: String,
    pub is_admin: bool,
    pub joined_at: i64,
    pub terms: app::models::PolicyTerms,
}

#[derive(sqlx::FromRow)]
struct RawMembership {
    account_id: i64,
    account_name: String,
    kind: String,
    group_name: String,
    is_admin: i64,
    #[sqlx(try_from = "String")]
    mfa_policy: app::models::MfaPolicy,
    #[sqlx(try_from = "i64")]
    grace_days: app::models::GraceDays,
    changed_at: Option<i64>,
    require_passkeys: i64,
    joined_at: i64,
}

/// Every account a person belongs to, by account name. Stored policies decode strictly:
/// one this build does not know is an error, never "optional" (no enforcement).
pub async fn memberships(
    conn: &mut AnyConnection,
    user_id: i64,
) -> Result<Vec<MembershipRow>, sqlx::Error> {
    let rows: Vec<RawMembership> = sqlx::query_as(
        "SELECT a.id AS account_id, a.name AS account_name, a.kind AS kind, \
                g.name AS group_name, g.is_admin AS is_admin, a.mfa_policy AS mfa_policy, \
                a.mfa_grace_days AS grace_days, a.mfa_policy_changed_at AS changed_at, \
                a.mfa_require_passkeys AS require_passkeys, m.created_at AS joined_at \
         FROM memberships m \
         JOIN accounts a ON a.id = m.account_id \
         JOIN account_groups g ON g.id = m.group_id \
         WHERE m.user_id = $1 \
         ORDER BY a.name, a.id",
    )
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(MembershipRow {
                account_id: r.account_id,
                account_name: r.account_name,
                kind: AccountKind::parse(&r.kind).ok_or_else(|| {
                    sqlx::Error::Decode(format!("unknown account kind {:?}", r.kind).into())
                })?,
                group_name: r.group_name,
                is_admin: r.is_admin != 0,
                joined_at: r.joined_at,
                terms: app::models::PolicyTerms {
                    policy: r.mfa_policy,
                    grace: r.grace_days,
                    changed_at: r.changed_at,
                    require_passkeys: r.require_passkeys != 0,
                },
            })
        })
        .collect()
}

/// Is the person a member of the account?
pub async fn is_member(
    conn: &mut AnyConnection,
    user_id: i64,
    account_id: i64,
) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("SELECT 1 AS one FROM memberships WHERE user_id = $1 AND account_id = $2")
            .bind(user_id)
            .bind(account_id)
            .fetch_optional(&mut *conn)
            .await?
            .is_some(),
    )
}

/// Who a person is and how they want times shown, and whether they use MFA: what
/// every page needs about them, in one query.
#[derive(Debug, Clone)]
pub struct Person {
    pub name: String,
    pub email: String,
    pub preferences: app::models::Preferences,
    /// They have saved their preferences at least once.
    pub preferences_saved: bool,
    pub mfa_enabled: bool,
    /// Signs in only through their organisation's directory: no portal password.
    pub sso_only: bool,
}

pub async fn person(conn: &mut AnyConnection, user_id: i64) -> Result<Option<Person>, sqlx::Error> {
    use app::models::{DateFormat, Preferences, TimeFormat};
    let row = sqlx::query(concat!(
        "SELECT u.name, u.email, u.time_zone, u.date_format, u.time_format, u.news_opt_in, \
                u.preferences_saved_at, u.sso_only, \
                CASE WHEN ",
        crate::mfa_on_sql!("u.id"),
        " THEN 1 ELSE 0 END AS mfa_enabled FROM users u WHERE u.id = $1",
    ))
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        let date: String = r.try_get("date_format")?;
        let time: String = r.try_get("time_format")?;
        let saved: Option<i64> = r.try_get("preferences_saved_at")?;
        Ok(Person {
            name: r.try_get("name")?,
            email: r.try_get("email")?,
            preferences: Preferences {
                time_zone: r.try_get("time_zone")?,
                // Strict: a stored format this build does not know is an error.
                date_format: DateFormat::parse(&date).ok_or_else(|| {
                    sqlx::Error::Decode(format!("unknown date format {date:?}").into())
                })?,
                time_format: TimeFormat::parse(&time).ok_or_else(|| {
                    sqlx::Error::Decode(format!("unknown time format {time:?}").into())
                })?,
                news_opt_in: r.try_get::<i64, _>("news_opt_in")? != 0,
            },
            preferences_saved: saved.is_some(),
            mfa_enabled: r.try_get::<i64, _>("mfa_enabled")? != 0,
            sso_only: r.try_get::<i64, _>("sso_only")? != 0,
        })
    })
    .transpose()
}

/// Saves a person's name and preferences (already validated).
pub async fn save_general(
    conn: &mut AnyConnection,
    user_id: i64,
    name: &str,
    prefs: &app::models::Preferences,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE users SET name = $1, time_zone = $2, date_format = $3, time_format = $4, \
                          news_opt_in = $5, preferences_saved_at = $6, updated_at = $6 \
         WHERE id = $7",
    )
    .bind(name)
    .bind(&prefs.time_zone)
    .bind(prefs.date_format.as_str())
    .bind(prefs.time_format.as_str())
    .bind(i64::from(prefs.news_opt_in))
    .bind(now)
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The stored password hash of a person.
pub async fn password_hash(
    conn: &mut AnyConnection,
    user_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("SELECT password_hash FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get("password_hash"))
        .transpose()
}

/// Changes a person's email; `Err(DuplicateEmail)` when another person has it.
pub async fn set_email(
    conn: &mut AnyConnection,
    user_id: i64,
    email: &str,
    now: i64,
) -> Result<(), DirectoryError> {
    sqlx::query(
        "UPDATE users SET email = $1, email_normalized = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(email.trim())
    .bind(normalize_email(email))
    .bind(now)
    .bind(user_id)
    .execute(&mut *conn)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            DirectoryError::DuplicateEmail(email.trim().to_string())
        } else {
            e.into()
        }
    })?;
    Ok(())
}

pub async fn set_password_hash(
    conn: &mut AnyConnection,
    user_id: i64,
    hash: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(now)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Marks a person as signing in only through their organisation's directory.
pub async fn set_sso_only(conn: &mut AnyConnection, user_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET sso_only = 1 WHERE id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The person with this email (normalized), if any.
pub async fn user_by_email(
    conn: &mut AnyConnection,
    email: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query("SELECT id FROM users WHERE email_normalized = $1")
        .bind(normalize_email(email))
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get("id"))
        .transpose()
}

/// Accounts (names) in which the person is the only administrator.
const SOLE_ADMIN_ACCOUNTS: &str = "SELECT a.name AS name FROM memberships m \
     JOIN account_groups g ON g.id = m.group_id \
     JOIN accounts a ON a.id = m.account_id \
     WHERE m.user_id = $1 AND g.is_admin = 1 AND NOT EXISTS ( \
         SELECT 1 FROM memberships m2 JOIN account_groups g2 ON g2.id = m2.group_id \
         WHERE m2.account_id = m.account_id AND g2.is_admin = 1 AND m2.user_id <> m.user_id) \
     ORDER BY a.name";

/// Deletes a person unless they are the sole administrator of an account, in one
/// transaction; memberships, sessions and security events go with them (cascade).
/// Returns the accounts that block the deletion, if any.
pub async fn delete_user(
    conn: &mut AnyConnection,
    user_id: i64,
) -> Result<Vec<String>, sqlx::Error> {
    let mut tx = super::transaction(conn).await?;
    // The person's accounts are locked first (in id order, so two deletions cannot
    // deadlock), as every change to an account's administrators does: an administrator
    // deleting themselves while another leaves cannot leave the account without one.
    // (On SQLite the write lock already serializes them.)
    if tx.backend_name() == "PostgreSQL" {
        sqlx::query(
            "SELECT id FROM accounts WHERE id IN (SELECT account_id FROM memberships WHERE user_id = $1) \
             ORDER BY id FOR UPDATE",
        )
        .bind(user_id)
        .fetch_all(&mut *tx)
        .await?;
    }
    let rows = sqlx::query(SOLE_ADMIN_ACCOUNTS)
        .bind(user_id)
        .fetch_all(&mut *tx)
        .await?;
    let blocking: Vec<String> = rows
        .into_iter()
        .map(|r| r.try_get("name"))
        .collect::<Result<_, _>>()?;
    if !blocking.is_empty() {
        return Ok(blocking);
    }
    sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Vec::new())
}
