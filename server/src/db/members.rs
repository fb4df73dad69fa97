//! An account's people and groups, as its administrators manage them (`memberships`,
//! `account_groups`). Changes that could leave an account without an administrator take
//! the account's lock first ([`lock_account`]), so two administrators acting at once
//! cannot both pass the "last administrator" check.

use super::Backend;
use sqlx::{AnyConnection, Row};

/// Serializes changes to one account's members and groups until the transaction ends: a
/// row lock on PostgreSQL; on SQLite the transaction already holds the write lock.
pub async fn lock_account(
    conn: &mut AnyConnection,
    backend: Backend,
    account_id: i64,
) -> Result<bool, sqlx::Error> {
    let sql = match backend {
        Backend::Postgres => "SELECT id FROM accounts WHERE id = $1 FOR UPDATE",
        Backend::Sqlite => "SELECT id FROM accounts WHERE id = $1",
    };
    Ok(sqlx::query(sql)
        .bind(account_id)
        .fetch_optional(&mut *conn)
        .await?
        .is_some())
}

/// How the member list is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Name,
    /// Most recent first; people who never signed in last.
    LastSignIn,
}

/// One member as the members page shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user_id: i64,
    pub name: String,
    pub email: String,
    pub group_id: i64,
    pub group_name: String,
    pub is_admin: bool,
    pub uses_mfa: bool,
    pub last_sign_in: Option<i64>,
    pub sso_only: bool,
}

const MEMBER_SELECT: &str = concat!(
    "SELECT u.id AS user_id, u.name AS name, u.email AS email, \
        g.id AS group_id, g.name AS group_name, g.is_admin AS is_admin, \
        CASE WHEN ",
    crate::mfa_on_sql!("u.id"),
    " THEN 1 ELSE 0 END AS uses_mfa, \
        (SELECT MAX(s.created_at) FROM sessions s WHERE s.user_id = u.id) AS last_sign_in, \
        u.sso_only AS sso_only \
     FROM memberships m \
     JOIN users u ON u.id = m.user_id \
     JOIN account_groups g ON g.id = m.group_id \
     WHERE m.account_id = $1"
);

fn member(r: &sqlx::any::AnyRow) -> Result<Member, sqlx::Error> {
    Ok(Member {
        user_id: r.try_get("user_id")?,
        name: r.try_get("name")?,
        email: r.try_get("email")?,
        group_id: r.try_get("group_id")?,
        group_name: r.try_get("group_name")?,
        is_admin: r.try_get::<i64, _>("is_admin")? != 0,
        uses_mfa: r.try_get::<i64, _>("uses_mfa")? != 0,
        last_sign_in: r.try_get("last_sign_in")?,
        sso_only: r.try_get::<i64, _>("sso_only")? != 0,
    })
}

/// A search term as a `LIKE` pattern on the lower-cased name or email.
fn pattern(search: &str) -> Option<String> {
    let s = search.trim().to_lowercase().replace(['%', '_', '\\'], "");
    (!s.is_empty()).then(|| format!("%{s}%"))
}

/// One page of the account's members matching `search` (name or email), and how many match.
pub async fn list(
    conn: &mut AnyConnection,
    account_id: i64,
    search: &str,
    sort: Sort,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Member>, i64), sqlx::Error> {
    let pattern = pattern(search);
    let cond = if pattern.is_some() {
        " AND (LOWER(u.name) LIKE $2 OR u.email_normalized LIKE $2)"
    } else {
        ""
    };
    // Sorted outside, where `last_sign_in` is a column (PostgreSQL does not let ORDER BY
    // use an output name inside an expression).
    let order = match sort {
        Sort::Name => "t.name, t.user_id",
        Sort::LastSignIn => {
            "CASE WHEN t.last_sign_in IS NULL THEN 1 ELSE 0 END, t.last_sign_in DESC, t.name, t.user_id"
        }
    };
    let count_sql = format!(
        "SELECT COUNT(*) AS n FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.account_id = $1{cond}"
    );
    let list_sql = format!(
        "SELECT * FROM ({MEMBER_SELECT}{cond}) t ORDER BY {order} LIMIT {limit} OFFSET {offset}"
    );
    let mut count = sqlx::query(&count_sql).bind(account_id);
    let mut rows = sqlx::query(&list_sql).bind(account_id);
    if let Some(p) = &pattern {
        count = count.bind(p.as_str());
        rows = rows.bind(p.as_str());
    }
    let total: i64 = count.fetch_one(&mut *conn).await?.try_get("n")?;
    let members = rows
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(member)
        .collect::<Result<_, _>>()?;
    Ok((members, total))
}

