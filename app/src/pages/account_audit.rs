//! `/accounts/{account_id}/settings/audit`: every administrative change in an account,
//! newest first, filtered by action, person and dates, with "Download CSV" of the
//! filtered rows. Read-only: the portal never edits the log.

use crate::{
    api::account_audit,
    components::{use_account_id, AccountPageError, Pager},
    format::{account_audit_href, query_value},
    models::{AccountId, AuditPage},
    AppError,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The filter as the address carries it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Filter {
    action: String,
    person: String,
    from: String,
    until: String,
}

impl Filter {
    fn query(&self) -> String {
        format!(
            "action={}&person={}&from={}&until={}",
            query_value(&self.action),
            query_value(&self.person),
            query_value(&self.from),
            query_value(&self.until)
        )
    }
}

#[component]
pub fn AccountAuditPage() -> impl IntoView {
    let account_id = use_account_id();
    let query = use_query_map();
    let wanted = move || {
        let q = query.read();
        let page = q
            .get("page")
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(1);
        let filter = Filter {
            action: q.get("action").unwrap_or_default(),
            person: q.get("person").unwrap_or_default(),
            from: q.get("from").unwrap_or_default(),
            until: q.get("until").unwrap_or_default(),
        };
        (page.max(1), filter)
    };
    let log = Resource::new(
        move || (account_id(), wanted()),
        |(id, (page, f))| async move {
            match id {
                Some(id) => {
                    account_audit(
                        id,
                        Some(page),
                        Some(f.action),
                        Some(f.person),
                        Some(f.from),
                        Some(f.until),
                    )
                    .await
                }
                None => Err(AppError::Forbidden),
            }
        },
    );
    view! {
        <Title text="Audit log · Account settings" />
        <Suspense fallback=|| view! { <p class="loading" aria-live="polite">"Loading…"</p> }>
            {move || {
                let (_, filter) = wanted();
                Suspend::new(async move {
                    match log.await {
                        Ok(page) => view! { <AuditView page filter /> }.into_any(),
                        Err(e) => view! {
                            <AccountPageError title="Audit log" forbidden="Only administrators of this account can read its audit log." error=e />
                        }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
fn AuditView(page: AuditPage, filter: Filter) -> impl IntoView {
    let account: AccountId = page.account_id;
    let here = account_audit_href(account);
    let csv = format!("{here}/csv?{}", filter.query());
    let (number, count, total) = (page.page, page.page_count, page.total);
    let first = (number - 1) * crate::models::ADMIN_ROWS_PER_PAGE + 1;
    let shown = i64::try_from(page.rows.len()).unwrap_or(0);
    let href = {
        let (here, q) = (here.clone(), filter.query());
        move |p: i64| format!("{here}?page={p}&{q}")
    };
    let options = page
        .actions
        .iter()
        .map(|(value, label)| {
            view! { <option value=value.clone() selected=*value == filter.action>{label.clone()}</option> }
        })
        .collect_view();
    let rows = page
        .rows
        .into_iter()
        .map(|r| {
            view! {
                <tr>
                    <td>{r.at}</td><td>{r.actor}</td><td>{r.action}</td><td>{r.subject}</td>
                    <td>{r.detail}</td><td>{r.ip.unwrap_or_default()}</td><td>{r.device.unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    let status = if total == 0 {
        "No changes match".to_string()
    } else {
        format!("Changes {first}–{} of {total}", first + shown - 1)
    };
    view! {
        <nav class="breadcrumbs" aria-label="Breadcrumb">
            <span>{page.account_name.clone()}</span>" › "<span>"Settings"</span>
        </nav>
        <h1>"Audit log"</h1>
        <p class="hint">{format!("Every administrative change in this account, kept for {} days.", page.retention_days)}</p>
        <form method="get" action=here.clone() class="filters" role="search" aria-label="Audit log">
            <label for="audit-action">"Action"</label>
            <select id="audit-action" name="action">
                <option value="" selected=filter.action.is_empty()>"All actions"</option>
                {options}
            </select>
            <label for="audit-person">"Person"</label>
            <input id="audit-person" name="person" type="search" value=filter.person.clone() maxlength="200"
                placeholder="Name or email" />
            <label for="audit-from">"From"</label>
            <input id="audit-from" name="from" type="date" value=filter.from.clone() />
            <label for="audit-until">"Until"</label>
            <input id="audit-until" name="until" type="date" value=filter.until.clone() />
            <button type="submit" class="secondary">"Filter"</button>
        </form>
        <p><a href=csv download="">"Download CSV"</a></p>
        <div class="table-wrap">
            <table>
                <caption class="visually-hidden">"Administrative changes, newest first"</caption>
                <thead><tr>
                    <th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"What"</th>
                    <th scope="col">"Subject"</th><th scope="col">"Detail"</th><th scope="col">"IP"</th>
                    <th scope="col">"Device"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <Pager label="Audit log pages"
            previous=(number > 1).then(|| (href(number - 1), "Newer changes"))
            status
            next=(number < count).then(|| (href(number + 1), "Older changes")) />
    }
}
