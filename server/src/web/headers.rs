//! Security headers on every response (no sniffing, no framing, same-origin referrers
//! and opener, a strict CSP unless the page set its own nonce-based one, HSTS over
//! https) and `Cache-Control: no-store` on everything personal (all but static files).

use super::Ctx;
use crate::state::AppState;
use axum::{
    extract::{Request, State},
    http::{header, HeaderValue},
    middleware::Next,
    response::Response,
};

pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let static_file = req.extensions().get::<Ctx>().is_some_and(|c| c.static_file);
    let mut response = next.run(req).await;
    apply(&state, &mut response, static_file);
    response
}

fn apply(state: &AppState, r: &mut Response, static_file: bool) {
    let no_store = !static_file;
    let h = r.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        let csp = if static_file {
            "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
        } else {
            "default-src 'none'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
        };
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp),
        );
    }
    if state.config.secure_cookies {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    if no_store {
        // Portal pages and server functions are personal: never cached, so the back
        // button after sign-out cannot show them.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}
