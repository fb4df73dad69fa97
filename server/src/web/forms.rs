//! Plain HTML forms: administrative actions that work without the client bundle (no
//! island, so they cost the payload budget nothing). Each form posts here; the handler
//! runs the same operation as the server function (the same authorization, guards and
//! audit rows), then sends the browser back to the page it came from:
//! - done: `?done=<what>`, which the page turns into its confirmation;
//! - refused: `?error=<key>`, with the message in a two-minute cookie of this browser
//!   under that key ([`super::cookies::flash_cookie`]); the page shows it once;
//! - a step-up needed: to "Confirm it's you", then back to the page, where the person
//!   presses the button again.
//!
//! State changes here pass the CSRF layer like every other POST (same-origin only).

use crate::state::AppState;
use app::{
    api::{AccountAdministration, Passkeys, PeopleAdministration},
    format::{
        account_groups_href, account_members_href, account_sso_href, step_up_for_change_href,
    },
    models::{AccountId, UserId},
    ssr::{RequestInfo, UserCtx},
    AppError,
};
use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{header, HeaderValue},
    response::{IntoResponse, Redirect, Response},
    Extension,
};

/// The address parameter naming a plain form's error message (see the module doc).
pub const ERROR_PARAM: &str = "error";

/// A posted form's fields, in order (a name may repeat: `person=3&person=7`).
struct Fields(Vec<(String, String)>);

