//! Prometheus metrics: what an operator watches. Requests by route template, method and
//! status class, with their latency; sign-ins by method and outcome; the password hashing
//! queue and hash time; active sessions; the database pool; single sign-on provider
//! requests; the mail outbox; the build. Served on their own listener
//! (`--metrics-listen`), never on the public port, in Prometheus' text format by the
//! `prometheus-client` crate.
//!
//! Labels carry no personal data: route templates (never raw paths), methods, outcomes
//! and status classes only.

use crate::state::AppState;
use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use prometheus_client::{
    encoding::{text::encode, EncodeLabelSet},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{exponential_buckets, Histogram},
    },
    registry::Registry,
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route template (`/accounts/{account_id}/settings/members`), a server
    /// function's path, or `unmatched`.
    pub route: String,
    pub method: String,
    /// `2xx`, `3xx`, `4xx` or `5xx`.
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SignInLabels {
    /// `password`, `code`, `recovery_code`, `passkey` or `sso`.
    pub method: String,
    /// `success`, `code_required`, `bad_credentials`, `throttled`, `busy`, `refused` or
    /// `error`.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SsoLabels {
    /// `discovery`, `keys`, `token` or `userinfo`.
    pub request: String,
    /// `success`, or what went wrong ([`crate::oidc::OidcError::kind`]).
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FailureLabels {
    /// `database` (a query or connection failed) or `other`.
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabels {
    /// `in_use` or `idle`.
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
    commit: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency() -> Histogram {
    // 1 ms to about 33 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// The portal's metrics (one set per process, in `AppState`).
pub struct Metrics {
    registry: Registry,
    /// The server functions' paths: only these are labels (a made-up name is not).
    server_fns: std::collections::HashSet<&'static str>,
    pub requests: HistogramFamily<RequestLabels>,
    pub sign_ins: Family<SignInLabels, Counter>,
    /// Seconds one argon2id hash took on its thread.
    pub hash_seconds: Histogram,
    pub hash_waiting: Gauge,
    pub hash_running: Gauge,
    pub sessions_active: Gauge,
    pub db_connections: Family<PoolLabels, Gauge>,
    pub sso_requests: HistogramFamily<SsoLabels>,
    pub outbox_waiting: Gauge,
    pub mail_failures: Counter,
    /// Seconds a request waited for a database connection.
    pub db_wait_seconds: Histogram,
    pub failures: Family<FailureLabels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("portal");
        let requests = HistogramFamily::<RequestLabels>::new_with_constructor(latency as _);
        registry.register(
            "http_request_duration_seconds",
            "HTTP requests by route template, method and status class, and their latency",
            requests.clone(),
        );
        let sign_ins = Family::<SignInLabels, Counter>::default();
        registry.register(
            "sign_ins",
            "Sign-in attempts by method and outcome",
            sign_ins.clone(),
        );
        let hash_seconds = Histogram::new(exponential_buckets(0.005, 2.0, 10));
        registry.register(
            "password_hash_duration_seconds",
            "Time one argon2id hash took on a hashing thread",
            hash_seconds.clone(),
        );
        let hash_waiting = Gauge::default();
        registry.register(
            "password_hash_waiting",
            "Password checks waiting for a hashing thread",
            hash_waiting.clone(),
        );
        let hash_running = Gauge::default();
        registry.register(
            "password_hash_running",
            "Password checks running on a hashing thread",
            hash_running.clone(),
        );
        let sessions_active = Gauge::default();
        registry.register(
            "sessions_active",
            "Sessions neither ended nor expired",
            sessions_active.clone(),
        );
        let db_connections = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_connections",
            "Database pool connections by state",
            db_connections.clone(),
        );
        let sso_requests = HistogramFamily::<SsoLabels>::new_with_constructor(latency as _);
        registry.register(
            "sso_provider_request_duration_seconds",
            "Requests to OpenID Providers by request and outcome, and their time",
            sso_requests.clone(),
        );
        let outbox_waiting = Gauge::default();
        registry.register(
            "mail_outbox_waiting",
            "Mails in the outbox not yet delivered",
            outbox_waiting.clone(),
        );
        let mail_failures = Counter::default();
        registry.register(
            "mail_delivery_failures",
            "Mail deliveries that failed (they are tried again)",
            mail_failures.clone(),
        );
        // 0.1 ms to about 13 s (past SQLite's 5 s busy timeout and the 10 s acquire
        // timeout): a free connection takes microseconds.
        let db_wait_seconds = Histogram::new(exponential_buckets(0.0001, 2.0, 18));
        registry.register(
            "db_connection_wait_seconds",
            "Time taken to get a database connection from the pool (for a transaction on SQLite, with the write lock)",
            db_wait_seconds.clone(),
        );
        let failures = Family::<FailureLabels, Counter>::default();
        registry.register(
            "internal_failures",
            "Server functions that failed inside the portal (answered 500), by kind",
            failures.clone(),
        );
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION").into(),
                commit: option_env!("PORTAL_COMMIT").unwrap_or("unknown").into(),
            })
            .set(1);
        registry.register("build_info", "The running build (always 1)", build);
        Self {
            registry,
            server_fns: leptos::server_fn::axum::server_fn_paths()
                .map(|(path, _)| path)
                .collect(),
            requests,
            sign_ins,
            hash_seconds,
            hash_waiting,
            hash_running,
            sessions_active,
            db_connections,
            sso_requests,
            outbox_waiting,
            mail_failures,
            db_wait_seconds,
            failures,
        }
    }

    /// Counts an internal failure: a database error if a `sqlx::Error` is in its chain.
    pub fn internal_failure(&self, e: &(dyn std::error::Error + 'static)) {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
        let mut database = false;
        while let Some(c) = cause {
            if c.downcast_ref::<sqlx::Error>().is_some() {
                database = true;
                break;
            }
            cause = c.source();
        }
        self.failures
            .get_or_create(&FailureLabels {
                kind: if database { "database" } else { "other" }.into(),
            })
            .inc();
    }

    /// Records requests to OpenID Providers (given to [`crate::oidc::Cache::timed`]).
    pub fn sso_timing(&self) -> crate::oidc::Timing {
        let family = self.sso_requests.clone();
        std::sync::Arc::new(move |request, outcome, seconds| {
            family
                .get_or_create(&SsoLabels {
                    request: request.into(),
                    outcome: outcome.into(),
                })
                .observe(seconds);
        })
    }

    /// Counts a sign-in attempt.
    pub fn sign_in(&self, method: &str, outcome: &str) {
        self.sign_ins
            .get_or_create(&SignInLabels {
                method: method.into(),
                outcome: outcome.into(),
            })
            .inc();
    }

    /// A request's route label: the route's template, or a server function's own path
    /// (each is a route of its own to an operator), or `unmatched`. Never a raw path.
    pub fn route_label<'a>(&self, matched: Option<&'a str>, path: &'a str) -> &'a str {
        match matched {
            Some("/api/{*fn_name}") => self
                .server_fns
                .get(path)
                .copied()
                .unwrap_or("/api/{*fn_name}"),
            Some(template) => template,
            // The site's files are nested services or the fallback (no template of
            // their own): the client bundle, icons, manifest, offline page.
            None if crate::web::is_static(path) => "static",
            None => "unmatched",
        }
    }

    /// Records a finished request (`route`: its template, never the raw path).
    pub fn request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        // Any other word a client sends as its method would be a label of its own.
        let method = match method {
            "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => method,
            _ => "other",
        };
        let class = match status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        self.requests
            .get_or_create(&RequestLabels {
                route: route.into(),
                method: method.into(),
                status: class.into(),
            })
            .observe(seconds);
    }

    /// The text exposition.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// The metrics listener's router: `GET /metrics` only.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}

/// Reads the gauges that are states (sessions, pool, queue, outbox) at the scrape, then
/// answers the exposition.
async fn scrape(State(state): State<AppState>) -> Response {
    let m = &state.metrics;
    let pool = state.db.pool();
    let (size, idle) = (
        pool.size(),
        u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
    );
    m.db_connections
        .get_or_create(&PoolLabels {
            state: "idle".into(),
        })
        .set(i64::from(idle));
    m.db_connections
        .get_or_create(&PoolLabels {
            state: "in_use".into(),
        })
        .set(i64::from(size.saturating_sub(idle)));
    let (running, waiting) = state.passwords.queue_counts();
    m.hash_running.set(running as i64);
    m.hash_waiting.set(waiting as i64);
    let now = state.now();
    // Bounded: a saturated pool must not hang the scrape that would show it (the
    // database gauges then keep their last values; the pool's are current).
    let counts = async {
        let mut conn = state.db.acquire().await?;
        let sessions = crate::db::sessions::count_live(&mut conn, now).await?;
        let outbox = crate::db::outbox::waiting(&mut conn).await?;
        Ok::<_, sqlx::Error>((sessions, outbox))
    };
    match tokio::time::timeout(std::time::Duration::from_secs(1), counts).await {
        Ok(Ok((sessions, outbox))) => {
            m.sessions_active.set(sessions);
            m.outbox_waiting.set(outbox);
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "metrics: database counts failed"),
        Err(_) => tracing::warn!("metrics: database counts timed out"),
    }
    match m.encode() {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            body,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// A sign-in's outcome label for a result.
pub fn outcome<T>(result: &app::ssr::Outcome<T>) -> &'static str {
    match result {
        Ok(_) => "success",
        Err(e) => refusal(e),
    }
}

/// A refused (or failed) sign-in's outcome label.
pub fn refusal(e: &app::ssr::Fail) -> &'static str {
    use app::{ssr::Fail, AppError};
    match e {
        Fail::Refused(AppError::BadCredentials) => "bad_credentials",
        Fail::Refused(AppError::Throttled { .. }) => "throttled",
        Fail::Refused(AppError::Busy { .. }) => "busy",
        Fail::Refused(_) => "refused",
        Fail::Internal(_) => "error",
    }
}
