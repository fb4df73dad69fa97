//! `/accounts/{account_id}/settings/sso`: single sign-on with the partner's own OpenID
//! Provider, for the account's administrators (the server refuses everyone else).

use crate::{
    api::{account_sso_settings, SaveAccountSso, TestAccountSso},
    components::{
        confirmation, direct_action, failure, reload_when_done, use_account_id, use_done,
        AccountPageError, SubmitButton,
    },
    format::account_mfa_href,
    models::AccountSsoSettings,
    AppError,
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AccountSsoPage() -> impl IntoView {
    let account_id = use_account_id();
    let settings = Resource::new(account_id, |id| async move {
        match id {
            Some(id) => account_sso_settings(id).await,
            None => Err(AppError::Forbidden),
        }
    });
    // The page loads again after a save, to show the new settings everywhere.
    let saved = use_done().as_deref() == Some("sso");
    view! {
        <Title text="Single sign-on · Account settings" />
        <Suspense fallback=|| view! { <p class="loading" aria-live="polite">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match settings.await {
                    Ok(s) => view! { <SsoView settings=s saved /> }.into_any(),
                    Err(e) => view! {
                        <AccountPageError title="Single sign-on" forbidden="Only administrators of this account can manage its single sign-on." error=e />
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn SsoView(settings: AccountSsoSettings, saved: bool) -> impl IntoView {
    let account_id = settings.account_id;
    let empty = settings.history.is_empty();
    let history = settings
        .history
        .iter()
        .map(|c| {
            view! {
                <li><span class="item-meta">{c.at.clone()}</span>" "{format!("{}: {}", c.by, c.summary)}</li>
            }
        })
        .collect_view();
    view! {
        <nav class="breadcrumbs" aria-label="Breadcrumb">
            <span>{settings.account_name.clone()}</span>" › "<span>"Settings"</span>
        </nav>
        <h1>"Single sign-on"</h1>
        <section class="card" aria-labelledby="sso-heading">
            <h2 id="sso-heading">"Your directory (OpenID Connect)"</h2>
            <p class="hint">
                "People whose email domain is listed sign in through your organisation's directory. "
                "While single sign-on is on, your directory's settings and procedures, including its "
                "multi-factor authentication, take precedence over this account's "
                <a href=account_mfa_href(account_id)>"portal MFA policy"</a>" for them."
            </p>
            <dl class="facts">
                <dt>"Status"</dt>
                <dd data-testid="sso-status">{if settings.enabled { "On" } else if settings.configured { "Off" } else { "Not set up" }}</dd>
                <dt>"Redirect URI"</dt>
                <dd><code>{settings.redirect_uri.clone()}</code><span class="item-meta">"Register it with your provider."</span></dd>
            </dl>
            <SsoForm account_id issuer=settings.issuer.clone() client_id=settings.client_id.clone()
                has_client_secret=settings.has_client_secret domains=settings.domains.join(", ")
                enabled=settings.enabled configured=settings.configured saved />
        </section>
        <section class="card" aria-labelledby="sso-history-heading">
            <h2 id="sso-history-heading">"Changes"</h2>
            {if empty {
                view! { <p class="empty">"No changes yet."</p> }.into_any()
            } else {
                view! { <ul class="history">{history}</ul> }.into_any()
            }}
        </section>
    }
}

/// The settings form and "Test connection". A save loads the page again (status and
/// changes are shown outside the form), which then confirms it.
#[island]
fn SsoForm(
    account_id: i64,
    issuer: String,
    client_id: String,
    has_client_secret: bool,
    /// The email domains, comma-separated.
    domains: String,
    enabled: bool,
    configured: bool,
    saved: bool,
) -> impl IntoView {
    let save = ServerAction::<SaveAccountSso>::new();
    let test = direct_action::<TestAccountSso>();
    reload_when_done(save.value(), |_| "sso".into());
    let report = move || {
        match test.value().get() {
        Some(Ok(r)) => Some(
            view! {
                <div class=if r.ok { "notice" } else { "notice error" } role="status" data-testid="sso-test-report">
                    <p><strong>{if r.ok { "Connection works." } else { "Connection failed." }}</strong></p>
                    <ul>{r.lines.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ul>
                </div>
            }
            .into_any(),
        ),
        Some(Err(e)) => Some(view! { <p class="form-error-text" role="alert">{e.to_string()}</p> }.into_any()),
        None => None,
    }
    };
    view! {
        <ActionForm action=save attr:class="form-grid" attr:novalidate="">
            <input type="hidden" name="account_id" value=account_id.to_string() />
            <label for="issuer">"Issuer URL"</label>
            <input id="issuer" name="issuer" type="text" inputmode="url" required
                placeholder="https://login.example.com" value=issuer />
            <label for="client_id">"Client ID"</label>
            <input id="client_id" name="client_id" type="text" required autocomplete="off"
                value=client_id />
            <label for="client_secret">"Client secret"</label>
            <div>
                <input id="client_secret" name="client_secret" type="password" autocomplete="new-password"
                    aria-describedby="secret-hint" />
                <p id="secret-hint" class="hint">
                    {if has_client_secret {
                        "A secret is stored and never shown again. Leave empty to keep it."
                    } else {
                        "The secret your provider issued for this client."
                    }}
                </p>
            </div>
            <label for="domains">"Email domains"</label>
            <div>
                <input id="domains" name="domains" type="text" required aria-describedby="domains-hint"
                    placeholder="example.com, example.org" value=domains />
                <p id="domains-hint" class="hint">"People with these email domains sign in through this directory. Separate them with commas."</p>
            </div>
            <span></span>
            <div class="checkbox">
                <input id="sso_enabled" name="enabled" type="checkbox" value="on" checked=enabled />
                <label for="sso_enabled">"Single sign-on is on"</label>
            </div>
            <span></span>
            <div class="actions">
                <SubmitButton pending=save.pending() label="Save" busy="Saving…" />
                <button type="button" class="secondary" disabled=move || test.pending().get() || !configured
                    on:click=move |_| { test.dispatch(TestAccountSso { account_id }); }>
                    {move || if test.pending().get() { "Testing…" } else { "Test connection" }}
                </button>
            </div>
        </ActionForm>
        {confirmation(saved, save.value(), "Single sign-on settings saved.")}
        {failure(save.value())}
        {report}
    }
}
