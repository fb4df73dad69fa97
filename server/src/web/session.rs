//! Who is asking: resolves the session cookie (one indexed query) and puts the request
//! information (request id, client address, user agent, session, pending sign-in) in the
//! request's extensions for the page and server functions. Static files skip it. A
//! lookup that fails answers 503: no request runs with an unknown session state.

use super::{
    cookies, plain,
    request_id::{LoggedUser, RequestId},
    Ctx,
};
use crate::state::AppState;
use app::ssr::{PendingToken, RequestInfo};
use axum::{
    extract::{ConnectInfo, Request, State},
    http::{header, StatusCode},
    middleware::Next,
    response::Response,
};
use std::net::SocketAddr;

pub async fn layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if req.extensions().get::<Ctx>().is_some_and(|c| c.static_file) {
        return next.run(req).await;
    }
    let id = RequestId::of(&req);
    let session = match cookies::token_from_headers(&state.config, req.headers()) {
        Some(token) => {
            let resolved = match state.db.acquire().await {
                Ok(mut conn) => {
                    crate::db::sessions::resolve(&mut conn, &state.config, &token, state.now())
                        .await
                }
                Err(e) => Err(e),
            };
            match resolved {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(request_id = %id, error = %e, "session lookup failed");
                    return plain(
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("The portal is temporarily unavailable. Please try again (reference {id})."),
                    );
                }
            }
        }
        None => None,
    };
    // A plain form's answer (see `forms`): only with the key in the address.
    let flash = req
        .uri()
        .query()
        .and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == super::forms::ERROR_PARAM)
                .map(|(_, v)| v.into_owned())
        })
        .and_then(|key| cookies::flash_from_headers(&state.config, req.headers(), &key));
    let shown = flash.is_some();
    if let (Some(s), Some(logged)) = (&session, req.extensions().get::<LoggedUser>()) {
        logged.set(s.user_id);
    }
    let info = RequestInfo {
        request_id: id,
        ip: client_ip(&state, &req),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        pending: cookies::pending_from_headers(&state.config, req.headers()).map(PendingToken),
        device: cookies::device_from_headers(&state.config, req.headers()).map(PendingToken),
        session,
        flash,
    };
    req.extensions_mut().insert(info);
    let mut response = next.run(req).await;
    if shown {
        // Said once: a reload of the page does not say it again.
        if let Ok(v) = header::HeaderValue::from_str(&cookies::clear_flash_cookie(&state.config)) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// The client's address: the socket peer or, behind trusted proxies, the address the
/// outermost trusted proxy saw: `hops` entries from the right of `X-Forwarded-For` (each
/// proxy appends the address it received from; everything further left was written by
/// the client and proves nothing).
fn client_ip(state: &AppState, req: &Request) -> Option<String> {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string());
    if !state.config.trust_forwarded_for {
        return peer;
    }
    let entries: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    forwarded_client(&entries, state.config.trusted_proxy_hops).or(peer)
}

/// The entry `hops` from the right, if it is an IP address.
fn forwarded_client(entries: &[&str], hops: usize) -> Option<String> {
    let i = entries.len().checked_sub(hops)?;
    entries
        .get(i)
        .and_then(|v| v.parse::<std::net::IpAddr>().ok())
        .map(|ip| ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_what_the_trusted_proxy_saw() {
        // The client wrote "6.6.6.6" itself; the one proxy appended the real peer.
        let entries = ["6.6.6.6", "203.0.113.9"];
        assert_eq!(
            forwarded_client(&entries, 1).as_deref(),
            Some("203.0.113.9")
        );
        // Two proxies: the outer one's entry is second from the right.
        let entries = ["6.6.6.6", "203.0.113.9", "10.0.0.2"];
        assert_eq!(
            forwarded_client(&entries, 2).as_deref(),
            Some("203.0.113.9")
        );
        // Fewer entries than proxies, or garbage: not trusted.
        assert_eq!(forwarded_client(&["203.0.113.9"], 2), None);
        assert_eq!(forwarded_client(&["not-an-ip"], 1), None);
    }
}
