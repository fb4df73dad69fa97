use crate::{
    api::{SignOut, SwitchAccount},
    models::Viewer,
};
use leptos::{ev, html, prelude::*};
use server_fn::ServerFn;

/// Closes an open menu on Escape and returns focus to its button.
fn close_on_escape(
    open: RwSignal<bool>,
    button: NodeRef<html::Button>,
) -> impl Fn(ev::KeyboardEvent) + Copy + 'static {
    move |ev: ev::KeyboardEvent| {
        if ev.key() == "Escape" && open.get_untracked() {
            open.set(false);
            if let Some(b) = button.get_untracked() {
                let _ = b.focus();
            }
        }
    }
}

/// "Switch account": lists the person's accounts by name, marks the active one, and
/// stores the chosen one on the session.
#[component]
pub fn AccountSwitcher(viewer: Viewer, action: ServerAction<SwitchAccount>) -> impl IntoView {
    let open = RwSignal::new(false);
    let button = NodeRef::<html::Button>::new();
    let on_key = close_on_escape(open, button);
    let active_name = viewer
        .active_membership()
        .map(|m| m.account_name.clone())
        .unwrap_or_else(|| "No account".into());
    let error = move || {
        action
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    };
    let has_accounts = !viewer.memberships.is_empty();
    let items = viewer
        .memberships
        .iter()
        .map(|m| {
            let id = m.account_id;
            let active = viewer.active_account_id == Some(id);
            let name = m.account_name.clone();
            let kind = m.kind.label();
            view! {
                <li role="none">
                    <button type="button" role="menuitemradio" aria-checked=active.to_string()
                        class="menu-item" class:active=active
                        on:click=move |_| {
                            open.set(false);
                            if !active {
                                action.dispatch(SwitchAccount { account_id: id });
                            }
                        }>
                        <span class="item-name">{name}</span>
                        <span class="item-meta">{kind}{active.then_some(" · active")}</span>
                    </button>
                </li>
            }
        })
        .collect_view();

    view! {
        <div class="menu-wrap" on:keydown=on_key>
            // The name starts with "Switch account" and contains the visible text (WCAG 2.5.3).
            <button type="button" class="menu-button" node_ref=button
                aria-haspopup="menu" aria-expanded=move || open.get().to_string()
                aria-controls="account-menu" disabled=!has_accounts
                on:click=move |_| open.update(|o| *o = !*o)>
                <span class="visually-hidden">"Switch account: "</span>
                <span class="menu-button-caption">"Account "</span>
                <span class="menu-button-value">{active_name}</span>
            </button>
            <ul id="account-menu" role="menu" aria-label="Your accounts" class="menu" hidden=move || !open.get()>
                {items}
            </ul>
            <p role="status" class="menu-error">{error}</p>
        </div>
    }
}

/// The user menu at the top right: the person's name; "Manage Your Profile" and
/// "Sign out".
#[component]
pub fn UserMenu(viewer: Viewer) -> impl IntoView {
    let open = RwSignal::new(false);
    let button = NodeRef::<html::Button>::new();
    let on_key = close_on_escape(open, button);

    view! {
        <div class="menu-wrap" on:keydown=on_key>
            <button type="button" class="menu-button user" node_ref=button
                aria-haspopup="menu" aria-expanded=move || open.get().to_string()
                aria-controls="user-menu" on:click=move |_| open.update(|o| *o = !*o)>
                <span class="visually-hidden">"User menu: "</span>
                // Initials drawn by CSS, so they are neither read out nor part of the name.
                <span class="avatar" aria-hidden="true" data-initials=initials(&viewer.name)></span>
                <span class="menu-button-value">{viewer.name.clone()}</span>
            </button>
            <ul id="user-menu" role="menu" aria-label="User" class="menu right" hidden=move || !open.get()>
                <li role="none" class="menu-header">{viewer.email.clone()}</li>
                <li role="none">
                    <a role="menuitem" class="menu-item" href="/profile" on:click=move |_| open.set(false)>
                        "Manage Your Profile"
                    </a>
                </li>
                <li role="none">
                    // A plain form post, so the browser loads the sign-in page afresh and
                    // keeps no portal page in its history to show again.
                    <form method="post" action=SignOut::url()>
                        <button type="submit" role="menuitem" class="menu-item">"Sign out"</button>
                    </form>
                </li>
            </ul>
        </div>
    }
}

fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .collect::<String>()
        .to_uppercase()
}
