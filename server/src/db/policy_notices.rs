//! The `mfa_policy_notices` table: which MFA policy notices were sent, so each (member,
//! account, deadline, stage) is mailed once, whatever the number of replicas.

use sqlx::AnyConnection;

/// Claims a notice for sending, on the caller's transaction (with the mail itself);
/// `false` when it was sent already.
pub async fn claim(
    conn: &mut AnyConnection,
    account_id: i64,
    user_id: i64,
    deadline: i64,
    stage: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO mfa_policy_notices (account_id, user_id, deadline, stage, sent_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(account_id)
    .bind(user_id)
    .bind(deadline)
    .bind(stage)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether that notice was sent already (a read: the sweep writes only when it sends).
pub async fn sent(
    conn: &mut AnyConnection,
    account_id: i64,
    user_id: i64,
    deadline: i64,
    stage: &str,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "SELECT 1 AS one FROM mfa_policy_notices          WHERE account_id = $1 AND user_id = $2 AND deadline = $3 AND stage = $4",
    )
    .bind(account_id)
    .bind(user_id)
    .bind(deadline)
    .bind(stage)
    .fetch_optional(&mut *conn)
    .await?
    .is_some())
}

/// Forgets notices whose deadline passed before `cutoff`; how many.
pub async fn purge(conn: &mut AnyConnection, cutoff: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM mfa_policy_notices WHERE deadline < $1")
        .bind(cutoff)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
