//! The seam between the UI crate and the server. Each feature's server functions (in
//! [`crate::api`]) reach the server's logic through that feature's trait (`Authentication`,
//! `Profile`, `Mfa`, `AccountAdministration`), which the server implements in its feature
//! module and provides as context. The `app` crate therefore never links sqlx, argon2 or
//! other server-only crates. This module holds what every feature shares: the request
//! information, the signed-in person's [`UserCtx`], the error type [`Fail`] and [`run`].

use crate::error::AppError;
use std::sync::Arc;

/// What the server's request middleware learned about the current request. It is put in
/// the request's extensions before any page or server function runs.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    /// Short random id, logged with every error and shown to the person.
    pub request_id: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The resolved, still-valid session, if the request carried one.
    pub session: Option<SessionRef>,
    /// The pending sign-in token (password done, code still needed), if any.
    pub pending: Option<PendingToken>,
    /// This browser's device cookie, if it has one (a sign-in from a new device is
    /// announced to the person).
    pub device: Option<PendingToken>,
    /// What a plain form's action answered, for the page it sent the browser back to
    /// (`?error=…` naming this browser's short-lived flash cookie; see the server's
    /// `web::forms`). A link alone cannot put words on a page.
    pub flash: Option<String>,
}

/// The token of a pending sign-in, as sent by the browser. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct PendingToken(pub String);

impl std::fmt::Debug for PendingToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PendingToken([redacted])")
    }
}

/// A valid session as resolved by the middleware (one indexed query per request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionRef {
    pub session_id: i64,
    pub user_id: i64,
    /// The account active in this session (not yet checked against memberships).
    pub active_account_id: Option<i64>,
    /// The account whose directory authenticated this session (single sign-on): its
    /// portal MFA policy yields to the directory.
    pub sso_account_id: Option<i64>,
    /// The person's own portal sign-in was checked in this session (their password or one
    /// of their passkeys, at sign-in or by a step-up). Without it, a directory's session
    /// works only in its own account.
    pub password_verified: bool,
    /// A second factor (authentication code, recovery code or passkey) was checked in
    /// this session.
    pub mfa_verified: bool,
    /// One of the person's passkeys was checked in this session (phishing-resistant).
    pub passkey_verified: bool,
}

/// The signed-in person's request: built once per server function call from the request
/// information, and only when it carries a valid session. Every per-person operation
/// takes one, so none can run for a request without a session.
#[derive(Debug, Clone)]
pub struct UserCtx {
    pub req: RequestInfo,
    pub session: SessionRef,
}

impl UserCtx {
    /// [`AppError::Unauthenticated`] without a session.
    pub fn new(req: RequestInfo) -> Result<Self, AppError> {
        let session = req.session.ok_or(AppError::Unauthenticated)?;
        Ok(Self { req, session })
    }

    pub fn user_id(&self) -> i64 {
        self.session.user_id
    }
}

/// Why a server operation did not complete: an answer for the person ([`AppError`]), or
/// an internal failure whose details stay in the server log. Any error converts into it
/// with `?` (an [`AppError`] stays itself), and [`run`] turns it into the person's answer
/// in one place: the one error helper of the server.
#[derive(Debug)]
pub enum Fail {
    Refused(AppError),
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for Fail {
    fn from(e: E) -> Self {
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(e);
        match boxed.downcast::<AppError>() {
            Ok(app) => Fail::Refused(*app),
            Err(other) => Fail::Internal(other),
        }
    }
}

impl Fail {
    /// An internal failure described by a message (never shown to the person).
    pub fn internal(message: impl Into<String>) -> Self {
        Fail::Internal(message.into().into())
    }

