//! Page access: portal pages need a session (else sign-in, coming back afterwards), the
//! sign-in pages send a signed-in person on, and the pages of an account pass its gate
//! ([`crate::policy::access`]: a directory's session steps up outside its account; an
//! account that requires MFA sends a person without it to set it up). A gate that cannot
//! decide fails closed (503).

use super::{plain, Ctx};
use crate::{policy::Access, state::AppState};
use app::ssr::RequestInfo;
use axum::{
    extract::{Request, State},
    http::{Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};

pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // Runs after `request_id` and `session` (see `with_middleware`); without what they
    // learned, nothing is let through.
    let Some(ctx) = req.extensions().get::<Ctx>().copied() else {
        return misplaced();
    };
    if ctx.static_file {
        return next.run(req).await;
    }
    let Some(info) = req.extensions().get::<RequestInfo>().cloned() else {
        return misplaced();
    };
    let path = req.uri().path().to_string();
    let here = req
        .uri()
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_string();
    let page_request = matches!(*req.method(), Method::GET | Method::HEAD);
    let is_page = !path.starts_with("/api/") && !is_public_page(&path);
    if page_request && is_page && info.session.is_none() {
        // Portal pages need a session: go to sign-in and come back afterwards.
        return Redirect::to(&app::format::login_href(&here)).into_response();
    }
    if page_request && path.starts_with("/login") && info.session.is_some() {
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
        return Redirect::to(&next).into_response();
    }
    if let (Some(s), true) = (&info.session, page_request && is_page) {
        if let Some(account) = account_page(&path, s.active_account_id) {
            let gate = async {
                let mut conn = state.db.acquire().await?;
                crate::policy::access(&mut conn, s, account, state.now()).await
            }
            .await;
            match gate {
                Ok(Access::Allowed) => {}
                Ok(Access::StepUp) => {
                    return Redirect::to(&app::format::step_up_href(&here)).into_response()
                }
                Ok(Access::UsePasskey) => {
                    return Redirect::to(&app::format::passkey_step_up_href(&here)).into_response()
                }
                Ok(Access::AddPasskey) => {
                    return Redirect::to(&app::format::passkey_setup_href(
                        app::models::AccountId(account),
                        &here,
                    ))
                    .into_response();
                }
                Ok(Access::SetUpMfa) => {
                    // The account requires MFA of this person: set it up first, then continue.
                    return Redirect::to(&app::format::mfa_setup_href(
                        app::models::AccountId(account),
                        &here,
                    ))
                    .into_response();
                }
                Err(e) => {
                    // The check could not be made: fail closed.
                    tracing::error!(request_id = %info.request_id, error = %e, "access check failed");
                    return plain(
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!(
                            "The portal is temporarily unavailable. Please try again (reference {}).",
                            info.request_id
                        ),
                    );
                }
            }
        }
    }
    next.run(req).await
}

/// The layer runs without the layers before it: a wiring error, failing closed.
fn misplaced() -> Response {
    tracing::error!("the access layer ran without the request context: check with_middleware");
    plain(
        StatusCode::INTERNAL_SERVER_ERROR,
        "The portal is misconfigured.".into(),
    )
}

fn is_public_page(path: &str) -> bool {
    matches!(
        path,
        "/login"
            | "/login/code"
            | "/sso/callback"
            | "/healthz"
            | "/readyz"
            | app::format::FORGOT_PASSWORD_PATH
            | app::format::RESET_PASSWORD_PATH
            | app::format::EMAIL_CONFIRM_PATH
            | app::format::EMAIL_CANCEL_PATH
            | app::format::INVITATION_PATH
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