impl Fields {
    fn parse(body: &[u8]) -> Self {
        Self(
            url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_string()
    }

    fn id(&self, name: &str, missing: &str) -> Result<i64, AppError> {
        self.get(name)
            .and_then(|v| v.trim().parse::<i64>().ok())
            .ok_or_else(|| AppError::Invalid(missing.into()))
    }

    fn people(&self) -> Result<Vec<UserId>, AppError> {
        let people = self
            .0
            .iter()
            .filter(|(k, _)| k == "person")
            .map(|(_, v)| {
                v.trim()
                    .parse::<i64>()
                    .map(UserId)
                    .map_err(|_| AppError::Invalid("Select members from the list.".into()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if people.is_empty() {
            return Err(AppError::Invalid("Select at least one member.".into()));
        }
        app::api::check_selection(&people)?;
        Ok(people)
    }
}

/// What a form's action did, for the page's confirmation (`?done=`).
type Done = String;

/// The members page's forms: "Change group", "Remove from account", "Send invitations",
/// "Resend", "Revoke", "Reset MFA", "Sign out everywhere".
pub async fn members_form(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    Path(account): Path<AccountId>,
    body: Bytes,
) -> Response {
    let form = Fields::parse(&body);
    let page = back_address(account, form.get("back"), account_members_href(account));
    let me = info.session.map(|s| s.user_id);
    let includes_self =
        me.is_some_and(|me| form.people().is_ok_and(|p| p.iter().any(|u| u.get() == me)));
    let s = state.clone();
    let result = run(info, |user| async move {
        let s = &s;
        let done: Done = match form.get("op").unwrap_or_default() {
            "move" => {
                let group = form.id("group", "Choose one of this account's groups.")?;
                let n = s
                    .change_member_group(&user, account, form.people()?, group)
                    .await?;
                format!("moved-{n}")
            }
            "remove" => {
                let confirm = form.get("confirm_self").is_some();
                let n = s
                    .remove_members(&user, account, form.people()?, confirm)
                    .await?;
                format!("removed-{n}")
            }
            "invite" => {
                let group = form.id("group", "Choose one of this account's groups.")?;
                let (invited, added) = s
                    .invite_people(&user, account, &form.text("emails"), group)
                    .await?;
                format!("invited-{invited}-{added}")
            }
            "resend" => {
                let id = form.id("invitation", NO_INVITATION)?;
                s.resend_invitation(&user, account, id).await?;
                "resent".into()
            }
            "revoke" => {
                let id = form.id("invitation", NO_INVITATION)?;
                s.revoke_invitation(&user, account, id).await?;
                "revoked".into()
            }
            "reset-mfa" => {
                let person = UserId(form.id("person", NO_MEMBER)?);
                s.helpdesk_reset_mfa(&user, account, person).await?;
                "mfa-reset".into()
            }
            "sign-out" => {
                let person = UserId(form.id("person", NO_MEMBER)?);
                let n = s.helpdesk_sign_out(&user, account, person).await?;
                format!("signed-out-{n}")
            }
            _ => return Err(AppError::Invalid(UNKNOWN_ACTION.into()).into()),
        };
        Ok(done)
    })
    .await;
    // Someone who removed themselves, or moved themselves out of the administrators, no
    // longer administers the account: their own list of accounts is where they can go.
    let after = match (&result, me) {
        (Ok(_), Some(me)) if includes_self && !still_administers(&state, me, account).await => {
            Some("/profile/accounts".to_string())
        }
        _ => None,
    };
    answer(&state, &page, result, after)
}

/// The groups page's forms: "Create group", "Rename", "Delete", and the administrator flag.
pub async fn groups_form(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    Path(account): Path<AccountId>,
    body: Bytes,
) -> Response {
    let form = Fields::parse(&body);
    let page = back_address(account, form.get("back"), account_groups_href(account));
    let s = state.clone();
    let result = run(info, |user| async move {
        let s = &s;
        let group = || form.id("group", "Choose one of this account's groups.");
        let done: Done = match form.get("op").unwrap_or_default() {
            "create" => {
                let admin = form.get("is_admin").is_some();
                s.create_group(&user, account, &form.text("name"), admin)
                    .await?;
                "group-created".into()
            }
            "rename" => {
                s.rename_group(&user, account, group()?, &form.text("name"))
                    .await?;
                "group-renamed".into()
            }
            "delete" => {
                s.delete_group(&user, account, group()?).await?;
                "group-deleted".into()
            }
            "set-admin" => {
                let admin = form.get("is_admin") == Some("true");
                s.set_group_admin(&user, account, group()?, admin).await?;
                if admin { "admin-on" } else { "admin-off" }.into()
            }
            _ => return Err(AppError::Invalid(UNKNOWN_ACTION.into()).into()),
        };
        Ok(done)
    })
    .await;
    answer(&state, &page, result, None)
}

/// The Security section's passkey forms: "Rename" (`op=rename`, `id`, `name`) and
/// "Remove" (`op=remove`, `id`, `sign_out_others`). Back to the Security section either
/// way.
pub async fn passkeys_form(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    body: Bytes,
) -> Response {
    let form = Fields::parse(&body);
    let page = "/profile/security";
    let s = state.clone();
    let result = run(info, |user| async move {
        let id = form.id("id", "Choose one of your passkeys.")?;
        match form.get("op") {
            Some("rename") => {
                let name = app::validation::validate_name("passkey name", &form.text("name"))
                    .map_err(AppError::Invalid)?;
                s.rename_passkey(&user, id, &name).await?;
                Ok("passkey_renamed".to_string())
            }
            Some("remove") => {
                let others = form.get("sign_out_others").is_some();
                s.remove_passkey(&user, id, others).await?;
                Ok("passkey_removed".to_string())
            }
            _ => Err(AppError::Invalid(UNKNOWN_ACTION.into()).into()),
        }
    })
    .await;
    answer(&state, page, result, None)
}

/// "Verify" on the single sign-on page: proves the domain and loads the page again
/// saying what happened (`?done=domain-…` or `?verify_failed=…`, which that page reads
/// only for this account's own domains).
pub async fn verify_domain_form(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    Path(account): Path<AccountId>,
    body: Bytes,
) -> Response {
    let form = Fields::parse(&body);
    let typed = form.text("domain");
    // Encoded once, by `with_param`.
    let domain = typed.trim().to_ascii_lowercase();
    let page = account_sso_href(account);
    let s = state.clone();
    let shown = domain.clone();
    let result = run(info, |user| async move {
        s.verify_sso_domain(&user, account, &typed).await?;
        Ok(format!("domain-{shown}"))
    })
    .await;
    match result {
        Err(AppError::Invalid(_)) => {
            Redirect::to(&with_param(&page, "verify_failed", &domain)).into_response()
        }
        other => answer(&state, &page, other, None),
    }
}

/// Whether the person still administers the account (after a change of their own).
/// A failed lookup counts as "no": the page would refuse them anyway.
async fn still_administers(state: &AppState, user_id: i64, account: AccountId) -> bool {
    match state.db.acquire().await {
        Ok(mut conn) => crate::db::policy::is_admin(&mut conn, user_id, account.get())
            .await
            .unwrap_or(false),
        Err(_) => false,
    }
}

const NO_INVITATION: &str = "That invitation is not one of this account's.";
const NO_MEMBER: &str = "Choose a member of this account.";
const UNKNOWN_ACTION: &str = "This form asked for something the portal does not do.";

/// Runs a form's operation for the signed-in person; internal failures are logged with
/// the request id and answered with only that id.
async fn run<F, Fut>(info: RequestInfo, body: F) -> Result<Done, AppError>
where
    F: FnOnce(UserCtx) -> Fut,
    Fut: std::future::Future<Output = app::ssr::Outcome<Done>>,
{
    let user = UserCtx::new(info)?;
    let id = user.req.request_id.clone();
    body(user).await.map_err(|e| e.into_app_error(&id))
}

/// Where a form sends the browser back to: the page it was on (its `back` field, kept
/// only when it is one of this account's settings pages), without an earlier outcome.
fn back_address(account: AccountId, back: Option<&str>, default: String) -> String {
    let prefix = format!("/accounts/{account}/settings/");
    let Some(back) = back
        .filter(|b| b.starts_with(&prefix))
        .and_then(app::validation::safe_next_path)
    else {
        return default;
    };
    let (path, query) = back.split_once('?').unwrap_or((back, ""));
    let kept: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k != "done" && k != ERROR_PARAM && k != "verify_failed")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        return path.to_string();
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .finish();
    format!("{path}?{query}")
}

fn with_param(page: &str, key: &str, value: &str) -> String {
    let sep = if page.contains('?') { '&' } else { '?' };
    format!("{page}{sep}{key}={}", app::format::query_value(value))
}

/// The browser's next address for an outcome (`after`: somewhere else once done).
fn answer(
    state: &AppState,
    page: &str,
    result: Result<Done, AppError>,
    after: Option<String>,
) -> Response {
    match result {
        Ok(done) => {
            Redirect::to(&after.unwrap_or_else(|| with_param(page, "done", &done))).into_response()
        }
        Err(AppError::StepUpRequired {
            only_passkey: true, ..
        }) => Redirect::to(&app::format::passkey_step_up_href(page)).into_response(),
        Err(AppError::StepUpRequired { .. }) => {
            Redirect::to(&step_up_for_change_href(page)).into_response()
        }
        Err(AppError::Unauthenticated) => {
            Redirect::to(&app::format::login_href(page)).into_response()
        }
        Err(e) => {
            let key = crate::sessions::Token::generate(state.rng.as_ref());
            // 16 characters of the token are plenty for telling this answer from others.
            let key = &key.expose()[..16];
            let mut response = Redirect::to(&with_param(page, ERROR_PARAM, key)).into_response();
            let cookie = super::cookies::flash_cookie(&state.config, key, &e.to_string());
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_stays_on_the_accounts_settings_and_drops_old_outcomes() {
        let a = AccountId(7);
        let default = account_members_href(a);
        assert_eq!(
            back_address(
                a,
                Some("/accounts/7/settings/members?page=2&done=x&error=k"),
                default.clone()
            ),
            "/accounts/7/settings/members?page=2"
        );
        for bad in [
            "https://evil.example/accounts/7/settings/",
            "//evil.example/accounts/7/settings/",
            "/accounts/8/settings/members",
            "/profile",
        ] {
            assert_eq!(back_address(a, Some(bad), default.clone()), default);
        }
        assert_eq!(back_address(a, None, default.clone()), default);
    }

    #[test]
    fn repeated_people_and_bad_ids() {
        let f = Fields::parse(b"person=3&person=7&op=move");
        assert_eq!(f.people().ok(), Some(vec![UserId(3), UserId(7)]));
        assert!(Fields::parse(b"person=x").people().is_err());
        assert!(Fields::parse(b"op=remove").people().is_err());
        let many: String = (1..=101).map(|i| format!("person={i}&")).collect();
        assert!(Fields::parse(many.as_bytes()).people().is_err());
        let enough: String = (1..=100).map(|i| format!("person={i}&")).collect();
        assert_eq!(
            Fields::parse(enough.as_bytes())
                .people()
                .map(|p| p.len())
                .ok(),
            Some(100)
        );
    }
}
