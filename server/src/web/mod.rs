//! The HTTP surface: Leptos pages and server functions, health checks, static files, and
//! the middleware every request passes, one module per concern, composed in one place
//! ([`with_middleware`], where the order is written down). Every cookie the portal sets
//! is in [`cookies`].

pub mod access;
pub mod body_limit;
pub mod cookies;
pub mod csrf;
pub mod forms;
pub mod headers;
pub mod request_id;
pub mod session;
pub mod site;

use crate::state::AppState;
use app::{
    api::{
        AccountAdministration, Authentication, Mfa, Passkeys, PeopleAdministration, Profile,
        Recovery,
    },
    ssr::{RequestInfo, UserCtx},
};
use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::{self},
    response::{IntoResponse, Redirect, Response},
    routing::get,
    Router,
};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, handle_server_fns_with_context, LeptosRoutes};
use std::{net::SocketAddr, sync::Arc, time::Duration};

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

    let router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/sso/callback", get(sso_callback))
        .route(
            "/accounts/{account_id}/settings/sso/verify",
            axum::routing::post(forms::verify_domain_form),
        )
        .route(
            app::format::PASSKEY_FORM_PATH,
            axum::routing::post(forms::passkeys_form),
        )
        .route(
            "/accounts/{account_id}/settings/members/action",
            axum::routing::post(forms::members_form),
        )
        .route(
            "/accounts/{account_id}/settings/groups/action",
            axum::routing::post(forms::groups_form),
        )
        .route("/accounts/{account_id}/settings/audit/csv", get(audit_csv))
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
        .nest_service("/pkg", client_files(&state, "no-cache"));
    // Any other address: one of the site's files (icons, manifest, offline page), else
    // the app's "not found" page.
    let router = match &state.config.site {
        site::Site::Folder(_) => router.fallback(
            leptos_axum::file_and_error_handler::<AppState, _>(app::shell),
        ),
        site::Site::Embedded => router.fallback(embedded_or_not_found),
    };
    with_middleware(router, &state).with_state(state)
}

/// The server's implementation of each feature's operations, as server functions find
/// them in context (one `AppState` behind every trait).
#[derive(Clone)]
struct Features {
    auth: Arc<dyn Authentication>,
    profile: Arc<dyn Profile>,
    mfa: Arc<dyn Mfa>,
    accounts: Arc<dyn AccountAdministration>,
    recovery: Arc<dyn Recovery>,
    people: Arc<dyn PeopleAdministration>,
    passkeys: Arc<dyn Passkeys>,
    failures: app::ssr::InternalFailures,
}

impl Features {
    fn new(state: &AppState) -> Self {
        let shared = Arc::new(state.clone());
        Self {
            auth: shared.clone(),
            profile: shared.clone(),
            mfa: shared.clone(),
            accounts: shared.clone(),
            recovery: shared.clone(),
            people: shared.clone(),
            passkeys: shared,
            failures: {
                let metrics = state.metrics.clone();
                app::ssr::InternalFailures(Arc::new(move |e| metrics.internal_failure(e)))
            },
        }
    }

    fn provide(&self) {
        provide_context(self.auth.clone());
        provide_context(self.profile.clone());
        provide_context(self.mfa.clone());
        provide_context(self.accounts.clone());
        provide_context(self.recovery.clone());
        provide_context(self.people.clone());
        provide_context(self.passkeys.clone());
        provide_context(self.failures.clone());
    }
}

/// The middleware every request passes, outermost first. The order matters:
/// 1. `request_id`: the id (for every log line and error reference) and the access log;
/// 2. `headers`: security headers and no-store on every response, refusals included;
/// 3. `csrf`: a state change from another site is refused before anything else runs;
/// 4. `session`: the session and request information (static files skip it);
/// 5. `access`: sign-in redirects and each account's gate (MFA policy, directories);
/// 6. `body_limit`: bodies over 64 KiB are refused before a handler reads them.
fn with_middleware(router: Router<AppState>, state: &AppState) -> Router<AppState> {
    // Each `layer` wraps everything before it, so the list reads innermost first.
    router
        .layer(middleware::from_fn(body_limit::layer))
        .layer(middleware::from_fn_with_state(state.clone(), access::layer))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            session::layer,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), csrf::layer))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            headers::layer,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            request_id::layer,
        ))
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
    // Shutting down: the load balancer takes this replica out while requests finish.
    if state.draining.load(std::sync::atomic::Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    }
    if state.db.ping().await {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
    }
}