/// One member of the account, if they are one.
pub async fn get(
    conn: &mut AnyConnection,
    account_id: i64,
    user_id: i64,
) -> Result<Option<Member>, sqlx::Error> {
    let sql = format!("{MEMBER_SELECT} AND m.user_id = $2");
    sqlx::query(&sql)
        .bind(account_id)
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(member)
        .transpose()
}

/// How many members of administrator groups the account has.
pub async fn admin_count(conn: &mut AnyConnection, account_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "SELECT COUNT(*) AS n FROM memberships m JOIN account_groups g ON g.id = m.group_id \
         WHERE m.account_id = $1 AND g.is_admin = 1",
    )
    .bind(account_id)
    .fetch_one(&mut *conn)
    .await?
    .try_get("n")
}

/// Moves a member to another group of the same account; whether they were a member.
pub async fn move_to(
    conn: &mut AnyConnection,
    account_id: i64,
    user_id: i64,
    group_id: i64,
) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE memberships SET group_id = $1 WHERE account_id = $2 AND user_id = $3")
            .bind(group_id)
            .bind(account_id)
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes a member from the account (never the person): their sessions working in it
/// move to another of their accounts, or none. Whether they were a member.
pub async fn remove(
    conn: &mut AnyConnection,
    account_id: i64,
    user_id: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM memberships WHERE account_id = $1 AND user_id = $2")
        .bind(account_id)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE sessions SET active_account_id = \
           (SELECT MIN(m.account_id) FROM memberships m WHERE m.user_id = $1) \
         WHERE user_id = $1 AND active_account_id = $2",
    )
    .bind(user_id)
    .bind(account_id)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// One of an account's groups with its number of members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: i64,
    pub name: String,
    pub is_admin: bool,
    pub members: i64,
}

/// The account's groups, by name.
pub async fn groups(conn: &mut AnyConnection, account_id: i64) -> Result<Vec<Group>, sqlx::Error> {
    sqlx::query(
        "SELECT g.id AS id, g.name AS name, g.is_admin AS is_admin, \
                (SELECT COUNT(*) FROM memberships m WHERE m.group_id = g.id) AS members \
         FROM account_groups g WHERE g.account_id = $1 ORDER BY g.name, g.id",
    )
    .bind(account_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| {
        Ok(Group {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
            is_admin: r.try_get::<i64, _>("is_admin")? != 0,
            members: r.try_get("members")?,
        })
    })
    .collect()
}

/// One of the account's groups (never another account's).
pub async fn group(
    conn: &mut AnyConnection,
    account_id: i64,
    group_id: i64,
) -> Result<Option<Group>, sqlx::Error> {
    Ok(groups(conn, account_id)
        .await?
        .into_iter()
        .find(|g| g.id == group_id))
}

/// The account's group with this name.
pub async fn group_named(
    conn: &mut AnyConnection,
    account_id: i64,
    name: &str,
) -> Result<Option<Group>, sqlx::Error> {
    Ok(groups(conn, account_id)
        .await?
        .into_iter()
        .find(|g| g.name == name.trim()))
}

/// Renames one of the account's groups; `Err` with a unique violation when the name is
/// taken (the caller says so).
pub async fn rename_group(
    conn: &mut AnyConnection,
    account_id: i64,
    group_id: i64,
    name: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE account_groups SET name = $1 WHERE id = $2 AND account_id = $3")
        .bind(name)
        .bind(group_id)
        .bind(account_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets whether members of one of the account's groups administer it.
pub async fn set_group_admin(
    conn: &mut AnyConnection,
    account_id: i64,
    group_id: i64,
    is_admin: bool,
) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE account_groups SET is_admin = $1 WHERE id = $2 AND account_id = $3")
            .bind(i64::from(is_admin))
            .bind(group_id)
            .bind(account_id)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes one of the account's groups if it has no members; whether it was deleted.
pub async fn delete_group(
    conn: &mut AnyConnection,
    account_id: i64,
    group_id: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM account_groups WHERE id = $1 AND account_id = $2 \
         AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.group_id = $1)",
    )
    .bind(group_id)
    .bind(account_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
