use super::{direct_action, go_to, DirectAction};
use crate::{
    api::{SignOut, SwitchAccount},
    models::{AccountId, Viewer},
};
use leptos::{ev, html, prelude::*};
use server_fn::ServerFn;

/// The keyboard of a menu button and its menu (WAI-ARIA menu button pattern): the arrow
/// keys open the menu and move through its items (Home and End jump to the ends), Escape
/// closes it and returns focus to the button, Tab closes it and moves on.
fn menu_keys(
    open: RwSignal<bool>,
    button: NodeRef<html::Button>,
    menu: NodeRef<html::Ul>,
) -> impl Fn(ev::KeyboardEvent) + Copy + 'static {
    move |ev: ev::KeyboardEvent| {
        let key = ev.key();
        match key.as_str() {
            "Escape" if open.get_untracked() => {
                open.set(false);
                if let Some(b) = button.get_untracked() {
                    let _ = b.focus();
                }
            }
            "Tab" if open.get_untracked() => open.set(false),
            "ArrowDown" | "ArrowUp" | "Home" | "End" => {
                let was_open = open.get_untracked();
                if !was_open && (key == "Home" || key == "End") {
                    return;
                }
                ev.prevent_default();
                if was_open {
                    focus_item(menu, &key);
                } else {
                    // The items appear on the next frame.
                    open.set(true);
                    request_animation_frame(move || focus_item(menu, &key));
                }
            }
            _ => {}
        }
    }
}

/// Opens the menu on a click; when the click came from the keyboard (Enter or Space,
/// `detail` 0), focus moves to the first item as the pattern expects.
fn toggle_menu(open: RwSignal<bool>, menu: NodeRef<html::Ul>, ev: ev::MouseEvent) {
    let opening = !open.get_untracked();
    open.set(opening);
    if opening && ev.detail() == 0 {
        request_animation_frame(move || focus_item(menu, "Home"));
    }
}

/// Moves focus among the menu's items for `key` (from the focused item, wrapping).
#[cfg(not(any(feature = "hydrate", feature = "csr")))]
fn focus_item(_menu: NodeRef<html::Ul>, _key: &str) {}

/// Moves focus among the menu's items for `key` (from the focused item, wrapping).
#[cfg(any(feature = "hydrate", feature = "csr"))]
fn focus_item(menu: NodeRef<html::Ul>, key: &str) {
    use wasm_bindgen::JsCast;
    let Some(list) = menu.get_untracked() else {
        return;
    };
    let Ok(nodes) = list.query_selector_all("[role^='menuitem']:not([disabled])") else {
        return;
    };
    let items: Vec<web_sys::HtmlElement> = (0..nodes.length())
        .filter_map(|i| nodes.item(i))
        .filter_map(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
        .collect();
    if items.is_empty() {
        return;
    }
    let active = document().active_element();
    let current = items
        .iter()
        .position(|el| active.as_ref().is_some_and(|a| a.is_same_node(Some(el))));
    let last = items.len() - 1;
    let next = match (key, current) {
        ("End", _) | ("ArrowUp", None) => last,
        ("ArrowDown", Some(i)) => (i + 1) % items.len(),
        ("ArrowUp", Some(i)) => i.checked_sub(1).unwrap_or(last),
        _ => 0,
    };
    if let Some(el) = items.get(next) {
        let _ = el.focus();
    }
}

/// The account menu's entries for `viewer`: (id, name, type), and the active account.
pub fn account_choices(viewer: &Viewer) -> (Vec<(AccountId, String, String)>, Option<AccountId>) {
    let accounts = viewer
        .memberships
        .iter()
        .map(|m| {
            (
                m.account_id,
                m.account_name.clone(),
                m.kind.label().to_string(),
            )
        })
        .collect();
    (accounts, viewer.active_account_id)
}

/// The "switch account" action of an island. Once switched, the page loads again for
/// the new account; an account that requires MFA the person has not set up sends them to
/// set-up first. A refusal is returned for the island to show.
fn switch_action() -> (
    DirectAction<SwitchAccount>,
    impl Fn() -> Option<String> + Copy,
) {
    let action = direct_action::<SwitchAccount>();
    Effect::new(move |_| {
        if let Some(Ok(setup)) = action.value().get() {
            go_to(setup.as_deref());
        }
    });
    let error = move || {
        action
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    };
    (action, error)
}

/// "Switch account": lists the person's accounts by name, marks the active one, and
/// stores the chosen one on the session.
/// `accounts` are (id, name, type) by name; `active` is the session's account.
#[island]
pub fn AccountSwitcher(
    accounts: Vec<(AccountId, String, String)>,
    active: Option<AccountId>,
) -> impl IntoView {
    let (action, error) = switch_action();
    let open = RwSignal::new(false);
    let button = NodeRef::<html::Button>::new();
    let menu = NodeRef::<html::Ul>::new();
    let on_key = menu_keys(open, button, menu);
    let active_name = accounts
        .iter()
        .find(|(id, _, _)| Some(*id) == active)
        .map(|(_, name, _)| name.clone())
        .unwrap_or_else(|| "No account".into());
    let has_accounts = !accounts.is_empty();
    let items = accounts
        .into_iter()
        .map(|(id, name, kind)| {
            let active = active == Some(id);
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
                on:click=move |ev| toggle_menu(open, menu, ev)>
                <span class="visually-hidden">"Switch account: "</span>
                <span class="menu-button-caption">"Account "</span>
                <span class="menu-button-value">{active_name}</span>
            </button>
            <ul id="account-menu" role="menu" aria-label="Your accounts" class="menu" node_ref=menu
                hidden=move || !open.get()>
                {items}
            </ul>
            <p role="status" class="menu-error">{error}</p>
        </div>
    }
}

/// "Switch to" in the Accounts section: the same action as the account menu.
#[island]
pub fn SwitchToButton(account_id: AccountId, account_name: String) -> impl IntoView {
    let (action, error) = switch_action();
    view! {
        <button type="button" class="secondary" aria-label=format!("Switch to {account_name}")
            disabled=move || action.pending().get()
            on:click=move |_| { action.dispatch(SwitchAccount { account_id }); }>
            "Switch to"
        </button>
        <span role="status" class="field-error">{error}</span>
    }
}

/// The user menu at the top right: the person's name; "Manage Your Profile" and
/// "Sign out".
#[island]
pub fn UserMenu(name: String, email: String, initials: String) -> impl IntoView {
    let open = RwSignal::new(false);
    let button = NodeRef::<html::Button>::new();
    let menu = NodeRef::<html::Ul>::new();
    let on_key = menu_keys(open, button, menu);

    view! {
        <div class="menu-wrap" on:keydown=on_key>
            <button type="button" class="menu-button user" node_ref=button
                aria-haspopup="menu" aria-expanded=move || open.get().to_string()
                aria-controls="user-menu" on:click=move |ev| toggle_menu(open, menu, ev)>
                <span class="visually-hidden">"User menu: "</span>
                // Initials drawn by CSS, so they are neither read out nor part of the name.
                <span class="avatar" aria-hidden="true" data-initials=initials></span>
                <span class="menu-button-value">{name.clone()}</span>
            </button>
            <ul id="user-menu" role="menu" aria-label="User" class="menu right" node_ref=menu
                hidden=move || !open.get()>
                <li role="none" class="menu-header">{email}</li>
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

/// Up to two initials of a name, upper-cased (computed on the server: the browser then
/// needs no Unicode case tables).
pub fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .collect::<String>()
        .to_uppercase()
}
