//! `/accounts/{account_id}/settings/mfa`: an account's multi-factor authentication
//! policy, for its administrators. The server refuses everyone else (403).

use crate::{
    api::{account_mfa_settings, SetAccountMfaPolicy},
    components::{
        close_modal, confirmation, direct_action, focus_submit, reload_done, show_modal,
        step_up_needed, use_account_id, use_done, AccountPageError, MfaDueBanner, Pager,
        StepUpForm, SubmitButton,
    },
    format::account_mfa_href,
    models::{AccountMfaSettings, MfaPolicy, MAX_GRACE_DAYS, MEMBERS_PER_PAGE},
    validation::policy_lockout,
    AppError,
};
use leptos::{html, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AccountMfaPage() -> impl IntoView {
    let account_id = use_account_id();
    let query = use_query_map();
    // The member list's page and filter live in the address: `?page=2&without_mfa=1`.
    let list = move || {
        let q = query.read();
        let page = q
            .get("page")
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(1);
        (page.max(1), q.get("without_mfa").as_deref() == Some("1"))
    };
    let settings = Resource::new(
        move || (account_id(), list()),
        |(id, (page, without))| async move {
            match id {
                Some(id) => account_mfa_settings(id, Some(page), Some(without)).await,
                None => Err(AppError::Forbidden),
            }
        },
    );
    // The page loads again after a save, to show the new policy everywhere.
    let saved = use_done().as_deref() == Some("policy");

    view! {
        <Title text="Multi-Factor Authentication · Account settings" />
        <Suspense fallback=|| view! { <p class="loading" aria-live="polite">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match settings.await {
                    Ok(s) => view! { <PolicyView settings=s saved /> }.into_any(),
                    Err(e) => view! {
                        <AccountPageError title="Multi-Factor Authentication" forbidden="Only administrators of this account can manage its multi-factor authentication." error=e />
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn PolicyView(settings: AccountMfaSettings, saved: bool) -> impl IntoView {
    let here = account_mfa_href(settings.account_id);
    let last = settings.history.first().cloned();
    let changed = match last {
        Some(c) => format!("Changed by {} on {}.", c.by, c.at),
        None => "Not changed since the account was created.".to_string(),
    };
    let grace_note =
        (settings.policy != MfaPolicy::Optional).then(|| match settings.grace_days.days() {
            0 => "No grace period.".to_string(),
            1 => "Grace period: 1 day.".to_string(),
            n => format!("Grace period: {n} days."),
        });

    view! {
        <nav class="breadcrumbs" aria-label="Breadcrumb">
            <span>{settings.account_name.clone()}</span>" › "<span>"Settings"</span>
        </nav>
        <h1>"Multi-Factor Authentication"</h1>
        <MfaDueBanner account_id=settings.account_id account_name=settings.account_name.clone()
            requirement=settings.viewer_requirement.clone() next=here.clone() />
        {settings.sso_enabled.then(|| view! {
            <div class="notice caution" role="note" data-testid="sso-caution">
                <p><strong>"Single sign-on is on for this account."</strong></p>
                <p>
                    "Your directory's settings and procedures take precedence and override the portal's "
                    "multi-factor authentication settings for people who sign in through it. "
                    <a href=crate::format::account_sso_href(settings.account_id)>"Single sign-on settings"</a>
                </p>
            </div>
        })}
        <section class="card" aria-labelledby="policy-heading">
            <h2 id="policy-heading">"Policy"</h2>
            <dl class="facts">
                <dt>"Current policy"</dt>
                <dd data-testid="current-policy">{settings.policy.label()}</dd>
                <dt>"What it means"</dt>
                <dd>{settings.policy.meaning()}{grace_note.map(|g| format!(" {g}"))}</dd>
                <dt>"Passkeys"</dt>
                <dd data-testid="passkey-requirement">{if settings.require_passkeys {
                    "Required: the people the policy covers sign in with a passkey (phishing-resistant), not only a code."
                } else {
                    "Not required: any second factor meets the policy."
                }}</dd>
                <dt>"Last change"</dt>
                <dd>{changed}</dd>
            </dl>
            <PolicyManager account_id=settings.account_id account_name=settings.account_name.clone()
                policy=settings.policy grace_days=settings.grace_days
                require_passkeys=settings.require_passkeys
                viewer_uses_mfa=settings.viewer_uses_mfa
                viewer_has_passkey=settings.viewer_has_passkey saved />
        </section>
        <Compliance settings=settings.clone() />
        <History settings />
    }
    .into_any()
}

/// "Manage" and its dialog: three policies, the grace period, the lockout guard. A save
/// loads the page again, which then confirms it.
#[island]
fn PolicyManager(
    account_id: crate::models::AccountId,
    account_name: String,
    policy: MfaPolicy,
    grace_days: crate::models::GraceDays,
    require_passkeys: bool,
    viewer_uses_mfa: bool,
    viewer_has_passkey: bool,
    saved: bool,
) -> impl IntoView {
    let save = direct_action::<SetAccountMfaPolicy>();
    let manage = NodeRef::<html::Button>::new();
    let form = NodeRef::<html::Form>::new();
    let dialog = NodeRef::<html::Dialog>::new();
    let initial_policy = policy;
    let initial_grace = grace_days.days().to_string();
    let choice = RwSignal::new(initial_policy);
    let grace = RwSignal::new(initial_grace.clone());
    let passkeys = RwSignal::new(require_passkeys);
    let passkey_lockout = move || {
        crate::validation::passkey_lockout(choice.get(), passkeys.get(), viewer_has_passkey)
    };
    let grace_error = move || crate::models::GraceDays::parse_for(choice.get(), &grace.get()).err();
    let lockout = move || policy_lockout(choice.get(), viewer_uses_mfa);
    // Their own set-up, then back here (no account requires it of them yet).
    let setup = crate::format::security_href(&account_mfa_href(account_id));
    let server_error = RwSignal::new(None::<String>);

    // Saved: the page loads again with the new policy; a refusal stays in the dialog, and
    // "Confirm it's you" is asked there, after which the same choice is saved.
    let step_up = move || step_up_needed(&save.value().get());
    Effect::new(move |_| match save.value().get() {
        Some(Ok(())) => reload_done("policy"),
        Some(Err(AppError::StepUpRequired { .. })) | None => {}
        Some(Err(e)) => server_error.set(Some(e.to_string())),
    });
    // Closed by Save, Cancel or Escape: the next opening starts from the saved policy.
    let on_close = move |_| {
        choice.set(initial_policy);
        grace.set(initial_grace.clone());
        passkeys.set(require_passkeys);
        server_error.set(None);
        save.value().set(None);
        if let Some(b) = manage.get_untracked() {
            let _ = b.focus();
        }
    };
    let send = move || {
        if lockout().is_some()
            || passkey_lockout().is_some()
            || grace_error().is_some()
            || save.pending().get_untracked()
        {
            return;
        }
        server_error.set(None);
        save.dispatch(SetAccountMfaPolicy {
            account_id,
            policy: choice.get_untracked().as_str().to_string(),
            grace_days: grace.get_untracked(),
            require_passkeys: passkeys.get_untracked().then(|| "on".to_string()),
        });
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        send();
    };

    let options = MfaPolicy::ALL
        .into_iter()
        .map(|p| {
            let id = format!("policy-{}", p.as_str());
            let hint = format!("{id}-hint");
            view! {
                <div class="radio-option">
                    <input type="radio" name="policy" id=id.clone() value=p.as_str()
                        aria-describedby=hint.clone()
                        prop:checked=move || choice.get() == p
                        on:change=move |_| choice.set(p) />
                    <label for=id>{p.label()}</label>
                    <p class="hint" id=hint>{p.meaning()}</p>
                </div>
            }
        })
        .collect_view();

    view! {
        <button type="button" class="primary" node_ref=manage aria-haspopup="dialog"
            on:click=move |_| show_modal(dialog)>
            "Manage"
        </button>
        {confirmation(saved, save.value(), "The policy was saved.")}
        <dialog node_ref=dialog class="modal" aria-labelledby="manage-title"
            aria-describedby="manage-description" on:close=on_close>
            <form on:submit=submit novalidate node_ref=form>
                <h2 id="manage-title">"Manage multi-factor authentication"</h2>
                <p id="manage-description" class="hint">
                    {format!("Choose who in {account_name} must use multi-factor authentication.")}
                </p>
                <fieldset>
                    <legend>"Policy"</legend>
                    {options}
                </fieldset>
                <div class="field" hidden=move || choice.get() == MfaPolicy::Optional>
                    <label for="grace_days">"Grace period in days"</label>
                    <input id="grace_days" name="grace_days" type="number" inputmode="numeric"
                        min="0" max=MAX_GRACE_DAYS.to_string() step="1"
                        aria-describedby="grace-hint grace-error"
                        aria-invalid=move || grace_error().is_some().to_string()
                        prop:value=move || grace.get()
                        on:input=move |ev| grace.set(event_target_value(&ev)) />
                    <p id="grace-hint" class="hint">
                        {format!("0 to {MAX_GRACE_DAYS} days. Members without MFA can keep working until then, counted from now or from when they join.")}
                    </p>
                    <p id="grace-error" class="field-error" aria-live="polite">{grace_error}</p>
                </div>
                <div class="checkbox" hidden=move || choice.get() == MfaPolicy::Optional>
                    <input id="require_passkeys" name="require_passkeys" type="checkbox" value="on"
                        aria-describedby="require-passkeys-hint"
                        prop:checked=move || passkeys.get()
                        on:change=move |ev| passkeys.set(event_target_checked(&ev)) />
                    <label for="require_passkeys">"Require passkeys (phishing-resistant) for the people this policy covers"</label>
                    <p id="require-passkeys-hint" class="hint">"App codes can be phished. Covered people then need a passkey to enter the account (after the grace period)."</p>
                </div>
                {move || passkey_lockout().map(|message| view! {
                    <div class="notice error" role="alert">
                        <p>{message}</p>
                        <p><a href="/profile/security">"Add a passkey"</a></p>
                    </div>
                })}
                {move || lockout().map(|message| view! {
                    <div class="notice error" role="alert">
                        <p>{message}</p>
                        <p><a href=setup.clone()>"Set up your multi-factor authentication"</a></p>
                    </div>
                })}
                {move || server_error.get().map(|e| view! { <p class="form-error-text" role="alert">{e}</p> })}
                <div class="actions">
                    <SubmitButton pending=save.pending() label="Save" busy="Saving…"
                        blocked=Signal::derive(move || lockout().is_some() || passkey_lockout().is_some()) />
                    <button type="button" class="secondary" on:click=move |_| close_modal(dialog)>"Cancel"</button>
                </div>
            </form>
            {move || step_up().map(|needs| view! {
                <StepUpForm needs nested=true on_done=Callback::new(move |_| {
                    focus_submit(form);
                    send();
                }) />
            })}
        </dialog>
    }
    .into_any()
}

/// Who complies: the members page by page with their group and MFA, and when the rest
/// are blocked; a filter for members without MFA.
#[component]
fn Compliance(settings: AccountMfaSettings) -> impl IntoView {
    let total = settings.member_count;
    let using = settings.members_with_mfa;
    let without = settings.without_mfa;
    let (page, page_count) = (settings.page, settings.page_count);
    let listed = settings.listed();
    let base = account_mfa_href(settings.account_id);
    let href = move |page: i64, without: bool| {
        let mut q = Vec::new();
        if page > 1 {
            q.push(format!("page={page}"));
        }
        if without {
            q.push("without_mfa=1".to_string());
        }
        if q.is_empty() {
            base.clone()
        } else {
            format!("{base}?{}", q.join("&"))
        }
    };
    let first = (page - 1) * MEMBERS_PER_PAGE + 1;
    let shown = settings.members.len() as i64;
    let empty = settings.members.is_empty();
    let rows = settings
        .members
        .into_iter()
        .map(|m| {
            let blocked = match (&m.blocked_from, m.blocked_now) {
                (Some(at), true) => format!("Blocked since {at}"),
                (Some(at), false) => format!("Blocked from {at}"),
                (None, _) if m.covered => "Complies".to_string(),
                (None, _) => "Not required".to_string(),
            };
            view! {
                <tr>
                    <th scope="row" data-label="Member">
                        <span class="cell-stack">{m.name}<span class="item-meta">{m.email}</span></span>
                    </th>
                    <td data-label="Group">
                        {m.group}{m.is_admin.then_some(" · administrator group")}
                    </td>
                    <td data-label="Method">{m.method}</td>
                    <td data-label="Requirement">{blocked}</td>
                </tr>
            }
        })
        .collect_view();
    let plural = |n: i64| if n == 1 { "" } else { "s" };
    view! {
        <section class="card" aria-labelledby="compliance-heading">
            <h2 id="compliance-heading">"Members"</h2>
            <p data-testid="compliance-summary">
                {format!("{using} of {total} member{} use MFA.", plural(total))}
            </p>
            <nav class="filters" aria-label="Which members">
                <a href=href(1, false) aria-current=(!without).then_some("page")>"All members"</a>
                <a href=href(1, true) aria-current=without.then_some("page")>
                    {format!("Without MFA ({})", total - using)}
                </a>
            </nav>
            {if empty {
                view! {
                    <p class="empty">{if without { "Every member uses MFA." } else { "This account has no members." }}</p>
                }.into_any()
            } else {
                view! {
                    <table class="data stacked">
                        <caption class="visually-hidden">"Members and their multi-factor authentication"</caption>
                        <thead><tr>
                            <th scope="col">"Member"</th><th scope="col">"Group"</th>
                            <th scope="col">"Method"</th><th scope="col">"Requirement"</th>
                        </tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                }.into_any()
            }}
            {(page_count > 1).then(|| view! {
                <Pager label="Member pages"
                    previous=(page > 1).then(|| (href(page - 1, without), "Previous members"))
                    status=format!("Members {first}–{} of {listed}", first + shown - 1)
                    next=(page < page_count).then(|| (href(page + 1, without), "Next members")) />
            })}
        </section>
    }
}

/// Every recorded policy change, newest first.
#[component]
fn History(settings: AccountMfaSettings) -> impl IntoView {
    let empty = settings.history.is_empty();
    let items = settings
        .history
        .into_iter()
        .map(|c| {
            view! {
                <li>
                    <span class="item-meta">{c.at}</span>" "
                    {format!("{}: {}", c.by, c.summary)}
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="history-heading">
            <h2 id="history-heading">"Policy changes"</h2>
            {if empty {
                view! { <p class="empty">"The policy has not been changed."</p> }.into_any()
            } else {
                view! { <ul class="history">{items}</ul> }.into_any()
            }}
        </section>
    }
}
