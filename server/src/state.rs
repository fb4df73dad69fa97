//! Everything a request needs, injected once at start (no globals): the database, the
//! configuration, the clock, the random source and the password hasher.

use crate::{
    config::Config,
    db::Db,
    env::{Clock, OsRandom, Random, SystemClock},
    passwords::{owasp_params, HashError, Passwords},
    secret_key::SecretKey,
};
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<dyn Random>,
    pub passwords: Passwords,
    /// Encrypts TOTP secrets at rest.
    pub secret_key: SecretKey,
    /// Leptos' options; its package directory is `assets/{asset_version}`, so pages name
    /// the client bundle by a content hash and browsers may cache it for good.
    pub leptos: LeptosOptions,
    /// A hash of the built client files (js, wasm, css) and the server's version.
    pub asset_version: Arc<str>,
    /// Talks to OpenID Providers (bounded time, no silent redirects, public addresses
    /// only unless allowed).
    pub http: reqwest::Client,
    /// Proves single sign-on domains (TXT records) and resolves providers' hosts.
    pub dns: crate::dns::Dns,
    /// Providers' discovery documents and keys, kept briefly.
    pub oidc_cache: crate::oidc::Cache,
    /// Delivers the outbox's mails (SMTP, or files without a mail server).
    pub mailer: crate::mail::Mailer,
    /// The WebAuthn relying party for the public URL (`None` at an IP address, where
    /// browsers refuse passkeys).
    pub webauthn: Option<Arc<webauthn_rs::Webauthn>>,
    /// What an operator scrapes (`--metrics-listen`).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Set at SIGTERM: `/readyz` answers 503 from then on, while requests in flight finish.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

/// Why the state could not be built (the server does not start).
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Hash(#[from] HashError),
    /// The outbound HTTP client (TLS set-up): without it the server would have to send
    /// requests with a client that skips the address checks, so it does not start.
    #[error("the outbound HTTP client could not be built: {0}")]
    Http(String),
    /// `--smtp-url` or `--mail-from` cannot be used.
    #[error("{0}")]
    Mail(String),
}

impl AppState {
    /// Production wiring: system clock, OS randomness, OWASP argon2id parameters.
    pub fn new(db: Db, config: Config, secret_key: SecretKey) -> Result<Self, StateError> {
        Self::with(
            db,
            config,
            Arc::new(SystemClock),
            Arc::new(OsRandom),
            owasp_params(),
            secret_key,
        )
    }

    /// Explicit wiring, for tests (a manual clock, cheaper hashing parameters).
    pub fn with(
        db: Db,
        config: Config,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Random>,
        params: argon2::Params,
        secret_key: SecretKey,
    ) -> Result<Self, StateError> {
        let metrics = Arc::new(crate::metrics::Metrics::new());
        let passwords = Passwords::new(rng.clone(), params)?.timed_by(metrics.hash_seconds.clone());
        let db = db.timed_by(metrics.db_wait_seconds.clone());
        let asset_version: Arc<str> = asset_version(&config.site).into();
        let dns = crate::dns::Dns::new(config.dns_server);
        let http = crate::oidc::http_client(crate::dns::GuardedResolver {
            dns: dns.clone(),
            allow_private: config.sso_allow_private_issuers,
        })
        .map_err(|e| StateError::Http(e.to_string()))?;
        let mailer = crate::mail::Mailer::new(
            config.smtp_url.as_ref(),
            &config.mail_from,
            config.data_dir.join("outbox-files"),
            config.mail_claim_timeout,
        )
        .map_err(StateError::Mail)?;
        let leptos = LeptosOptions::builder()
            .output_name("portal")
            .site_root(
                // Read only by leptos_axum's file handler, which serves a folder site
                // (crate::web::site).
                config.site.folder().map_or_else(
                    || "(embedded)".to_string(),
                    |f| f.to_string_lossy().to_string(),
                ),
            )
            .site_pkg_dir(format!("{ASSETS_PREFIX}/{asset_version}"))
            .site_addr(config.listen)
            .build();
        let webauthn = crate::passkeys::relying_party(&config.public_origin);
        let oidc_cache = crate::oidc::Cache::timed(metrics.sso_timing());
        Ok(Self {
            webauthn,
            metrics,
            draining: Arc::default(),
            db,
            config: Arc::new(config),
            clock,
            rng,
            passwords,
            secret_key,
            leptos,
            asset_version,
            http,
            dns,
            oidc_cache,
            mailer,
        })
    }

    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Where pages find this build's client bundle: `/assets/{asset_version}`.
    pub fn assets_path(&self) -> String {
        format!("/{}", self.leptos.site_pkg_dir)
    }
}

/// Where the content-addressed client bundle is served: `/assets/{version}/portal.wasm`.
pub const ASSETS_PREFIX: &str = "assets";

/// The client files, relative to the site root.
const CLIENT_FILES: [&str; 3] = ["pkg/portal.js", "pkg/portal.wasm", "pkg/portal.css"];

/// A short hash of the built client files and the server's version: a new build gets new
/// asset URLs and new service-worker cache names. Files that are missing (tests run without
/// a client build) simply do not contribute.
pub fn asset_version(site: &crate::web::site::Site) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION"));
    for f in CLIENT_FILES {
        if let Some(bytes) = site.read(f) {
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(&bytes);
        }
    }
    let mut version = hex::encode(h.finalize());
    version.truncate(16);
    version
}