/// The built client files (the site's `pkg/`), precompressed copies preferred, with the
/// given caching for files found (a "not found" is never cached).
fn client_files(
    state: &AppState,
    cache_control: &'static str,
) -> tower::util::BoxCloneSyncService<Request, Response, std::convert::Infallible> {
    let folder =
        match state.config.site.folder() {
            Some(folder) => folder.join("pkg"),
            None => {
                // The binary's own copy: `/…/portal.wasm` is its `pkg/portal.wasm`.
                return tower::util::BoxCloneSyncService::new(tower::service_fn(
                    move |req: Request| async move {
                        let path = format!("pkg/{}", req.uri().path().trim_start_matches('/'));
                        let readable = matches!(
                            *req.method(),
                            axum::http::Method::GET | axum::http::Method::HEAD
                        );
                        if !readable {
                            return Ok(StatusCode::METHOD_NOT_ALLOWED.into_response());
                        }
                        Ok(site::embedded_response(&path, req.headers(), cache_control)
                            .unwrap_or_else(|| {
                                (
                                    StatusCode::NOT_FOUND,
                                    [(header::CACHE_CONTROL, "no-store")],
                                    "not found",
                                )
                                    .into_response()
                            }))
                    },
                ));
            }
        };
    let files = tower_http::services::ServeDir::new(folder)
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

/// The fallback of a binary that carries its site: one of the site's files (revalidated
/// each time), else the app's "not found" page.
async fn embedded_or_not_found(State(state): State<AppState>, req: Request) -> Response {
    let path = req.uri().path().trim_start_matches('/').to_string();
    if req.method() == axum::http::Method::GET || req.method() == axum::http::Method::HEAD {
        if let Some(r) = site::embedded_response(&path, req.headers(), "no-cache") {
            return r;
        }
    }
    let options = state.leptos.clone();
    let render = leptos_axum::render_app_to_stream_in_order_with_context(
        move || provide_context(state.clone()),
        move || app::shell(options.clone()),
    );
    let mut r = render(req).await.into_response();
    if r.status() == StatusCode::OK {
        *r.status_mut() = StatusCode::NOT_FOUND;
    }
    r
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

/// "Download CSV" of the audit log: the rows the page's filter matches.
async fn audit_csv(
    State(state): State<AppState>,
    axum::Extension(info): axum::Extension<RequestInfo>,
    axum::extract::Path(account_id): axum::extract::Path<app::models::AccountId>,
    axum::extract::Query(q): axum::extract::Query<AuditCsvQuery>,
) -> Response {
    use app::api::PeopleAdministration;
    let filter = app::api::AuditFilter {
        action: q.action.unwrap_or_default(),
        person: q.person.unwrap_or_default(),
        from: q.from.unwrap_or_default(),
        until: q.until.unwrap_or_default(),
    };
    let result = match UserCtx::new(info) {
        Ok(user) => {
            let id = user.req.request_id.clone();
            state
                .account_audit_csv(&user, account_id, filter)
                .await
                .map_err(|e| e.into_app_error(&id))
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(csv) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"audit-log-account-{account_id}.csv\""),
                ),
            ],
            csv,
        )
            .into_response(),
        Err(app::AppError::Unauthenticated) => Redirect::to("/login").into_response(),
        Err(e) => (e.status(), e.to_string()).into_response(),
    }
}

#[derive(serde::Deserialize)]
struct AuditCsvQuery {
    action: Option<String>,
    person: Option<String>,
    from: Option<String>,
    until: Option<String>,
}

/// What the first layer learned about the request, for the layers after it.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    /// A static file (`/pkg/…`, `/assets/…`, icons, manifest): no session, cacheable.
    pub static_file: bool,
}

impl Ctx {
    fn of(path: &str) -> Self {
        Self {
            static_file: is_static(path),
        }
    }
}

/// Static files are recognised by their prefix or a file extension in the last path
/// segment; they need no session.
pub(crate) fn is_static(path: &str) -> bool {
    path.starts_with("/pkg/")
        || path.starts_with("/assets/")
        || path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.'))
}

/// A short plain-text answer (refusals and failures of the middleware).
fn plain(status: StatusCode, message: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message,
    )
        .into_response()
}

/// Binds and serves until Ctrl-C or SIGTERM.
pub async fn serve(state: AppState) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(state.config.listen).await?;
    let metrics = match state.config.metrics_listen {
        Some(addr) => Some(tokio::net::TcpListener::bind(addr).await?),
        None => None,
    };
    serve_on(state, listener, metrics, shutdown_signal()).await
}

