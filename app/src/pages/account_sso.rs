//! `/accounts/{account_id}/settings/sso`: single sign-on with the partner's own OpenID
//! Provider, for the account's administrators (the server refuses everyone else).

use crate::{
    api::{account_sso_settings, SaveAccountSso, TestAccountSso},
    components::{
        confirmation, direct_action, failure, reload_when_done, step_up_needed, submit_again,
        use_account_id, use_done, AccountPageError, FormOutcome, ServerForm, StepUpForm,
        SubmitButton,
    },
    format::account_mfa_href,
    models::{AccountSsoSettings, SsoDomainInfo},
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
    let done = use_done();
    let saved = done.as_deref() == Some("sso");
    let verified = done
        .as_deref()
        .and_then(|d| d.strip_prefix("domain-"))
        .map(str::to_string);
    let failed = leptos_router::hooks::use_query_map()
        .read_untracked()
        .get("verify_failed")
        .filter(|d| crate::validation::parse_domains(d).is_ok_and(|v| v.len() == 1));
    view! {
        <Title text="Single sign-on · Account settings" />
        <Suspense fallback=|| view! { <p class="loading" aria-live="polite">"Loading…"</p> }>
            {move || {
                let verified = verified.clone();
                let failed = failed.clone();
                Suspend::new(async move {
                match settings.await {
                    Ok(s) => view! { <SsoView settings=s saved verified failed /> }.into_any(),
                    Err(e) => view! {
                        <AccountPageError title="Single sign-on" forbidden="Only administrators of this account can manage its single sign-on." error=e />
                    }
                    .into_any(),
                }
            })}}
        </Suspense>
    }
}

#[component]
fn SsoView(
    settings: AccountSsoSettings,
    saved: bool,
    verified: Option<String>,
    failed: Option<String>,
) -> impl IntoView {
    let account_id = settings.account_id;
    // What `?done=` and `?verify_failed=` name is shown only for this account's domains in
    // the state they claim: an address cannot put words on this page.
    let is_domain = |name: &Option<String>, verified: bool| {
        name.as_ref().is_some_and(|n| {
            settings
                .domains
                .iter()
                .any(|d| d.domain == *n && d.verified == verified)
        })
    };
    let verified = if is_domain(&verified, true) {
        verified
    } else {
        None
    };
    let failed = if is_domain(&failed, false) {
        failed
    } else {
        None
    };
    let domain_list = settings
        .domains
        .iter()
        .map(|d| d.domain.clone())
        .collect::<Vec<_>>()
        .join(", ");
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
        <FormOutcome done=None />
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
                has_client_secret=settings.has_client_secret
                domains=domain_list
                enabled=settings.enabled configured=settings.configured saved />
        </section>
        <DomainsCard account_id domains=settings.domains.clone() verified failed />
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
    account_id: crate::models::AccountId,
    issuer: String,
    client_id: String,
    has_client_secret: bool,
    /// The email domains, comma-separated.
    domains: String,
    enabled: bool,
    configured: bool,
    saved: bool,
) -> impl IntoView {
    let save = direct_action::<SaveAccountSso>();
    let test = direct_action::<TestAccountSso>();
    let form = NodeRef::<leptos::html::Form>::new();
    reload_when_done(save.value(), |_| "sso".into());
    // Saving needs a recent "Confirm it's you": asked below the form, which is then
    // submitted again as it stands.
    let step_up = move || step_up_needed(&save.value().get());
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
        <ServerForm action=save class="form-grid" novalidate=true node_ref=form read=move |f| SaveAccountSso {
            account_id,
            issuer: f.text("issuer"),
            client_id: f.text("client_id"),
            client_secret: f.secret("client_secret"),
            domains: f.text("domains"),
            enabled: f.get("enabled"),
        }>
            // For a submission before the page's code has loaded (the island reads it from
            // its props).
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
                        "A secret is stored and never shown again. Leave empty to keep it; a new issuer URL or client ID needs it again."
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
        </ServerForm>
        {confirmation(saved, save.value(), "Single sign-on settings saved.")}
        {move || match step_up() {
            Some(needs) => view! {
                <StepUpForm needs nested=true on_done=Callback::new(move |_| submit_again(form)) />
            }.into_any(),
            None => failure(save.value()).into_any(),
        }}
        {report}
    }
}

/// The account's email domains and their proof: a domain routes sign-ins to the
/// directory only once its DNS TXT record is found.
#[component]
fn DomainsCard(
    account_id: crate::models::AccountId,
    domains: Vec<SsoDomainInfo>,
    verified: Option<String>,
    failed: Option<String>,
) -> impl IntoView {
    let empty = domains.is_empty();
    let rows = domains
        .into_iter()
        .map(|d| {
            view! {
                <tr>
                    <td data-label="Domain">{d.domain.clone()}</td>
                    <td data-label="Status" data-testid="domain-status">
                        {if d.verified { "Verified" } else { "Pending verification" }}
                    </td>
                    <td data-label="DNS record">
                        {(!d.verified).then(|| view! {
                            <dl class="facts compact">
                                <dt>"Name"</dt><dd><code>{d.record_name.clone()}</code></dd>
                                <dt>"Type"</dt><dd><code>"TXT"</code></dd>
                                <dt>"Value"</dt><dd><code data-testid="domain-token">{d.record_value.clone()}</code></dd>
                            </dl>
                        })}
                    </td>
                    <td data-label="Action">
                        // A plain form (no browser code): the server looks the record up and
                        // loads this page again saying what it found.
                        {(!d.verified).then(|| view! {
                            <form method="post" action=crate::format::sso_verify_action(account_id)>
                                <input type="hidden" name="domain" value=d.domain.clone() />
                                <button type="submit" class="secondary" aria-label=format!("Verify {}", d.domain)>"Verify"</button>
                            </form>
                        })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="domains-heading">
            <h2 id="domains-heading">"Email domains"</h2>
            <p class="hint">
                "A domain sends sign-ins to your directory only once you prove it is yours: publish the "
                "TXT record shown at your DNS provider, then press “Verify”. A domain proven by one "
                "account stays with it."
            </p>
            {verified.map(|d| view! {
                <p class="ok" role="status" tabindex="-1" autofocus>{format!("{d} is verified.")}</p>
            })}
            {failed.map(|d| view! {
                <p class="notice error" role="alert" tabindex="-1" autofocus>
                    {format!("{d} could not be verified: no TXT record at _connect-portal.{d} holds the value shown yet (DNS changes can take a while to appear), or another account proved it first.")}
                </p>
            })}
            {if empty {
                view! { <p class="empty">"No domains yet. Add them in the form above."</p> }.into_any()
            } else {
                view! {
                    <table class="data stacked">
                        <caption class="visually-hidden">"Email domains and their verification"</caption>
                        <thead><tr>
                            <th scope="col">"Domain"</th><th scope="col">"Status"</th>
                            <th scope="col">"DNS record"</th><th scope="col"><span class="visually-hidden">"Action"</span></th>
                        </tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}
