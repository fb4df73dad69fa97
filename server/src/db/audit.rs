//! The `audit_log` table: one row per administrative change in an account, written on
//! the change's transaction; never edited, purged after the retention period.

use sqlx::{AnyConnection, Row};

/// What an administrative change was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    PolicyChanged,
    SsoChanged,
    DomainProven,
    InvitationSent,
    InvitationAccepted,
    InvitationRevoked,
    MemberAdded,
    MemberRemoved,
    MemberMoved,
    GroupCreated,
    GroupRenamed,
    GroupDeleted,
    GroupAdminChanged,
    MfaReset,
    SignedOut,
}

impl Action {
    pub const ALL: [Self; 15] = [
        Self::PolicyChanged,
        Self::SsoChanged,
        Self::DomainProven,
        Self::InvitationSent,
        Self::InvitationAccepted,
        Self::InvitationRevoked,
        Self::MemberAdded,
        Self::MemberRemoved,
        Self::MemberMoved,
        Self::GroupCreated,
        Self::GroupRenamed,
        Self::GroupDeleted,
        Self::GroupAdminChanged,
        Self::MfaReset,
        Self::SignedOut,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PolicyChanged => "policy_changed",
            Self::SsoChanged => "sso_changed",
            Self::DomainProven => "domain_proven",
            Self::InvitationSent => "invitation_sent",
            Self::InvitationAccepted => "invitation_accepted",
            Self::InvitationRevoked => "invitation_revoked",
            Self::MemberAdded => "member_added",
            Self::MemberRemoved => "member_removed",
            Self::MemberMoved => "member_moved",
            Self::GroupCreated => "group_created",
            Self::GroupRenamed => "group_renamed",
            Self::GroupDeleted => "group_deleted",
            Self::GroupAdminChanged => "group_admin_changed",
            Self::MfaReset => "mfa_reset",
            Self::SignedOut => "signed_out",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A person, with how they are shown ("Name (email)") and where they acted from.
    Person {
        user_id: i64,
        label: String,
        ip: Option<String>,
        user_agent: Option<String>,
    },
    /// The operator's command line.
    Operator,
}

/// The label of the operator's command line in the log.
pub const OPERATOR: &str = "operator (CLI)";

/// One change to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    pub account_id: i64,
    pub action: Action,
    pub subject: &'a str,
    pub subject_user_id: Option<i64>,
    pub detail: &'a str,
}

/// Records a change, on the caller's transaction.
pub async fn record(
    conn: &mut AnyConnection,
    actor: &Actor,
    entry: Entry<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let (actor_id, label, ip, ua) = match actor {
        Actor::Person {
            user_id,
            label,
            ip,
            user_agent,
        } => (
            Some(*user_id),
            label.as_str(),
            ip.as_deref(),
            user_agent.as_deref(),
        ),
        Actor::Operator => (None, OPERATOR, None, None),
    };
    sqlx::query(
        "INSERT INTO audit_log (account_id, actor_id, actor_label, action, subject, subject_user_id, detail, ip, user_agent, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(entry.account_id)
    .bind(actor_id)
    .bind(label)
    .bind(entry.action.as_str())
    .bind(entry.subject)
    .bind(entry.subject_user_id)
    .bind(entry.detail)
    .bind(ip)
    .bind(ua)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records a change of the account's own settings (its subject is the account, by
/// name), on the caller's transaction.
pub async fn record_for_account(
    conn: &mut AnyConnection,
    actor: &Actor,
    account_id: i64,
    action: Action,
    detail: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let name: String = sqlx::query("SELECT name FROM accounts WHERE id = $1")
        .bind(account_id)
        .fetch_one(&mut *conn)
        .await?
        .try_get("name")?;
    let entry = Entry {
        account_id,
        action,
        subject: &name,
        subject_user_id: None,
        detail,
    };
    record(conn, actor, entry, now).await
}

/// The latest rows of the given actions, newest first: the MFA policy and single
/// sign-on pages' histories are these views of the log.
pub async fn history(
    conn: &mut AnyConnection,
    account_id: i64,
    actions: &[Action],
    limit: i64,
) -> Result<Vec<Logged>, sqlx::Error> {
    let names: Vec<String> = actions
        .iter()
        .map(|a| format!("'{}'", a.as_str()))
        .collect();
    // The names are this enum's own constants, never input.
    let sql = format!(
        "SELECT id, actor_label, action, subject, detail, ip, user_agent, at FROM audit_log \
         WHERE account_id = $1 AND action IN ({}) ORDER BY at DESC, id DESC LIMIT $2",
        names.join(", ")
    );
    sqlx::query(&sql)
        .bind(account_id)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(logged)
        .collect()
}

fn logged(r: &sqlx::any::AnyRow) -> Result<Logged, sqlx::Error> {
    Ok(Logged {
        id: r.try_get("id")?,
        actor: r.try_get("actor_label")?,
        action: r.try_get("action")?,
        subject: r.try_get("subject")?,
        detail: r.try_get("detail")?,
        ip: r.try_get("ip")?,
        user_agent: r.try_get("user_agent")?,
        at: r.try_get("at")?,
    })
}

/// Which rows of an account's log to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub action: Option<Action>,
    /// Matches the actor's or the subject's label (case-insensitive substring).
    pub person: Option<String>,
    /// From this moment (inclusive), to this one (exclusive).
    pub from: Option<i64>,
    pub until: Option<i64>,
}

/// A stored row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub id: i64,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub at: i64,
}

