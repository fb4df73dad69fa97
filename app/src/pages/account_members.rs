//! `/accounts/{account_id}/settings/members`: an account's members, for its
//! administrators: search, sort, pages; for one member or a selection "Change group" and
//! "Remove from account"; for people the account manages "Reset MFA" and "Sign out
//! everywhere"; invitations. The server refuses everyone else (403).

use crate::{
    api::{
        account_members, ChangeMemberGroup, HelpdeskResetMfa, HelpdeskSignOut, InvitePeople,
        RemoveMembers, ResendInvitation, RevokeInvitation,
    },
    components::{
        direct_action, reload_when_done, step_up_needed, use_account_id, use_done,
        AccountPageError, Pager, ServerForm, SubmitButton,
    },
    format::{account_members_href, query_value, step_up_href},
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
    let done = use_done();
    view! {
        <Title text="Members · Account settings" />
        <Suspense fallback=|| view! { <p class="loading" aria-live="polite">"Loading…"</p> }>
            {move || {
                let done = done.clone();
                Suspend::new(async move {
                    match members.await {
                        Ok(page) => view! { <MembersView page done /> }.into_any(),
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
fn MembersView(page: MembersPage, done: Option<String>) -> impl IntoView {
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
        <Invitations account groups=page.groups.clone() invitations=page.invitations.clone() here=here.clone() />
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
        <MembersTable account members=page.members groups=page.groups done here />
        <Pager label="Member pages"
            previous=(number > 1).then(|| (list_href(account, number - 1, &search, sort), "Previous members"))
            status
            next=(number < count).then(|| (list_href(account, number + 1, &search, sort), "Next members")) />
    }
}

/// The table with its actions: for one member (the row's own forms, which also work
/// before the page is interactive) or for the members selected with the checkboxes.
#[island]
fn MembersTable(
    account: AccountId,
    members: Vec<MemberRow>,
    groups: Vec<GroupInfo>,
    done: Option<String>,
    here: String,
) -> impl IntoView {
    let change = direct_action::<ChangeMemberGroup>();
    let remove = direct_action::<RemoveMembers>();
    let reset_mfa = direct_action::<HelpdeskResetMfa>();
    let sign_out = direct_action::<HelpdeskSignOut>();
    reload_when_done(change.value(), |n| format!("moved-{n}"));
    reload_when_done(remove.value(), |n| format!("removed-{n}"));
    reload_when_done(reset_mfa.value(), |_| "mfa-1".into());
    reload_when_done(sign_out.value(), |_| "signedout-1".into());
    let done_text = done.as_deref().and_then(|d| {
        let (what, n) = d.split_once('-')?;
        let n: usize = n.parse().ok()?;
        let people = if n == 1 {
            "1 member".to_string()
        } else {
            format!("{n} members")
        };
        match what {
            "moved" => Some(format!("{people} moved to the new group.")),
            "removed" => Some(format!("{people} removed from the account.")),
            "mfa" => Some("Multi-factor authentication was reset; the person was signed out and told by mail.".into()),
            "signedout" => Some("The person was signed out everywhere and told by mail.".into()),
            _ => None,
        }
    });
    let shown = done_text.is_some();
    let done_text = done_text.unwrap_or_default();
    let needs_step_up = move || {
        step_up_needed(&change.value().get()).is_some()
            || step_up_needed(&remove.value().get()).is_some()
            || step_up_needed(&reset_mfa.value().get()).is_some()
            || step_up_needed(&sign_out.value().get()).is_some()
    };
    let error = move || {
        let e = change
            .value()
            .get()
            .and_then(|r| r.err())
            .or_else(|| remove.value().get().and_then(|r| r.err()))
            .or_else(|| reset_mfa.value().get().and_then(|r| r.err()))
            .or_else(|| sign_out.value().get().and_then(|r| r.err()));
        e.filter(|e| !matches!(e, AppError::StepUpRequired { .. }))
            .map(|e| e.to_string())
    };
    let group_options = move |current: Option<&str>| {
        groups
            .iter()
            .map(|g| {
                let label = if g.is_admin { format!("{} (administrators)", g.name) } else { g.name.clone() };
                view! { <option value=g.id.to_string() selected=current == Some(g.name.as_str())>{label}</option> }
            })
            .collect_view()
    };
    let bulk_options = group_options(None);
    let selected = RwSignal::new(Vec::<String>::new());
    let rows = members
        .into_iter()
        .map(|m| {
            let id = m.user_id.to_string();
            let options = group_options(Some(&m.group));
            let row_label = format!("{} ({})", m.name, m.email);
            let (id_move, id_remove, id_mfa, id_out) = (id.clone(), id.clone(), id.clone(), id.clone());
            let (label_move, label_remove, label_mfa, label_out) =
                (row_label.clone(), row_label.clone(), row_label.clone(), row_label);
            let (managed, uses_mfa) = (m.managed, m.uses_mfa);
            view! {
                <tr>
                    <td><input type="checkbox" value=id.clone() aria-label=format!("Select {}", m.name)
                        on:change={
                            let id = id.clone();
                            move |ev| {
                                let on = event_target_checked(&ev);
                                selected.update(|s| {
                                    s.retain(|x| *x != id);
                                    if on { s.push(id.clone()) }
                                });
                            }
                        } /></td>
                    <th scope="row">{m.name.clone()}{m.is_you.then_some(" (you)")}<br/><span class="hint">{m.email.clone()}</span></th>
                    <td>{m.group.clone()}</td>
                    <td>{if m.is_admin { "Yes" } else { "No" }}</td>
                    <td>{if m.uses_mfa { "On" } else { "Off" }}</td>
                    <td>{m.last_sign_in.clone().unwrap_or_else(|| "Never".into())}</td>
                    <td>{if m.single_sign_on { "Single sign-on" } else { "Password" }}</td>
                    <td class="row-actions">
                        <ServerForm action=change class="inline" read=|f| ChangeMemberGroup {
                            account_id: f.get("account_id").and_then(|a| a.parse().ok()).unwrap_or(AccountId(0)),
                            people: f.text("people"),
                            group_id: f.text("group_id"),
                        }>
                            <input type="hidden" name="account_id" value=account.to_string() />
                            <input type="hidden" name="people" value=id_move />
                            <select name="group_id" aria-label=format!("Group for {label_move}")>{options}</select>
                            <SubmitButton pending=change.pending() label="Change group" busy="Changing…" class="secondary" />
                        </ServerForm>
                        <ServerForm action=remove class="inline" read=|f| RemoveMembers {
                            account_id: f.get("account_id").and_then(|a| a.parse().ok()).unwrap_or(AccountId(0)),
                            people: f.text("people"),
                            confirm_self: f.get("confirm_self"),
                        }>
                            <input type="hidden" name="account_id" value=account.to_string() />
                            <input type="hidden" name="people" value=id_remove />
                            {m.is_you.then(|| view! {
                                <label class="checkbox"><input type="checkbox" name="confirm_self" value="on" required />
                                    "Remove me: I lose access to this account"</label>
                            })}
                            <button type="submit" class="danger" aria-label=format!("Remove {label_remove} from account")>"Remove from account"</button>
                        </ServerForm>
                        {(managed && uses_mfa).then(|| view! {
                            <ServerForm action=reset_mfa class="inline" read=|f| HelpdeskResetMfa {
                                account_id: f.get("account_id").and_then(|a| a.parse().ok()).unwrap_or(AccountId(0)),
                                person: crate::models::UserId(f.get("person").and_then(|a| a.parse().ok()).unwrap_or(0)),
                            }>
                                <input type="hidden" name="account_id" value=account.to_string() />
                                <input type="hidden" name="person" value=id_mfa />
                                <button type="submit" class="secondary" aria-label=format!("Reset MFA of {label_mfa}")>"Reset MFA"</button>
                            </ServerForm>
                        })}
                        {managed.then(|| view! {
                            <ServerForm action=sign_out class="inline" read=|f| HelpdeskSignOut {
                                account_id: f.get("account_id").and_then(|a| a.parse().ok()).unwrap_or(AccountId(0)),
                                person: crate::models::UserId(f.get("person").and_then(|a| a.parse().ok()).unwrap_or(0)),
                            }>
                                <input type="hidden" name="account_id" value=account.to_string() />
                                <input type="hidden" name="person" value=id_out />
                                <button type="submit" class="secondary" aria-label=format!("Sign out {label_out} everywhere")>"Sign out everywhere"</button>
                            </ServerForm>
                        })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        {move || (shown && change.value().get().is_none() && remove.value().get().is_none())
            .then(|| view! { <p class="ok" role="status" tabindex="-1" autofocus>{done_text.clone()}</p> })}
        <div role="alert" class="form-error" aria-live="assertive">
            {move || error().map(|e| view! { <p>{e}</p> })}
            {move || needs_step_up().then(|| view! {
                <p>"This needs you to confirm it's you (your password, and your code for help-desk actions). "
                    <a href=step_up_href(&here)>"Confirm it's you"</a>", then try again."</p>
            })}
        </div>
        <ServerForm action=change class="bulk" read=|f| ChangeMemberGroup {
            account_id: f.get("account_id").and_then(|a| a.parse().ok()).unwrap_or(AccountId(0)),
            people: f.text("people"),
            group_id: f.text("group_id"),
        }>
            <input type="hidden" name="account_id" value=account.to_string() />
            <input type="hidden" name="people" prop:value=move || selected.get().join(",") />
            <label for="bulk-group">"Group for selected members"</label>
            <select id="bulk-group" name="group_id">{bulk_options}</select>
            <SubmitButton pending=change.pending() label="Change group of selected" busy="Changing…" class="secondary" />
        </ServerForm>
        <div class="table-wrap">
            <table class="members">
                <caption class="visually-hidden">"Members of this account"</caption>
                <thead><tr>
                    <th scope="col"><span class="visually-hidden">"Select"</span></th>
                    <th scope="col">"Name"</th><th scope="col">"Group"</th><th scope="col">"Administrator"</th>
                    <th scope="col">"MFA"</th><th scope="col">"Last sign-in"</th><th scope="col">"Signs in with"</th>
                    <th scope="col">"Actions"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <ServerForm action=remove class="bulk" read=|f| RemoveMembers {
            account_id: f.get("account_id").and_then(|a| a.parse().ok()).unwrap_or(AccountId(0)),
            people: f.text("people"),
            confirm_self: f.get("confirm_self"),
        }>
            <input type="hidden" name="account_id" value=account.to_string() />
            <input type="hidden" name="people" prop:value=move || selected.get().join(",") />
            <label class="checkbox"><input type="checkbox" name="confirm_self" value="on" />
                "If I am selected, remove me too (I lose access to this account)"</label>
            <SubmitButton pending=remove.pending() label="Remove selected from account" busy="Removing…" class="danger" />
        </ServerForm>
    }
}

/// "Invite people" (a button opening the form) and the pending invitations with
/// "Resend" and "Revoke".
#[island]
fn Invitations(
    account: AccountId,
    groups: Vec<GroupInfo>,
    invitations: Vec<InvitationRow>,
    here: String,
) -> impl IntoView {
    let open = RwSignal::new(false);
    let invite = direct_action::<InvitePeople>();
    let resend = direct_action::<ResendInvitation>();
    let revoke = direct_action::<RevokeInvitation>();
    reload_when_done(invite.value(), |(sent, added)| {
        format!("invited-{sent}-{added}")
    });
    reload_when_done(resend.value(), |_| "resent".into());
    reload_when_done(revoke.value(), |_| "revoked".into());
    let done = crate::components::use_done();
    let done_text = done.as_deref().and_then(|d| {
        if d == "resent" {
            return Some("The invitation was sent again.".to_string());
        }
        if d == "revoked" {
            return Some("The invitation was revoked.".to_string());
        }
        let mut parts = d.strip_prefix("invited-")?.split('-');
        let sent: usize = parts.next()?.parse().ok()?;
        let added: usize = parts.next()?.parse().ok()?;
        let mut text = match sent {
            0 => String::new(),
            1 => "1 invitation sent.".to_string(),
            n => format!("{n} invitations sent."),
        };
        if added > 0 {
            text.push_str(&format!(
                " {added} added at once: the account's directory vouches for them."
            ));
        }
        Some(text.trim().to_string())
    });
    let error = move || {
        [
            invite.value().get().and_then(|r| r.err()),
            resend.value().get().and_then(|r| r.err()),
            revoke.value().get().and_then(|r| r.err()),
        ]
        .into_iter()
        .flatten()
        .next()
    };
    let options = groups
        .iter()
        .map(|g| {
            let label = if g.is_admin {
                format!("{} (administrators)", g.name)
            } else {
                g.name.clone()
            };
            view! { <option value=g.id.to_string() selected=!g.is_admin>{label}</option> }
        })
        .collect_view();
    let has_pending = !invitations.is_empty();
    let pending = invitations
        .into_iter()
        .map(|i| {
            let (id_resend, id_revoke) = (i.id.to_string(), i.id.to_string());
            let status = if i.expired { format!("Expired (sent {})", i.sent) } else { format!("Sent {}", i.sent) };
            let (email_resend, email_revoke) = (i.email.clone(), i.email.clone());
            view! {
                <tr>
                    <th scope="row">{i.email.clone()}</th><td>{i.group}</td><td>{status}</td>
                    <td class="row-actions">
                        <ServerForm action=resend class="inline" read=|f| ResendInvitation {
                            account_id: f.get("account_id").and_then(|a| a.parse().ok()).unwrap_or(AccountId(0)),
                            invitation_id: f.get("invitation_id").and_then(|a| a.parse().ok()).unwrap_or(0),
                        }>
                            <input type="hidden" name="account_id" value=account.to_string() />
                            <input type="hidden" name="invitation_id" value=id_resend />
                            <button type="submit" class="secondary" aria-label=format!("Resend the invitation to {email_resend}")>"Resend"</button>
                        </ServerForm>
                        <ServerForm action=revoke class="inline" read=|f| RevokeInvitation {
                            account_id: f.get("account_id").and_then(|a| a.parse().ok()).unwrap_or(AccountId(0)),
                            invitation_id: f.get("invitation_id").and_then(|a| a.parse().ok()).unwrap_or(0),
                        }>
                            <input type="hidden" name="account_id" value=account.to_string() />
                            <input type="hidden" name="invitation_id" value=id_revoke />
                            <button type="submit" class="danger" aria-label=format!("Revoke the invitation to {email_revoke}")>"Revoke"</button>
                        </ServerForm>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        {done_text.map(|t| view! { <p class="ok" role="status" tabindex="-1" autofocus>{t}</p> })}
        <div role="alert" class="form-error" aria-live="assertive">
            {move || error().map(|e| match e {
                AppError::StepUpRequired { .. } => view! {
                    <p>"Inviting administrators needs you to confirm it's you. "
                        <a href=step_up_href(&here)>"Confirm it's you"</a>", then try again."</p>
                }.into_any(),
                e => view! { <p>{e.to_string()}</p> }.into_any(),
            })}
        </div>
        <p>
            <button type="button" aria-expanded=move || open.get().to_string() aria-controls="invite-form"
                on:click=move |_| open.update(|o| *o = !*o)>"Invite people"</button>
        </p>
        <div id="invite-form" hidden=move || !open.get()>
            <ServerForm action=invite class="form-grid card" read=|f| InvitePeople {
                account_id: f.get("account_id").and_then(|a| a.parse().ok()).unwrap_or(AccountId(0)),
                emails: f.text("emails"),
                group_id: f.text("group_id"),
            }>
                <input type="hidden" name="account_id" value=account.to_string() />
                <label for="invite-emails">"Email addresses"</label>
                <div>
                    <textarea id="invite-emails" name="emails" rows="3" required aria-describedby="invite-hint"></textarea>
                    <p id="invite-hint" class="hint">"One or more, separated by commas or lines. Each gets a link that works for 7 days."</p>
                </div>
                <label for="invite-group">"Group"</label>
                <select id="invite-group" name="group_id">{options}</select>
                <span></span>
                <div><SubmitButton pending=invite.pending() label="Send invitations" busy="Sending…" /></div>
            </ServerForm>
        </div>
        {has_pending.then(|| view! {
            <h2>"Pending invitations"</h2>
            <div class="table-wrap">
                <table>
                    <caption class="visually-hidden">"Invitations not accepted yet"</caption>
                    <thead><tr><th scope="col">"Email"</th><th scope="col">"Group"</th><th scope="col">"Status"</th><th scope="col">"Actions"</th></tr></thead>
                    <tbody>{pending}</tbody>
                </table>
            </div>
        })}
    }
}
