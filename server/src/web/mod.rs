//! The HTTP surface: Leptos pages and server functions, health checks, static files, and
//! the middleware every request passes (request id, session, CSRF, security headers).

use crate::state::AppState;
use app::{
    api::{AccountAdministration, Authentication, Mfa, Profile},
    ssr::{PendingToken, RequestInfo, UserCtx},
};
use axum::{
    extract::{ConnectInfo, Request, State},
    http::{header, HeaderValue, Method, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Redirect, Response},
    routing::get,
    Router,
};
use leptos::prelude::provide_context;

pub mod cookies;
use leptos_axum::{generate_route_list, handle_server_fns_with_context, LeptosRoutes};
use std::{net::SocketAddr, sync::Arc, time::Instant};

/// Builds the whole application router.
pub fn router(state: AppState) -> Router {
    let features = Features::new(&state);
    let routes = route_list();
    let options = state.leptos.clone();
    let assets = state.assets_path();
    let sw = Arc::new(service_worker(&state.asset_version, &assets));

    let api_features = features.clone();
    let server_fns = move |req: Request| {
        let features = api_features.clone();
        async move { handle_server_fns_with_context(move || features.provide(), req).await }
    };

    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/sso/callback", get(sso_callback))
        .route(
            "/accounts/{account_id}/settings/sso/verify",
            axum::routing::post(verify_domain_form),
        )
        .route(
            "/sw.js",
            get(move || {
                let sw = sw.clone();
                async move {
                    (
                        [
                            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                            // Revalidated every time, so a new build is noticed at once.
                            (header::CACHE_CONTROL, "no-cache"),
                        ],
                        sw.as_str().to_owned(),
                    )
                }
            }),
        )
        .route("/api/{*fn_name}", get(server_fns.clone()).post(server_fns))
        .leptos_routes_with_context(
            &state,
            routes,
            move || features.provide(),
            move || app::shell(options.clone()),
        )
        // The client bundle under its content hash (pages link it there): immutable, so
        // browsers keep it until the next build changes the address. Brotli or gzip copies
        // written by scripts/payload.mjs go to browsers that accept them. An address of
        // another build is not found here (a replica still on that build serves it).
        .nest_service(
            &assets,
            client_files(&state, "public, max-age=31536000, immutable"),
        )
        // The same files by their plain names, for the offline page and tools: revalidated.
        .nest_service("/pkg", client_files(&state, "no-cache"))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            app::shell,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            request_context,
        ))
        .with_state(state)
}

/// The server's implementation of each feature's operations, as server functions find
/// them in context (one `AppState` behind every trait).
#[derive(Clone)]
struct Features {
    auth: Arc<dyn Authentication>,
    profile: Arc<dyn Profile>,
    mfa: Arc<dyn Mfa>,
    accounts: Arc<dyn AccountAdministration>,
}

impl Features {
    fn new(state: &AppState) -> Self {
        let shared = Arc::new(state.clone());
        Self {
            auth: shared.clone(),
            profile: shared.clone(),
            mfa: shared.clone(),
            accounts: shared,
        }
    }

    fn provide(&self) {
        provide_context(self.auth.clone());
        provide_context(self.profile.clone());
        provide_context(self.mfa.clone());
        provide_context(self.accounts.clone());
    }
}

/// The app's routes, generated once per process. Generating them renders the app with
/// resource loading suppressed by a process-wide flag (leptos_server), so doing it again
/// while another router renders pages could leave a resource pending forever.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(app::App)).clone()
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.db.ping().await {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
    }
}

/// The built client files (`target/site/pkg`), precompressed copies preferred, with the
/// given caching for files found (a "not found" is never cached).
fn client_files(
    state: &AppState,
    cache_control: &'static str,
) -> tower::util::BoxCloneSyncService<Request, Response, std::convert::Infallible> {
    let files = tower_http::services::ServeDir::new(state.config.site_root.join("pkg"))
        .precompressed_br()
        .precompressed_gzip();
    tower::util::BoxCloneSyncService::new(tower::ServiceExt::<Request>::map_response(
        files,
        move |r| {
            let mut r = r.into_response();
            let caching = if r.status().is_success() || r.status() == StatusCode::NOT_MODIFIED {
                cache_control
            } else {
                "no-store"
            };
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static(caching));
            r
        },
    ))
}