fn where_clause(f: &Filter) -> (String, Vec<String>) {
    // Placeholders $2… after the account's $1; values are bound in this order.
    let mut sql = String::from("account_id = $1");
    let mut binds = Vec::new();
    if let Some(a) = f.action {
        binds.push(a.as_str().to_string());
        sql.push_str(&format!(" AND action = ${}", binds.len() + 1));
    }
    if let Some(p) = f.person.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        binds.push(format!("%{}%", p.to_lowercase().replace(['%', '_'], "")));
        let n = binds.len() + 1;
        sql.push_str(&format!(
            " AND (LOWER(actor_label) LIKE ${n} OR LOWER(subject) LIKE ${n})"
        ));
    }
    (sql, binds)
}

/// `sql` with the account, the filter's values and its times bound, in placeholder order.
fn bound<'q>(
    sql: &'q str,
    account_id: i64,
    binds: &'q [String],
    filter: &Filter,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    let mut q = sqlx::query(sql).bind(account_id);
    for b in binds {
        q = q.bind(b.as_str());
    }
    if let Some(t) = filter.from {
        q = q.bind(t);
    }
    if let Some(t) = filter.until {
        q = q.bind(t);
    }
    q
}

/// One page of an account's log, newest first, and how many rows match.
pub async fn page(
    conn: &mut AnyConnection,
    account_id: i64,
    filter: &Filter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Logged>, i64), sqlx::Error> {
    let (mut cond, binds) = where_clause(filter);
    let mut n = binds.len() + 1;
    let time = |n: &mut usize, op: &str| {
        *n += 1;
        format!(" AND at {op} ${}", *n)
    };
    if filter.from.is_some() {
        cond.push_str(&time(&mut n, ">="));
    }
    if filter.until.is_some() {
        cond.push_str(&time(&mut n, "<"));
    }
    let count_sql = format!("SELECT COUNT(*) AS n FROM audit_log WHERE {cond}");
    let rows_sql = format!(
        "SELECT id, actor_label, action, subject, detail, ip, user_agent, at FROM audit_log \
         WHERE {cond} ORDER BY at DESC, id DESC LIMIT {limit} OFFSET {offset}"
    );
    let total: i64 = bound(&count_sql, account_id, &binds, filter)
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
    let rows = bound(&rows_sql, account_id, &binds, filter)
        .fetch_all(&mut *conn)
        .await?;
    let rows = rows.iter().map(logged).collect::<Result<Vec<_>, _>>()?;
    Ok((rows, total))
}

/// Deletes rows older than `cutoff`; how many.
pub async fn purge(conn: &mut AnyConnection, cutoff: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM audit_log WHERE at < $1")
        .bind(cutoff)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
