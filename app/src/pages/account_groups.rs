//! `/accounts/{account_id}/settings/groups`: an account's groups, for its
//! administrators: create, rename, delete (only when empty), and the administrator flag
//! (the account always keeps an administrator). The server refuses everyone else (403).

use crate::{
    api::{account_groups, CreateGroup, DeleteGroup, RenameGroup, SetGroupAdmin},
    components::{
        direct_action, reload_when_done, use_account_id, use_done, AccountPageError, ServerForm,
        SubmitButton,
    },
    format::{account_groups_href, account_members_href, step_up_href},
    models::{AccountId, GroupInfo},
    validation::MAX_NAME_CHARS,
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
    let done = use_done();
    view! {
        <Title text="Groups · Account settings" />
        <Suspense fallback=|| view! { <p class="loading" aria-live="polite">"Loading…"</p> }>
            {move || {
                let done = done.clone();
                Suspend::new(async move {
                    match groups.await {
                        Ok((account, (name, groups))) => view! {
                            <nav class="breadcrumbs" aria-label="Breadcrumb">
                                <span>{name}</span>" › "<span>"Settings"</span>
                            </nav>
                            <h1>"Groups"</h1>
                            <p>"Every member is in one group; members of administrator groups administer the account. "
                                <a href=account_members_href(account)>"Move members"</a>" on the members page."</p>
                            <GroupsEditor account groups done />
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

fn account_of(f: &crate::components::Fields) -> AccountId {
    f.get("account_id")
        .and_then(|a| a.parse().ok())
        .unwrap_or(AccountId(0))
}

fn group_of(f: &crate::components::Fields) -> i64 {
    f.get("group_id").and_then(|g| g.parse().ok()).unwrap_or(0)
}

#[island]
fn GroupsEditor(account: AccountId, groups: Vec<GroupInfo>, done: Option<String>) -> impl IntoView {
    let create = direct_action::<CreateGroup>();
    let rename = direct_action::<RenameGroup>();
    let delete = direct_action::<DeleteGroup>();
    let flag = direct_action::<SetGroupAdmin>();
    reload_when_done(create.value(), |_| "created".into());
    reload_when_done(rename.value(), |_| "renamed".into());
    reload_when_done(delete.value(), |_| "deleted".into());
    reload_when_done(flag.value(), |_| "flag".into());
    let here = account_groups_href(account);
    let done_text = match done.as_deref() {
        Some("created") => Some("The group was created."),
        Some("renamed") => Some("The group was renamed."),
        Some("deleted") => Some("The group was deleted."),
        Some("flag") => Some("The group's administrator rights were changed."),
        _ => None,
    };
    let error = move || {
        [
            create.value().get().and_then(|r| r.err()),
            rename.value().get().and_then(|r| r.err()),
            delete.value().get().and_then(|r| r.err()),
            flag.value().get().and_then(|r| r.err()),
        ]
        .into_iter()
        .flatten()
        .next()
    };
    let acted = move || {
        create.value().get().is_some()
            || rename.value().get().is_some()
            || delete.value().get().is_some()
            || flag.value().get().is_some()
    };
    let rows = groups
        .into_iter()
        .map(|g| {
            let id = g.id.to_string();
            let name = g.name.clone();
            let (id_rename, id_flag, id_delete) = (id.clone(), id.clone(), id);
            let (name_rename, name_flag, name_delete) = (name.clone(), name.clone(), name);
            view! {
                <tr>
                    <th scope="row">{g.name.clone()}</th>
                    <td>{if g.is_admin { "Yes" } else { "No" }}</td>
                    <td>{g.members}</td>
                    <td class="row-actions">
                        <ServerForm action=rename class="inline" read=|f| RenameGroup {
                            account_id: account_of(f), group_id: group_of(f), name: f.text("name"),
                        }>
                            <input type="hidden" name="account_id" value=account.to_string() />
                            <input type="hidden" name="group_id" value=id_rename />
                            <input name="name" type="text" required maxlength=MAX_NAME_CHARS.to_string()
                                value=name_rename.clone() aria-label=format!("New name for {name_rename}") />
                            <SubmitButton pending=rename.pending() label="Rename" busy="Renaming…" class="secondary" />
                        </ServerForm>
                        <ServerForm action=flag class="inline" read=|f| SetGroupAdmin {
                            account_id: account_of(f), group_id: group_of(f),
                            is_admin: f.get("is_admin").as_deref() == Some("true"),
                        }>
                            <input type="hidden" name="account_id" value=account.to_string() />
                            <input type="hidden" name="group_id" value=id_flag />
                            <input type="hidden" name="is_admin" value=(!g.is_admin).to_string() />
                            <button type="submit" class="secondary" aria-label=format!(
                                "{} {name_flag}", if g.is_admin { "Remove administrator rights from" } else { "Give administrator rights to" })>
                                {if g.is_admin { "Remove administrator rights" } else { "Make administrators" }}
                            </button>
                        </ServerForm>
                        {if g.members == 0 {
                            view! {
                                <ServerForm action=delete class="inline" read=|f| DeleteGroup {
                                    account_id: account_of(f), group_id: group_of(f),
                                }>
                                    <input type="hidden" name="account_id" value=account.to_string() />
                                    <input type="hidden" name="group_id" value=id_delete />
                                    <button type="submit" class="danger" aria-label=format!("Delete {name_delete}")>"Delete"</button>
                                </ServerForm>
                            }.into_any()
                        } else {
                            view! { <span class="hint">"Move its members to delete it"</span> }.into_any()
                        }}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        {move || (done_text.is_some() && !acted())
            .then(|| view! { <p class="ok" role="status" tabindex="-1" autofocus>{done_text}</p> })}
        <div role="alert" class="form-error" aria-live="assertive">
            {move || error().map(|e| match e {
                AppError::StepUpRequired { .. } => view! {
                    <p>"Changing who administers the account needs you to confirm it's you. "
                        <a href=step_up_href(&here)>"Confirm it's you"</a>", then try again."</p>
                }.into_any(),
                e => view! { <p>{e.to_string()}</p> }.into_any(),
            })}
        </div>
        <div class="table-wrap">
            <table>
                <caption class="visually-hidden">"Groups of this account"</caption>
                <thead><tr>
                    <th scope="col">"Group"</th><th scope="col">"Administrators"</th>
                    <th scope="col">"Members"</th><th scope="col">"Actions"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <section class="card" aria-labelledby="new-group-heading">
            <h2 id="new-group-heading">"New group"</h2>
            <ServerForm action=create class="form-grid" read=|f| CreateGroup {
                account_id: account_of(f), name: f.text("name"), is_admin: f.get("is_admin"),
            }>
                <input type="hidden" name="account_id" value=account.to_string() />
                <label for="group-name">"Group name"</label>
                <input id="group-name" name="name" type="text" required maxlength=MAX_NAME_CHARS.to_string() />
                <span></span>
                <div class="checkbox">
                    <input id="group-admin" name="is_admin" type="checkbox" value="on" />
                    <label for="group-admin">"Members administer the account"</label>
                </div>
                <span></span>
                <div><SubmitButton pending=create.pending() label="Create group" busy="Creating…" /></div>
            </ServerForm>
        </section>
    }
}
