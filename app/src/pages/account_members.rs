//! `/accounts/{account_id}/settings/members`: an account's members, for its
//! administrators: search, sort, pages; for one member or a selection "Change group" and
//! "Remove from account"; for people the account manages "Reset MFA" and "Sign out
//! everywhere"; invitations. The server refuses everyone else (403).

use crate::{
    api::account_members,
    components::{use_account_id, use_done, AccountPageError, FormOutcome, Pager},
    format::{account_members_href, query_value},
    models::{AccountId, GroupInfo, InvitationRow, MemberRow, MemberSort, MembersPage},
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
                        Ok(page) => view! { <MembersView page done=done_text(use_done()) /> }.into_any(),
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

/// "1 member", "3 members".
fn count(n: &str, one: &str, many: &str) -> String {
    format!("{n} {}", if n == "1" { one } else { many })
}

/// The confirmation for `?done=` (what the server's form handler names; counts only).
fn done_text(done: Option<String>) -> Option<String> {
    let done = done?;
    let number = |p: &str| {
        done.strip_prefix(p)
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_string)
    };
    if let Some(n) = number("moved-") {
        return Some(format!(
            "Moved {} to the chosen group.",
            count(&n, "member", "members")
        ));
    }
    if let Some(n) = number("removed-") {
        return Some(format!(
            "Removed {} from the account. They lose access at their next request and were sent a notice.",
            count(&n, "member", "members")
        ));
    }
    if let Some(n) = number("signed-out-") {
        return Some(format!(
            "Signed out everywhere: {} ended. They were sent a notice.",
            count(&n, "session", "sessions")
        ));
    }
    if let Some((invited, added)) = done
        .strip_prefix("invited-")
        .and_then(|r| r.split_once('-'))
        .filter(|(a, b)| {
            [a, b]
                .iter()
                .all(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
        })
    {
        let mut text = format!("Sent {}.", count(invited, "invitation", "invitations"));
        if added != "0" {
            text.push_str(&format!(
                " Added {} at once: this account's single sign-on domain vouches for them.",
                count(added, "person", "people")
            ));
        }
        return Some(text);
    }
    Some(
        match done.as_str() {
            "resent" => "Invitation sent again, with a new link valid for 7 days.",
            "revoked" => "Invitation revoked: its link no longer works.",
            "mfa-reset" => "Multi-factor authentication reset: they set it up again at their next sign-in; their sessions ended and they were sent a notice.",
            _ => return None,
        }
        .to_string(),
    )
}

/// Where this page's plain forms post (the server's `web::forms`).
fn action_href(account: AccountId) -> String {
    format!("{}/action", account_members_href(account))
}

#[component]
fn MembersView(page: MembersPage, done: Option<String>) -> impl IntoView {
    let account = page.account_id;
    let here = account_members_href(account);
    let (number, pages, total) = (page.page, page.page_count, page.total);
    let first = (number - 1) * crate::models::ADMIN_ROWS_PER_PAGE + 1;
    let shown = i64::try_from(page.members.len()).unwrap_or(0);
    let (search, sort) = (page.search.clone(), page.sort);
    let back = list_href(account, number, &search, sort);
    let status = if total == 0 {
        "No members match".to_string()
    } else {
        format!("Members {first}–{} of {total}", first + shown - 1)
    };
    let forms = Forms {
        action: action_href(account),
        back,
        account_name: page.account_name.clone(),
        groups: page.groups.clone(),
    };
    view! {
        <nav class="breadcrumbs" aria-label="Breadcrumb">
            <span>{page.account_name.clone()}</span>" › "<span>"Settings"</span>
        </nav>
        <h1>"Members"</h1>
        <FormOutcome done />
        <InviteForm forms=forms.clone() />
        <Invitations invitations=page.invitations.clone() forms=forms.clone() />
        <h2>"People in this account"</h2>
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
        <BulkForm forms=forms.clone() />
        <MembersTable members=page.members forms />
        <Pager label="Member pages"
            previous=(number > 1).then(|| (list_href(account, number - 1, &search, sort), "Previous members"))
            status
            next=(number < pages).then(|| (list_href(account, number + 1, &search, sort), "Next members")) />
    }
}

/// What every form on the page needs: where it posts, the page to come back to, the
/// account's name and groups.
#[derive(Clone)]
struct Forms {
    action: String,
    back: String,
    account_name: String,
    groups: Vec<GroupInfo>,
}

impl Forms {
    fn back(&self) -> impl IntoView {
        view! { <input type="hidden" name="back" value=self.back.clone() /> }
    }

    /// The account's groups as choices, `current` chosen.
    fn group_options(&self, current: Option<&str>) -> impl IntoView {
        self.groups
            .iter()
            .map(|g| {
                let label = if g.is_admin {
                    format!("{} (administrators)", g.name)
                } else {
                    g.name.clone()
                };
                view! { <option value=g.id.to_string() selected=current == Some(g.name.as_str())>{label}</option> }
            })
            .collect_view()
    }
}

/// "Invite people": a button opening the form (the browser's popover, no script).
#[component]
fn InviteForm(forms: Forms) -> impl IntoView {
    view! {
        <p>
            <button type="button" class="primary" popovertarget="invite-people">"Invite people"</button>
        </p>
        <div id="invite-people" popover="auto" class="modal" role="dialog" aria-labelledby="invite-heading">
            <h2 id="invite-heading">"Invite people"</h2>
            <form method="post" action=forms.action.clone() class="form-grid">
                {forms.back()}
                <input type="hidden" name="op" value="invite" />
                <div class="field">
                    <label for="invite-emails">"Email addresses"</label>
                    <textarea id="invite-emails" name="emails" rows="4" required maxlength="5000"
                        aria-describedby="invite-hint"></textarea>
                    <p id="invite-hint" class="hint">
                        "One or more, separated by commas, spaces or lines (at most 50). Each gets a "
                        "link valid for 7 days. People whose email domain this account proved for "
                        "single sign-on are added at once instead: the directory vouches for them."
                    </p>
                </div>
                <div class="field">
                    <label for="invite-group">"Group"</label>
                    <select id="invite-group" name="group" required>{forms.group_options(None)}</select>
                </div>
                <div class="row-actions">
                    <button type="submit" class="primary">"Send invitations"</button>
                    <button type="button" class="secondary" popovertarget="invite-people" popovertargetaction="hide">"Cancel"</button>
                </div>
            </form>
        </div>
    }
}

/// A one-button form acting on one thing (`op` with `field`=`value`).
fn one_button(
    forms: &Forms,
    op: &'static str,
    field: &'static str,
    value: String,
    label: &'static str,
    class: &'static str,
) -> impl IntoView {
    view! {
        <form method="post" action=forms.action.clone() class="inline">
            {forms.back()}
            <input type="hidden" name="op" value=op />
            <input type="hidden" name=field value=value />
            <button type="submit" class=class>{label}</button>
        </form>
    }
}

/// Moves or removes the members ticked in the table (their checkboxes belong to this
/// form through `form="bulk-members"`).
#[component]
fn BulkForm(forms: Forms) -> impl IntoView {
    view! {
        <form id="bulk-members" method="post" action=forms.action.clone() class="bulk"
            aria-label="Selected members">
            {forms.back()}
            <label for="bulk-group">"Group for the selected members"</label>
            <select id="bulk-group" name="group">{forms.group_options(None)}</select>
            <button type="submit" name="op" value="move" class="secondary">"Change group of selected"</button>
            <button type="submit" name="op" value="remove" class="danger">"Remove selected from account"</button>
        </form>
    }
}

#[component]
fn MembersTable(members: Vec<MemberRow>, forms: Forms) -> impl IntoView {
    let rows = members
        .into_iter()
        .map(|m| {
            let id = m.user_id.get().to_string();
            let select = (!m.is_you).then(|| view! {
                <input type="checkbox" form="bulk-members" name="person" value=id.clone()
                    aria-label=format!("Select {}", m.name) />
            });
            view! {
                <tr>
                    <td>{select}</td>
                    <th scope="row">{m.name.clone()}{m.is_you.then_some(" (you)")}<br/><span class="hint">{m.email.clone()}</span></th>
                    <td>{m.group.clone()}</td>
                    <td>{if m.is_admin { "Yes" } else { "No" }}</td>
                    <td>{if m.uses_mfa { "On" } else { "Off" }}</td>
                    <td>{m.last_sign_in.clone().unwrap_or_else(|| "Never".into())}</td>
                    <td>{if m.single_sign_on { "Single sign-on" } else { "Password" }}</td>
                    <td>{if m.managed { "Yes" } else { "No" }}</td>
                    <td><MemberActions member=m forms=forms.clone() /></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table class="members">
                <caption class="visually-hidden">"Members of this account"</caption>
                <thead><tr>
                    <th scope="col"><span class="visually-hidden">"Select"</span></th>
                    <th scope="col">"Name"</th><th scope="col">"Group"</th><th scope="col">"Administrator"</th>
                    <th scope="col">"MFA"</th><th scope="col">"Last sign-in"</th><th scope="col">"Signs in with"</th>
                    <th scope="col">"Managed by this account"</th><th scope="col">"Actions"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

/// One member's buttons: "Change group", "Remove from account" (confirmed when it is the
/// administrator themselves) and, for people this account manages, the help-desk actions.
#[component]
fn MemberActions(member: MemberRow, forms: Forms) -> impl IntoView {
    let id = member.user_id.get().to_string();
    let select_id = format!("group-of-{id}");
    let remove = if member.is_you {
        let panel = format!("remove-self-{id}");
        let (opener, closer) = (panel.clone(), panel.clone());
        let heading = format!("{panel}-heading");
        let labelled_by = heading.clone();
        view! {
            <button type="button" class="danger" popovertarget=opener>"Remove from account"</button>
            <div id=panel popover="auto" class="modal" role="dialog" aria-labelledby=labelled_by>
                <h2 id=heading>"Remove yourself?"</h2>
                <p>{format!(
                    "You will lose access to {} at once, and only another administrator can add you again.",
                    forms.account_name
                )}</p>
                <form method="post" action=forms.action.clone() class="row-actions">
                    {forms.back()}
                    <input type="hidden" name="op" value="remove" />
                    <input type="hidden" name="person" value=id.clone() />
                    <input type="hidden" name="confirm_self" value="yes" />
                    <button type="submit" class="danger">"Yes, remove me"</button>
                    <button type="button" class="secondary" popovertarget=closer popovertargetaction="hide">"Cancel"</button>
                </form>
            </div>
        }
        .into_any()
    } else {
        one_button(
            &forms,
            "remove",
            "person",
            id.clone(),
            "Remove from account",
            "danger",
        )
        .into_any()
    };
    // Help-desk actions only for people whose email domain this account proved, and
    // never on oneself (one's own Security section does that).
    let helpdesk = (member.managed && !member.is_you).then(|| {
        view! {
            {member.uses_mfa.then(|| one_button(&forms, "reset-mfa", "person", id.clone(), "Reset MFA", "secondary"))}
            {one_button(&forms, "sign-out", "person", id.clone(), "Sign out everywhere", "secondary")}
        }
    });
    view! {
        <div class="row-actions">
            <form method="post" action=forms.action.clone() class="inline">
                {forms.back()}
                <input type="hidden" name="person" value=id.clone() />
                <label class="visually-hidden" for=select_id.clone()>{format!("Group for {}", member.name)}</label>
                <select id=select_id name="group">{forms.group_options(Some(&member.group))}</select>
                <button type="submit" name="op" value="move" class="secondary">"Change group"</button>
            </form>
            {remove}
            {helpdesk}
        </div>
    }
}

/// The invitations not accepted yet, each with "Resend" and "Revoke".
#[component]
fn Invitations(invitations: Vec<InvitationRow>, forms: Forms) -> impl IntoView {
    let has_pending = !invitations.is_empty();
    let rows = invitations
        .into_iter()
        .map(|i| {
            let status = if i.expired {
                format!("Expired (sent {})", i.sent)
            } else {
                format!("Sent {}", i.sent)
            };
            let id = i.id.to_string();
            view! {
                <tr>
                    <th scope="row">{i.email}</th><td>{i.group}</td><td>{status}</td>
                    <td><div class="row-actions">
                        {one_button(&forms, "resend", "invitation", id.clone(), "Resend", "secondary")}
                        {one_button(&forms, "revoke", "invitation", id, "Revoke", "danger")}
                    </div></td>
                </tr>
            }
        })
        .collect_view();
    has_pending.then(|| view! {
        <h2>"Pending invitations"</h2>
        <div class="table-wrap">
            <table>
                <caption class="visually-hidden">"Invitations not accepted yet"</caption>
                <thead><tr><th scope="col">"Email"</th><th scope="col">"Group"</th><th scope="col">"Status"</th><th scope="col">"Actions"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    })
}
