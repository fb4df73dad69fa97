//! The data layer: SQLite (embedded default) or PostgreSQL, behind one sqlx `Any` pool.
//! Every SQL statement of the portal lives in this module's children, one per table or
//! aggregate. Their functions take a connection (`&mut AnyConnection`): one from the pool
//! (`&mut db.acquire().await?`) or the caller's transaction (`&mut tx`), so a use case
//! puts several writes in one transaction (`let mut tx = db.begin().await?; ...;
//! tx.commit().await?`).
//!
//! Queries use `$1` placeholders, which both backends accept, and portable SQL; the
//! migrations differ only where the dialects force it (identity columns). Times are
//! stored as milliseconds since the Unix epoch (UTC) and flags as 0/1 integers, so every
//! value decodes the same way on both backends.

use sqlx::{
    any::{AnyConnectOptions, AnyPoolOptions},
    migrate::Migrator,
    AnyPool, Executor,
};
use std::{str::FromStr, time::Duration};

pub mod audit;
pub mod backup;
pub mod devices;
pub mod directory;
pub mod email_changes;
pub mod events;
pub mod invitations;
pub mod members;
pub mod mfa;
pub mod outbox;
pub mod passkeys;
pub mod password_resets;
pub mod policy;
pub mod policy_notices;
pub mod server_keys;
pub mod sessions;
pub mod sso;
pub mod throttle;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// Records how long getting a connection (or starting a transaction) took.
    wait: Option<prometheus_client::metrics::histogram::Histogram>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: never print it.
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Db {
    /// Connects (creating the SQLite file and its directory if needed).
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        if backend == Backend::Sqlite {
            if let Some(dir) = sqlite_path(url).and_then(|p| std::path::Path::new(p).parent()) {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
                }
            }
        }
        let options = AnyConnectOptions::from_str(url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                             PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        Ok(Self {
            pool,
            backend,
            wait: None,
        })
    }

    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await,
        }
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A connection from the pool, for data functions outside a transaction.
    pub async fn acquire(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>, sqlx::Error> {
        let started = std::time::Instant::now();
        let conn = self.pool.acquire().await;
        self.waited(started);
        conn
    }

    /// The same pool, recording each wait for a connection in `wait` (the metrics).
    pub fn timed_by(mut self, wait: prometheus_client::metrics::histogram::Histogram) -> Self {
        self.wait = Some(wait);
        self
    }

    fn waited(&self, since: std::time::Instant) {
        if let Some(h) = &self.wait {
            h.observe(since.elapsed().as_secs_f64());
        }
    }

    /// Starts a transaction: the writes of one use case, committed together or not at all.
    ///
    /// On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`, waiting up to the
    /// busy timeout for another writer): a deferred transaction that reads and then
    /// writes would fail with "database is locked" when another one wrote in between.
    pub async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        let started = std::time::Instant::now();
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        };
        self.waited(started);
        tx
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// `SELECT 1`: is the database reachable?
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The versions of the SQLite migrations this build knows (its schema, oldest first).
pub fn sqlite_schema_versions() -> Vec<i64> {
    SQLITE_MIGRATIONS.iter().map(|m| m.version).collect()
}

/// The file of a `sqlite:` URL (`None` for PostgreSQL or an in-memory database).
pub fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then_some(path)
}

/// A transaction on `conn` for a data function's several statements: a savepoint inside
/// the caller's transaction, else a transaction of its own (on SQLite `BEGIN IMMEDIATE`,
/// for the reason given at [`Db::begin`]).
pub async fn transaction(
    conn: &mut sqlx::AnyConnection,
) -> Result<sqlx::Transaction<'_, sqlx::Any>, sqlx::Error> {
    use sqlx::Connection;
    if conn.backend_name().eq_ignore_ascii_case("sqlite") && !conn.is_in_transaction() {
        conn.begin_with("BEGIN IMMEDIATE").await
    } else {
        conn.begin().await
    }
}

/// Is this a unique-constraint violation (e.g. a duplicate email)?
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// Is this a foreign-key violation (e.g. an unknown account)?
pub fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_foreign_key_violation())
}
