//! CSRF defence: a state-changing request from another site is refused before anything
//! else looks at it (on top of SameSite cookies).

use super::{plain, request_id::RequestId};
use crate::state::AppState;
use axum::{
    extract::{Request, State},
    http::{header, Method, StatusCode},
    middleware::Next,
    response::Response,
};

pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if allowed(&state, &req) {
        return next.run(req).await;
    }
    let id = RequestId::of(&req);
    tracing::warn!(request_id = %id, method = %req.method(), path = %req.uri().path(), "cross-site request refused");
    plain(
        StatusCode::FORBIDDEN,
        format!("This request came from another site and was refused (reference {id})."),
    )
}

/// CSRF defence for state-changing requests, on top of SameSite cookies: the browser's
/// `Sec-Fetch-Site` must say same-origin, or (older browsers) the `Origin` must be the
/// public origin. A request with neither is refused.
fn allowed(state: &AppState, req: &Request) -> bool {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin";
    }
    headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|origin| origin == state.config.public_origin)
}
