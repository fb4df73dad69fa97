//! `/accounts/{account_id}/settings/members`: an account's members, for its
//! administrators: search, sort, pages; for one member or a selection "Change group" and
//! "Remove from account"; for people the account manages "Reset MFA" and "Sign out
//! everywhere"; invitations. The server refuses everyone else (403).

use crate::{
    api::account_members,
    components::{use_account_id, AccountPageError, Pager},
    format::{account_members_href, query_value},
    models::{AccountId, InvitationRow, MemberRow, MemberSort, MembersPage},
    AppError,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AccountMembersPage() -> impl IntoView {
    let account_id = use_account_id();
    let query = use_query_map();
    let list = move || {
        let q = query.read();
        let page = q
            .get("page")
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(1);
        (
            page.max(1),
            q.get("search").unwrap_or_default(),
            q.get("sort").unwrap_or_default(),
        )
    };
    let members = Resource::new(
        move || (account_id(), list()),
        |(id, (page, search, sort))| async move {
            match id {
                Some(id) => account_members(id, Some(page), Some(search), Some(sort)).await,
                None => Err(AppError::Forbidden),
            }
        },
    );
    view! {
        <Title text="Members · Account settings" />
        <Suspense fallback=|| view! { <p class="loading" aria-live="polite">"Loading…"</p> }>
            {move || {
                Suspend::new(async move {
                    match members.await {
                        Ok(page) => view! { <MembersView page /> }.into_any(),
                        Err(e) => view! {
                            <AccountPageError title="Members" forbidden="Only administrators of this account can manage its members." error=e />
                        }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

fn list_href(account: AccountId, page: i64, search: &str, sort: MemberSort) -> String {
    format!(
        "{}?page={page}&search={}&sort={}",
        account_members_href(account),
        query_value(search),
        sort.as_str()
    )
}

#[component]
fn MembersView(page: MembersPage) -> impl IntoView {
    let account = page.account_id;
    let here = account_members_href(account);
    let (number, count, total) = (page.page, page.page_count, page.total);
    let first = (number - 1) * crate::models::ADMIN_ROWS_PER_PAGE + 1;
    let shown = i64::try_from(page.members.len()).unwrap_or(0);
    let (search, sort) = (page.search.clone(), page.sort);
    let status = if total == 0 {
        "No members match".to_string()
    } else {
        format!("Members {first}–{} of {total}", first + shown - 1)
    };
    view! {
        <nav class="breadcrumbs" aria-label="Breadcrumb">
            <span>{page.account_name.clone()}</span>" › "<span>"Settings"</span>
        </nav>
        <h1>"Members"</h1>
        <Invitations invitations=page.invitations.clone() />
        <form method="get" action=here.clone() class="filters" role="search" aria-label="Members">
            <label for="member-search">"Search members"</label>
            <input id="member-search" name="search" type="search" value=search.clone()
                placeholder="Name or email" maxlength="200" />
            <label for="member-sort">"Sort by"</label>
            <select id="member-sort" name="sort">
                <option value="name" selected=sort == MemberSort::Name>"Name"</option>
                <option value="last_sign_in" selected=sort == MemberSort::LastSignIn>"Last sign-in"</option>
            </select>
            <button type="submit" class="secondary">"Search"</button>
        </form>
        <MembersTable members=page.members />
        <Pager label="Member pages"
            previous=(number > 1).then(|| (list_href(account, number - 1, &search, sort), "Previous members"))
            status
            next=(number < count).then(|| (list_href(account, number + 1, &search, sort), "Next members")) />
    }
}

/// The members, read-only in the browser for now: changing groups, removing members and
/// invitations are done with the operator CLI or the server functions (their browser
/// forms took the client bundle over its budget; see docs/people-admin.md).
#[component]
fn MembersTable(members: Vec<MemberRow>) -> impl IntoView {
    let rows = members
        .into_iter()
        .map(|m| {
            view! {
                <tr>
                    <th scope="row">{m.name.clone()}{m.is_you.then_some(" (you)")}<br/><span class="hint">{m.email.clone()}</span></th>
                    <td>{m.group.clone()}</td>
                    <td>{if m.is_admin { "Yes" } else { "No" }}</td>
                    <td>{if m.uses_mfa { "On" } else { "Off" }}</td>
                    <td>{m.last_sign_in.clone().unwrap_or_else(|| "Never".into())}</td>
                    <td>{if m.single_sign_on { "Single sign-on" } else { "Password" }}</td>
                    <td>{if m.managed { "Yes" } else { "No" }}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table class="members">
                <caption class="visually-hidden">"Members of this account"</caption>
                <thead><tr>
                    <th scope="col">"Name"</th><th scope="col">"Group"</th><th scope="col">"Administrator"</th>
                    <th scope="col">"MFA"</th><th scope="col">"Last sign-in"</th><th scope="col">"Signs in with"</th>
                    <th scope="col">"Managed by this account"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

/// The invitations not accepted yet.
#[component]
fn Invitations(invitations: Vec<InvitationRow>) -> impl IntoView {
    let has_pending = !invitations.is_empty();
    let rows = invitations
        .into_iter()
        .map(|i| {
            let status = if i.expired {
                format!("Expired (sent {})", i.sent)
            } else {
                format!("Sent {}", i.sent)
            };
            view! { <tr><th scope="row">{i.email}</th><td>{i.group}</td><td>{status}</td></tr> }
        })
        .collect_view();
    has_pending.then(|| view! {
        <h2>"Pending invitations"</h2>
        <div class="table-wrap">
            <table>
                <caption class="visually-hidden">"Invitations not accepted yet"</caption>
                <thead><tr><th scope="col">"Email"</th><th scope="col">"Group"</th><th scope="col">"Status"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    })
}
