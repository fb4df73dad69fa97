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
    pub leptos: LeptosOptions,
    /// Talks to OpenID Providers (bounded time, no silent redirects).
    pub http: reqwest::Client,
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

impl AppState {
    /// Production wiring: system clock, OS randomness, OWASP argon2id parameters.
    pub fn new(db: Db, config: Config, secret_key: SecretKey) -> Result<Self, HashError> {
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
    ) -> Result<Self, HashError> {
        let passwords = Passwords::new(rng.clone(), params)?;
        let leptos = LeptosOptions::builder()
            .output_name("portal")
            .site_root(config.site_root.to_string_lossy().to_string())
            .site_pkg_dir("pkg")
            .site_addr(config.listen)
            .build();
        Ok(Self {
            db,
            config: Arc::new(config),
            clock,
            rng,
            passwords,
            secret_key,
            leptos,
            http: crate::oidc::http_client(),
        })
    }

    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }
}