/// The service worker, stamped with the build's asset version: each build gets new cache
/// names and its own asset addresses, and the browser sees an update.
fn service_worker(version: &str, assets: &str) -> String {
    format!(
        "const VERSION = \"{version}\";\nconst ASSETS = \"{assets}\";\n{}",
        include_str!("sw.js")
    )
}

/// The provider sends the person back here after signing in at their directory.
async fn sso_callback(
    State(state): State<AppState>,
    axum::Extension(info): axum::Extension<RequestInfo>,
    axum::extract::Query(callback): axum::extract::Query<crate::sso_flow::Callback>,
    headers: axum::http::HeaderMap,
) -> Response {
    let cookie = crate::web::cookies::sso_state_from_headers(&state.config, &headers);
    let (cookies, target) = match state.finish_sso(&info, callback, cookie).await {
        Ok(done) => done,
        Err(failure) => (
            vec![crate::web::cookies::clear_sso_state_cookie(&state.config)],
            format!("/login?sso_error={}", failure.code()),
        ),
    };
    let mut response = Redirect::to(&target).into_response();
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(&c) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// "Verify" on the single sign-on page, a plain form: proves the domain (administrators
/// only, as every account operation) and loads the page again saying what happened.
async fn verify_domain_form(
    State(state): State<AppState>,
    axum::Extension(info): axum::Extension<RequestInfo>,
    axum::extract::Path(account_id): axum::extract::Path<i64>,
    axum::extract::Form(form): axum::extract::Form<VerifyForm>,
) -> Response {
    let domain: String =
        url::form_urlencoded::byte_serialize(form.domain.trim().to_ascii_lowercase().as_bytes())
            .collect();
    let page = format!("/accounts/{account_id}/settings/sso");
    let result = match UserCtx::new(info) {
        Ok(user) => {
            let id = user.req.request_id.clone();
            state
                .verify_sso_domain(&user, app::models::AccountId(account_id), &form.domain)
                .await
                .map_err(|e| e.into_app_error(&id))
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Redirect::to(&format!("{page}?done=domain-{domain}")).into_response(),
        Err(app::AppError::Invalid(_)) => {
            Redirect::to(&format!("{page}?verify_failed={domain}")).into_response()
        }
        Err(app::AppError::StepUpRequired { .. }) => {
            Redirect::to(&app::format::step_up_href(&page)).into_response()
        }
        Err(app::AppError::Unauthenticated) => Redirect::to("/login").into_response(),
        Err(e) => (e.status(), e.to_string()).into_response(),
    }
}

#[derive(serde::Deserialize)]
struct VerifyForm {
    domain: String,
}

/// Static files (`/pkg/…`, icons, manifest) are recognised by a file extension in the
/// last path segment; they need no session.
fn is_static(path: &str) -> bool {
    path.starts_with("/pkg/")
        || path.starts_with("/assets/")
        || path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.'))
}

fn is_public_page(path: &str) -> bool {
    matches!(
        path,
        "/login" | "/login/code" | "/sso/callback" | "/healthz" | "/readyz"
    )
}

/// The account a page belongs to: `/accounts/{id}/…` names it; the home page shows the
/// active account. Profile pages are the person's own and belong to no account.
fn account_page(path: &str, active: Option<i64>) -> Option<i64> {
    if let Some(rest) = path.strip_prefix("/accounts/") {
        return rest.split('/').next().and_then(|id| id.parse().ok());
    }
    (path == "/").then_some(active).flatten()
}

fn request_id(state: &AppState) -> String {
    crate::env::random_hex(state.rng.as_ref(), 8)
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

/// The largest request body accepted (server functions take small forms). Larger bodies
/// are answered 413 before any handler runs.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// CSRF defence for state-changing requests, on top of SameSite cookies: the browser's
/// `Sec-Fetch-Site` must say same-origin, or (older browsers) the `Origin` must be the
/// public origin. A request with neither is refused.
fn csrf_allowed(state: &AppState, req: &Request) -> bool {
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

fn plain(status: StatusCode, message: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message,
    )
        .into_response()
}

/// The middleware every request passes.
async fn request_context(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(&state);
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let static_file = is_static(&path);

    let mut response = if !csrf_allowed(&state, &req) {
        tracing::warn!(request_id = %id, %method, %path, "cross-site request refused");
        plain(
            StatusCode::FORBIDDEN,
            format!("This request came from another site and was refused (reference {id})."),
        )
    } else if static_file {
        next.run(req).await
    } else {
        let session = match crate::web::cookies::token_from_headers(&state.config, req.headers()) {
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
                        let mut r = plain(
                            StatusCode::SERVICE_UNAVAILABLE,
                            format!("The portal is temporarily unavailable. Please try again (reference {id})."),
                        );
                        finish_headers(&state, &mut r, &id, false, true);
                        return r;
                    }
                }
            }
            None => None,
        };
        let info = RequestInfo {
            request_id: id.clone(),
            ip: client_ip(&state, &req),
            user_agent: req
                .headers()
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            pending: crate::web::cookies::pending_from_headers(&state.config, req.headers())
                .map(PendingToken),
            session,
        };
        let is_page = !path.starts_with("/api/") && !is_public_page(&path);
        let page_request = matches!(method, Method::GET | Method::HEAD);
        if page_request && is_page && session.is_none() {
            // Portal pages need a session: go to sign-in and come back afterwards.
            let next = req
                .uri()
                .path_and_query()
                .map(|pq| pq.as_str().to_string())
                .unwrap_or_else(|| "/".into());
            let target = if next == "/" {
                "/login".to_string()
            } else {
                format!(
                    "/login?next={}",
                    url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                )
            };
            Redirect::to(&target).into_response()
        } else if page_request && path.starts_with("/login") && session.is_some() {
            let next = req
                .uri()
                .query()
                .and_then(|q| {
                    url::form_urlencoded::parse(q.as_bytes())
                        .find(|(k, _)| k == "next")
                        .map(|(_, v)| v.into_owned())
                })
                .filter(|n| app::validation::safe_next_path(n).is_some())
                .unwrap_or_else(|| "/".into());
            Redirect::to(&next).into_response()
        } else {
            let here = req
                .uri()
                .path_and_query()
                .map_or("/", |pq| pq.as_str())
                .to_string();
            let gate = match (&info.session, page_request && is_page) {
                (Some(s), true) => match account_page(&path, s.active_account_id) {
                    Some(account) => async {
                        let mut conn = state.db.acquire().await?;
                        crate::policy::access(&mut conn, s, account, state.now()).await
                    }
                    .await
                    .map(|a| (account, a))
                    .map_err(|e| {
                        tracing::error!(request_id = %id, error = %e, "access check failed");
                    })
                    .ok(),
                    None => Some((0, crate::policy::Access::Allowed)),
                },
                _ => Some((0, crate::policy::Access::Allowed)),
            };
            match gate {
                // The check could not be made: fail closed.
                None => plain(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "The portal is temporarily unavailable. Please try again (reference {id})."
                    ),
                ),
                Some((_, crate::policy::Access::StepUp)) => {
                    Redirect::to(&app::format::step_up_href(&here)).into_response()
                }
                Some((account, crate::policy::Access::SetUpMfa)) => {
                    // The account requires MFA of this person: set it up first, then continue.
                    Redirect::to(&app::format::mfa_setup_href(account, &here)).into_response()
                }
                Some((_, crate::policy::Access::Allowed)) => match limit_body(req).await {
                    Ok(mut req) => {
                        req.extensions_mut().insert(info);
                        next.run(req).await
                    }
                    Err(too_large) => too_large,
                },
            }
        }
    };
    finish_headers(&state, &mut response, &id, static_file, !static_file);
    tracing::info!(
        request_id = %id,
        %method,
        %path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
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

fn finish_headers(state: &AppState, r: &mut Response, id: &str, static_file: bool, no_store: bool) {
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(id) {
        h.insert("x-request-id", v);
    }
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

/// Binds and serves until Ctrl-C or SIGTERM.
pub async fn serve(state: AppState) -> std::io::Result<()> {
    let listen = state.config.listen;
    let purge = state.clone();
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    // TCP_NODELAY: a page streams in several small writes; with Nagle's algorithm and the
    // client's delayed ACK, each page waited ~40 ms (measured by scripts/bench.sh).
    use axum::serve::ListenerExt;
    let listener = tokio::net::TcpListener::bind(listen).await?.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    // Only once the address is ours: a start that fails to bind does no work.
    tokio::spawn(purge_history_hourly(purge));
    tracing::info!(%listen, "Connect Portal listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
}

/// Keeps session and security-event history within the retention period.
async fn purge_history_hourly(state: AppState) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        every.tick().await;
        match crate::profile::purge_history(&state).await {
            Ok((sessions, events)) if sessions + events > 0 => {
                tracing::info!(sessions, events, "purged history past the retention period")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "history purge failed"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
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
