//! `/accounts/{account_id}/settings/groups`: an account's groups, for its
//! administrators: create, rename, delete (only when empty), and the administrator flag
//! (the account always keeps an administrator). The server refuses everyone else (403).

use crate::{
    api::account_groups,
    components::{use_account_id, AccountPageError},
    format::account_members_href,
    models::GroupInfo,
    AppError,
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AccountGroupsPage() -> impl IntoView {
    let account_id = use_account_id();
    let groups = Resource::new(account_id, |id| async move {
        match id {
            Some(id) => account_groups(id).await.map(|g| (id, g)),
            None => Err(AppError::Forbidden),
        }
    });
    view! {
        <Title text="Groups · Account settings" />
        <Suspense fallback=|| view! { <p class="loading" aria-live="polite">"Loading…"</p> }>
            {move || {
                Suspend::new(async move {
                    match groups.await {
                        Ok((account, (name, groups))) => view! {
                            <nav class="breadcrumbs" aria-label="Breadcrumb">
                                <span>{name}</span>" › "<span>"Settings"</span>
                            </nav>
                            <h1>"Groups"</h1>
                            <p>"Every member is in one group; members of administrator groups administer the account. "
                                <a href=account_members_href(account)>"Move members"</a>" on the members page."</p>
                            <GroupsEditor groups />
                        }.into_any(),
                        Err(e) => view! {
                            <AccountPageError title="Groups" forbidden="Only administrators of this account can manage its groups." error=e />
                        }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

/// The groups, read-only in the browser for now (the operator CLI changes them; their
/// browser forms took the client bundle over its budget, see docs/people-admin.md).
#[component]
fn GroupsEditor(groups: Vec<GroupInfo>) -> impl IntoView {
    let rows = groups
        .into_iter()
        .map(|g| view! {
            <tr><th scope="row">{g.name}</th><td>{if g.is_admin { "Yes" } else { "No" }}</td><td>{g.members}</td></tr>
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table>
                <caption class="visually-hidden">"Groups of this account"</caption>
                <thead><tr><th scope="col">"Group"</th><th scope="col">"Administrators"</th><th scope="col">"Members"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}
