//! Request bodies are read up to [`MAX_BODY_BYTES`] before any handler runs; a larger
//! one is answered 413 (server functions take small forms).

use super::plain;
use axum::{
    extract::Request,
    http::{header, Method, StatusCode},
    middleware::Next,
    response::Response,
};

/// The largest request body accepted (server functions take small forms). Larger bodies
/// are answered 413 before any handler runs.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub async fn layer(req: Request, next: Next) -> Response {
    match limit_body(req).await {
        Ok(req) => next.run(req).await,
        Err(too_large) => too_large,
    }
}

/// Reads a request body up to [`MAX_BODY_BYTES`]; a larger one is answered 413.
async fn limit_body(req: Request) -> Result<Request, Response> {
    let too_large = || {
        plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "The request is too large (at most {} KiB).",
                MAX_BODY_BYTES / 1024
            ),
        )
    };
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(req);
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(too_large());
    }
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => Ok(Request::from_parts(parts, axum::body::Body::from(bytes))),
        Err(_) => Err(too_large()),
    }
}
