//! The SQL of `portal backup` and `portal restore` (SQLite only): a consistent copy of a
//! live database, its integrity check, and the `portal_backup` table that a backup file
//! carries beside the portal's own tables (what made it, its schema, and the server key
//! sealed with a passphrase when asked).

use sqlx::{sqlite::SqliteConnectOptions, Connection, Row, SqliteConnection};

/// Opens a SQLite database file for a backup step, without creating it (by file name,
/// not URL: any character in a path is fine).
pub async fn open(
    path: &std::path::Path,
    read_only: bool,
) -> Result<SqliteConnection, sqlx::Error> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .read_only(read_only)
        .create_if_missing(false)
        // A server writing meanwhile holds the lock only briefly: wait for it.
        .busy_timeout(std::time::Duration::from_secs(10));
    SqliteConnection::connect_with(&options).await
}

/// Copies the database `conn` is open on into `to` (a new, empty file), as one read
/// transaction: everything committed before it began, nothing after (`VACUUM INTO`,
/// which needs no lock that would stop a running server from writing).
pub async fn copy_into(
    conn: &mut SqliteConnection,
    to: &std::path::Path,
) -> Result<(), sqlx::Error> {
    sqlx::query("VACUUM INTO $1")
        .bind(to.display().to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// SQLite's full integrity check: `Ok(())`, or the problems it reports.
pub async fn integrity(conn: &mut SqliteConnection) -> Result<Result<(), String>, sqlx::Error> {
    let rows = sqlx::query("PRAGMA integrity_check")
        .fetch_all(conn)
        .await?;
    let lines: Vec<String> = rows
        .iter()
        .filter_map(|r| r.try_get::<String, _>(0).ok())
        .collect();
    Ok(if lines == ["ok"] {
        Ok(())
    } else {
        Err(lines.join("; "))
    })
}

/// Whether the database has a table of this name.
async fn has_table(conn: &mut SqliteConnection, name: &str) -> Result<bool, sqlx::Error> {
    let n: i64 =
        sqlx::query("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1")
            .bind(name)
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
    Ok(n > 0)
}

/// The migrations applied to the database (their versions), or `None` when it has no
/// migration table (it is not a portal database).
pub async fn applied_migrations(
    conn: &mut SqliteConnection,
) -> Result<Option<Vec<i64>>, sqlx::Error> {
    if !has_table(conn, "_sqlx_migrations").await? {
        return Ok(None);
    }
    let rows =
        sqlx::query("SELECT version FROM _sqlx_migrations WHERE success = 1 ORDER BY version")
            .fetch_all(conn)
            .await?;
    rows.iter()
        .map(|r| r.try_get::<i64, _>(0))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Writes the backup's description into the copy.
pub async fn describe(
    conn: &mut SqliteConnection,
    entries: &[(&str, &str)],
) -> Result<(), sqlx::Error> {
    let mut tx = conn.begin().await?;
    sqlx::query("CREATE TABLE portal_backup (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
        .execute(&mut *tx)
        .await?;
    for (name, value) in entries {
        sqlx::query("INSERT INTO portal_backup (name, value) VALUES ($1, $2)")
            .bind(*name)
            .bind(*value)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

/// The backup's description, or `None` when the file has none (it was not made by
/// `portal backup`).
pub async fn description(
    conn: &mut SqliteConnection,
) -> Result<Option<Vec<(String, String)>>, sqlx::Error> {
    if !has_table(conn, "portal_backup").await? {
        return Ok(None);
    }
    let rows = sqlx::query("SELECT name, value FROM portal_backup")
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("name")?, r.try_get("value")?)))
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map(Some)
}

/// Removes the description from a restored copy: the restored database is the portal's
/// own again.
pub async fn forget_description(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    sqlx::query("DROP TABLE portal_backup")
        .execute(&mut *conn)
        .await?;
    sqlx::query("VACUUM").execute(conn).await?;
    Ok(())
}

/// How many people the database holds (reported by the commands).
pub async fn people(conn: &mut SqliteConnection) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) FROM users")
        .fetch_one(conn)
        .await?
        .try_get(0)
}

/// The database's check value of the server key (as [`super::server_keys::check`]).
pub async fn key_check(conn: &mut SqliteConnection) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("SELECT check_ciphertext FROM server_keys WHERE id = 1")
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get("check_ciphertext"))
        .transpose()
}