/// Serves on `listener` (and the metrics on `metrics`) until `shutdown` completes, then
/// stops in order: `/readyz` answers 503 at once, no new connection is taken, requests
/// in flight finish (within `--shutdown-timeout`), the background work finishes its
/// round and stops, and this returns.
pub async fn serve_on(
    state: AppState,
    listener: tokio::net::TcpListener,
    metrics: Option<tokio::net::TcpListener>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listen = listener.local_addr()?;
    let timeout = state.config.shutdown_timeout;
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    // TCP_NODELAY: a page streams in several small writes; with Nagle's algorithm and the
    // client's delayed ACK, each page waited ~40 ms (measured by scripts/bench.sh).
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    // Only once the address is ours: a start that fails to bind does no work.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut background = vec![
        tokio::spawn(every(Duration::from_secs(2), stopped.clone(), {
            let state = state.clone();
            move || {
                let state = state.clone();
                async move {
                    if let Err(e) = crate::mail::deliver_due(&state).await {
                        tracing::warn!(error = %e, "mail delivery round failed");
                    }
                }
            }
        })),
        tokio::spawn(every(Duration::from_secs(60), stopped.clone(), {
            let state = state.clone();
            move || {
                let state = state.clone();
                async move {
                    if let Err(e) = crate::policy_notices::send_due(&state).await {
                        let e = e.into_app_error("policy-notices");
                        tracing::warn!(error = %e, "MFA policy notice round failed");
                    }
                }
            }
        })),
        tokio::spawn(every(Duration::from_secs(3600), stopped.clone(), {
            let state = state.clone();
            move || {
                let state = state.clone();
                async move { purge_history(&state).await }
            }
        })),
    ];
    if let Some(metrics) = metrics {
        let addr = metrics.local_addr()?;
        let mut stopped = stopped.clone();
        let app = crate::metrics::router(state.clone());
        tracing::info!(%addr, "metrics listening");
        background.push(tokio::spawn(async move {
            let until = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            if let Err(e) = axum::serve(metrics, app)
                .with_graceful_shutdown(until)
                .await
            {
                tracing::warn!(error = %e, "metrics listener failed");
            }
        }));
    }
    tracing::info!(%listen, "Connect Portal listening");
    let (began, begun) = tokio::sync::oneshot::channel::<()>();
    let draining = state.draining.clone();
    // One deadline for the whole shutdown, from the signal (after the shutdown delay).
    let signalled = Arc::new(std::sync::OnceLock::<tokio::time::Instant>::new());
    let signalled_at = signalled.clone();
    let delay = state.config.shutdown_delay;
    let signal = async move {
        shutdown.await;
        draining.store(true, std::sync::atomic::Ordering::SeqCst);
        if !delay.is_zero() {
            // Not ready, still serving: the load balancer notices and stops sending.
            tracing::info!(
                delay_ms = delay.as_millis() as u64,
                "shutting down: not ready, still accepting for the shutdown delay"
            );
            tokio::time::sleep(delay).await;
        }
        let _ = signalled_at.set(tokio::time::Instant::now());
        tracing::info!("shutting down: finishing the requests in flight");
        let _ = began.send(());
    };
    let server = std::future::IntoFuture::into_future(
        axum::serve(listener, app).with_graceful_shutdown(signal),
    );
    let deadline = async move {
        if begun.await.is_err() {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(timeout).await;
    };
    let result = tokio::select! {
        r = server => r,
        () = deadline => {
            tracing::warn!(timeout_secs = timeout.as_secs(), "requests still in flight at the shutdown timeout: stopping");
            Ok(())
        }
    };
    // The background rounds finish what they started (a mail being sent, a purge), then
    // stop; within what is left of the same deadline.
    let _ = stop.send(true);
    let end = signalled
        .get()
        .map_or_else(|| tokio::time::Instant::now() + timeout, |at| *at + timeout);
    for task in background {
        if tokio::time::timeout_at(end, task).await.is_err() {
            tracing::warn!("background work did not stop in time");
        }
    }
    tracing::info!("stopped");
    result
}

/// Runs `round` at once and then every `period`, until `stop` turns true (a round that
/// has started finishes first).
async fn every<F, Fut>(period: Duration, mut stop: tokio::sync::watch::Receiver<bool>, round: F)
where
    F: Fn() -> Fut + Send,
    Fut: std::future::Future<Output = ()> + Send,
{
    let mut ticks = tokio::time::interval(period);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            // Stopped (or the server is gone).
            _ = stop.changed() => return,
        }
        round().await;
        if *stop.borrow() {
            return;
        }
    }
}

/// Keeps session and security-event history within the retention period.
async fn purge_history(state: &AppState) {
    match crate::profile::purge_history(state).await {
        Ok((sessions, events)) if sessions + events > 0 => {
            tracing::info!(sessions, events, "purged history past the retention period")
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "history purge failed"),
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
