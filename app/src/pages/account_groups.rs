//! `/accounts/{account_id}/settings/groups`: an account's groups, for its
//! administrators: create, rename, delete (only when empty), and the administrator flag
//! (the account always keeps an administrator). The server refuses everyone else (403).

use crate::{
    api::account_groups,
    components::{use_account_id, use_done, AccountPageError, FormOutcome},
    format::{account_groups_href, account_members_href},
    models::{AccountId, GroupInfo},
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
                            <FormOutcome done=done_text(use_done()) />
                            <GroupsEditor account groups />
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

/// The confirmation for `?done=` (what the server's form handler names).
fn done_text(done: Option<String>) -> Option<String> {
    Some(
        match done?.as_str() {
            "group-created" => "Group created.",
            "group-renamed" => "Group renamed.",
            "group-deleted" => "Group deleted.",
            "admin-on" => "The group's members now administer the account.",
            "admin-off" => "The group's members no longer administer the account.",
            _ => return None,
        }
        .to_string(),
    )
}

/// The groups with "Rename", the administrator flag and "Delete" (empty groups only),
/// and "Create group": plain forms posted to the server's `web::forms`.
#[component]
fn GroupsEditor(account: AccountId, groups: Vec<GroupInfo>) -> impl IntoView {
    let action = format!("{}/action", account_groups_href(account));
    let back = account_groups_href(account);
    let form = move |op: &'static str, group: i64, body: AnyView| {
        view! {
            <form method="post" action=action.clone() class="inline">
                <input type="hidden" name="back" value=back.clone() />
                <input type="hidden" name="op" value=op />
                <input type="hidden" name="group" value=group.to_string() />
                {body}
            </form>
        }
    };
    let rows = groups
        .iter()
        .map(|g| {
            let rename_id = format!("rename-{}", g.id);
            let rename = form("rename", g.id, view! {
                <label class="visually-hidden" for=rename_id.clone()>{format!("New name for {}", g.name)}</label>
                <input id=rename_id name="name" type="text" required maxlength="100" value=g.name.clone() />
                <button type="submit" class="secondary">"Rename"</button>
            }.into_any());
            let flag = if g.is_admin {
                form("set-admin", g.id, view! {
                    <input type="hidden" name="is_admin" value="false" />
                    <button type="submit" class="secondary">"Remove administrator rights"</button>
                }.into_any())
            } else {
                form("set-admin", g.id, view! {
                    <input type="hidden" name="is_admin" value="true" />
                    <button type="submit" class="secondary">"Make administrators"</button>
                }.into_any())
            };
            let delete = if g.members == 0 {
                form("delete", g.id, view! { <button type="submit" class="danger">"Delete"</button> }.into_any()).into_any()
            } else {
                view! { <span class="hint">"Move its members to delete it"</span> }.into_any()
            };
            view! {
                <tr>
                    <th scope="row">{g.name.clone()}</th>
                    <td>{if g.is_admin { "Yes" } else { "No" }}</td>
                    <td>{g.members}</td>
                    <td><div class="row-actions">{rename}{flag}{delete}</div></td>
                </tr>
            }
        })
        .collect_view();
    let action = format!("{}/action", account_groups_href(account));
    view! {
        <div class="table-wrap">
            <table>
                <caption class="visually-hidden">"Groups of this account"</caption>
                <thead><tr><th scope="col">"Group"</th><th scope="col">"Administrators"</th><th scope="col">"Members"</th><th scope="col">"Actions"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <section class="card" aria-labelledby="new-group-heading">
            <h2 id="new-group-heading">"New group"</h2>
            <form method="post" action=action class="form-grid">
                <input type="hidden" name="back" value=account_groups_href(account) />
                <input type="hidden" name="op" value="create" />
                <div class="field">
                    <label for="group-name">"Group name"</label>
                    <input id="group-name" name="name" type="text" required maxlength="100" />
                </div>
                <div class="field checkbox">
                    <input id="group-admin" name="is_admin" type="checkbox" value="yes" />
                    <label for="group-admin">"Its members administer the account"</label>
                </div>
                <button type="submit" class="primary">"Create group"</button>
            </form>
        </section>
    }
}
