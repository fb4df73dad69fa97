use crate::{
    api::{list_sessions, security_activity, RevokeOtherSessions, RevokeSession},
    components::{direct_action, failure, reload_when_done, use_done, Pager},
    models::SessionStatus,
    AppError,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// Sessions: current and historical sessions, sign-out elsewhere, security activity.
#[component]
pub fn SessionsSection() -> impl IntoView {
    let page = use_query_map()
        .read_untracked()
        .get("page")
        .and_then(|p| p.parse::<u32>().ok())
        .unwrap_or(1)
        .max(1);
    let data = Resource::new(move || page, list_sessions);
    let activity = Resource::new(|| (), |_| security_activity());
    // The page loads again after a sign-out, saying what was done.
    let done = use_done().and_then(|d| match d.as_str() {
        "session" => Some("The session was signed out.".to_string()),
        other => other
            .strip_prefix("others-")
            .and_then(|n| n.parse::<u64>().ok())
            .map(|n| match n {
                0 => "There were no other active sessions.".to_string(),
                1 => "Signed out of 1 other session.".to_string(),
                n => format!("Signed out of {n} other sessions."),
            }),
    });

    view! {
        <Title text="Sessions · Manage Your Profile" />
        <section class="card" aria-labelledby="sessions-heading">
            <h2 id="sessions-heading">"Sessions"</h2>
            {done.map(|text| view! { <p class="ok" role="status" tabindex="-1" autofocus>{text}</p> })}
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <p role="alert" class="notice error">{e.to_string()}</p> }.into_any(),
                        Ok(d) => {
                            let rows = d.sessions.into_iter().map(|s| {
                                let id = s.id;
                                let can_end = s.status == SessionStatus::Active && !s.current;
                                let label = format!("Sign out the session signed in {}", s.signed_in);
                                view! {
                                    <tr class:current-row=s.current>
                                        <td data-label="Device">
                                            {s.device}
                                            {s.current.then(|| view! { " " <span class="badge">"This session"</span> })}
                                        </td>
                                        <td data-label="IP address">{s.ip.unwrap_or_else(|| "Unknown".into())}</td>
                                        <td data-label="Signed in">
                                            {s.signed_in}
                                            <span class="item-meta" data-testid="session-how">{s.how}</span>
                                        </td>
                                        <td data-label="Last active">{s.last_active}</td>
                                        <td data-label="Status">
                                            {s.status.label()}
                                            {s.ended.map(|e| view! { <span class="muted">" · "{e}</span> })}
                                        </td>
                                        <td data-label="Action">
                                            {can_end.then(|| view! { <RevokeButton session_id=id label /> })}
                                        </td>
                                    </tr>
                                }
                            }).collect_view();
                            let p = d.page;
                            view! {
                                {d.only_directory.then(|| view! {
                                    <p class="notice" data-testid="directory-sessions">
                                        "This session came through your organisation's single sign-on, so only the sessions it started are listed and can be signed out here. "
                                        <a href=crate::format::step_up_href("/profile/sessions")>"Confirm it's you"</a>
                                        " with your own Connect Portal password to see and manage all your sessions."
                                    </p>
                                })}
                                {(d.active_others > 0).then(|| view! { <RevokeOthersButton /> })}
                                <table class="data stacked">
                                    <caption class="visually-hidden">"Your sessions, newest first"</caption>
                                    <thead><tr>
                                        <th scope="col">"Device"</th><th scope="col">"IP address"</th>
                                        <th scope="col">"Signed in"</th><th scope="col">"Last active"</th>
                                        <th scope="col">"Status"</th><th scope="col"><span class="visually-hidden">"Action"</span></th>
                                    </tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                                <Pager label="Session pages"
                                    previous=(p > 1).then(|| (format!("/profile/sessions?page={}", p - 1), "Newer sessions"))
                                    status=format!("Page {} of {} · {} sessions", p, d.page_count, d.total)
                                    next=(p < d.page_count).then(|| (format!("/profile/sessions?page={}", p + 1), "Older sessions")) />
                                <p class="hint">{format!("History is kept for {} days.", d.retention_days)}</p>
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </section>

        <section class="card" aria-labelledby="activity-heading">
            <h2 id="activity-heading">"Recent security activity"</h2>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match activity.await {
                        Err(AppError::StepUpRequired { .. }) => view! {
                            <p class="notice">
                                "Your security activity covers every sign-in, whichever way you signed in. "
                                <a href=crate::format::step_up_href("/profile/sessions")>"Confirm it's you"</a>
                                " with your own Connect Portal password to see it."
                            </p>
                        }.into_any(),
                        Err(e) => view! { <p role="alert" class="notice error">{e.to_string()}</p> }.into_any(),
                        Ok(events) if events.is_empty() => view! { <p class="empty">"No security activity yet."</p> }.into_any(),
                        Ok(events) => {
                            let rows = events.into_iter().map(|e| view! {
                                <tr>
                                    <td data-label="Event">{e.what}</td>
                                    <td data-label="When">{e.at}</td>
                                    <td data-label="IP address">{e.ip.unwrap_or_else(|| "Unknown".into())}</td>
                                    <td data-label="Device">{e.device.unwrap_or_else(|| "Unknown device".into())}</td>
                                </tr>
                            }).collect_view();
                            view! {
                                <table class="data stacked">
                                    <caption class="visually-hidden">"Recent security activity, newest first"</caption>
                                    <thead><tr>
                                        <th scope="col">"Event"</th><th scope="col">"When"</th>
                                        <th scope="col">"IP address"</th><th scope="col">"Device"</th>
                                    </tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

/// "Sign out" of one other session; the page then loads again with the session ended.
#[island]
fn RevokeButton(session_id: crate::models::SessionId, label: String) -> impl IntoView {
    let revoke = direct_action::<RevokeSession>();
    reload_when_done(revoke.value(), |_| "session".into());
    view! {
        <button type="button" class="secondary" aria-label=label
            disabled=move || revoke.pending().get()
            aria-busy=move || revoke.pending().get().to_string()
            on:click=move |_| { revoke.dispatch(RevokeSession { session_id }); }>
            "Sign out"
        </button>
        {failure(revoke.value())}
    }
}

/// "Sign out of all other sessions"; the page then loads again saying how many ended.
#[island]
fn RevokeOthersButton() -> impl IntoView {
    let revoke_all = direct_action::<RevokeOtherSessions>();
    reload_when_done(revoke_all.value(), |n| format!("others-{n}"));
    view! {
        <p>
            <button type="button" class="secondary"
                disabled=move || revoke_all.pending().get()
                aria-busy=move || revoke_all.pending().get().to_string()
                on:click=move |_| { revoke_all.dispatch(RevokeOtherSessions {}); }>
                {move || if revoke_all.pending().get() { "Signing out…" } else { "Sign out of all other sessions" }}
            </button>
        </p>
        {failure(revoke_all.value())}
    }
}