    /// The person's answer: internal failures are logged with the request id and become
    /// [`AppError::Internal`] carrying only that id.
    pub fn into_app_error(self, request_id: &str) -> AppError {
        match self {
            Fail::Refused(e) => e,
            Fail::Internal(err) => {
                if let Some(count) = leptos::prelude::use_context::<InternalFailures>() {
                    (count.0)(err.as_ref());
                }
                tracing::error!(request_id = %request_id, error = %err, "request failed");
                AppError::Internal {
                    request_id: request_id.to_string(),
                }
            }
        }
    }
}

/// Counts internal failures for the metrics (the server tells database errors from the
/// rest); the server provides it in the context of every server function.
#[derive(Clone)]
pub struct InternalFailures(pub Arc<dyn Fn(&InternalError) + Send + Sync>);

/// An internal failure's error, as [`Fail::Internal`] holds it.
pub type InternalError = dyn std::error::Error + Send + Sync + 'static;

/// What a server operation returns.
pub type Outcome<T> = Result<T, Fail>;

/// The request information of the current server function call.
fn request_info() -> Result<RequestInfo, AppError> {
    use leptos::prelude::use_context;
    use_context::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<RequestInfo>().cloned())
        .ok_or_else(|| {
            tracing::error!("server function called without request info in context");
            AppError::Internal {
                request_id: "unavailable".into(),
            }
        })
}

/// The server's implementation of a feature's operations (`S` is the feature's trait,
/// e.g. `dyn Profile`), as the server provided it in context.
fn feature<S: ?Sized + Send + Sync + 'static>(req: &RequestInfo) -> Result<Arc<S>, AppError> {
    leptos::prelude::use_context::<Arc<S>>().ok_or_else(|| {
        tracing::error!(request_id = %req.request_id, feature = std::any::type_name::<S>(), "server function called without its feature in context");
        AppError::Internal {
            request_id: req.request_id.clone(),
        }
    })
}

/// Adds a `Set-Cookie` header to the current server function's response.
pub fn append_set_cookie(req: &RequestInfo, cookie: &str) -> Outcome<()> {
    use leptos::prelude::use_context;
    let response = use_context::<leptos_axum::ResponseOptions>()
        .ok_or_else(|| Fail::internal("no response options in context"))?;
    let value = http::HeaderValue::from_str(cookie).map_err(|_| {
        Fail::internal(format!(
            "cookie header not valid ({} request)",
            req.request_id
        ))
    })?;
    response.append_header(http::header::SET_COOKIE, value);
    Ok(())
}

impl AppError {
    /// The HTTP status a server function answers this error with.
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode as S;
        match self {
            AppError::Unauthenticated | AppError::BadCredentials => S::UNAUTHORIZED,
            AppError::Throttled { .. } | AppError::Busy { .. } => S::TOO_MANY_REQUESTS,
            AppError::Forbidden | AppError::StepUpRequired { .. } => S::FORBIDDEN,
            AppError::Invalid(_) => S::UNPROCESSABLE_ENTITY,
            AppError::Internal { .. } => S::INTERNAL_SERVER_ERROR,
            AppError::Transport => S::BAD_GATEWAY,
        }
    }
}

/// Runs a server function's body with the feature `S` and the request information, and
/// gives an error its proper HTTP status (401, 403, 422, 429 with `Retry-After`, 500).
pub async fn run<S, T, F, Fut>(body: F) -> Result<T, AppError>
where
    S: ?Sized + Send + Sync + 'static,
    F: FnOnce(Arc<S>, RequestInfo) -> Fut,
    Fut: std::future::Future<Output = Outcome<T>>,
{
    let result = match request_info() {
        Ok(req) => {
            let id = req.request_id.clone();
            match feature::<S>(&req) {
                Ok(f) => body(f, req).await.map_err(|e| e.into_app_error(&id)),
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    };
    set_status(&result);
    result
}

/// [`run`] for the signed-in person: the body gets their [`UserCtx`]; without a session
/// the call answers [`AppError::Unauthenticated`].
pub async fn run_user<S, T, F, Fut>(body: F) -> Result<T, AppError>
where
    S: ?Sized + Send + Sync + 'static,
    F: FnOnce(Arc<S>, UserCtx) -> Fut,
    Fut: std::future::Future<Output = Outcome<T>>,
{
    run::<S, T, _, _>(|feature, req| async move { body(feature, UserCtx::new(req)?).await }).await
}

fn set_status<T>(result: &Result<T, AppError>) {
    use leptos::prelude::use_context;
    if let (Err(e), Some(response)) = (result, use_context::<leptos_axum::ResponseOptions>()) {
        response.set_status(e.status());
        if let AppError::Throttled { retry_after_secs } | AppError::Busy { retry_after_secs } = e {
            if let Ok(v) = http::HeaderValue::from_str(&retry_after_secs.to_string()) {
                response.insert_header(http::header::RETRY_AFTER, v);
            }
        }
    }
}
