//! The first layer: every request gets a short random id, carried in the request's
//! extensions for the layers and handlers after it, sent back as `x-request-id`, and
//! logged with the outcome (the access log: method, path, route template, status, time
//! taken, and the signed-in person's user id, never their email) and counted in the
//! metrics (by route template).

use super::Ctx;
use crate::state::AppState;
use axum::{
    extract::{Request, State},
    http::HeaderValue,
    middleware::Next,
    response::Response,
};
use std::time::Instant;

/// The id of the current request (in the request's extensions).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Who the request's session belongs to, for the access log: the session layer, which
/// runs after this one, fills it in (0: nobody signed in).
#[derive(Debug, Clone, Default)]
pub struct LoggedUser(std::sync::Arc<std::sync::atomic::AtomicI64>);

impl LoggedUser {
    pub fn set(&self, user_id: i64) {
        self.0.store(user_id, std::sync::atomic::Ordering::Relaxed);
    }

    fn get(&self) -> Option<i64> {
        Some(self.0.load(std::sync::atomic::Ordering::Relaxed)).filter(|id| *id > 0)
    }
}

impl RequestId {
    /// The id the first layer gave `req` (empty before it ran).
    pub fn of(req: &Request) -> String {
        req.extensions()
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default()
    }
}

pub async fn layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = crate::env::random_hex(state.rng.as_ref(), 8);
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    req.extensions_mut().insert(RequestId(id.clone()));
    req.extensions_mut().insert(Ctx::of(&path));
    let user = LoggedUser::default();
    req.extensions_mut().insert(user.clone());
    // The route's template, for the metrics (never the raw path: it would carry ids).
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_string());
    let mut response = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    let status = response.status().as_u16();
    let route = state.metrics.route_label(route.as_deref(), &path);
    state.metrics.request(
        route,
        method.as_str(),
        status,
        started.elapsed().as_secs_f64(),
    );
    tracing::info!(
        request_id = %id,
        %method,
        %path,
        route,
        status = response.status().as_u16(),
        user_id = user.get(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}
