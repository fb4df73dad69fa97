//! The previous/next navigation under a paged list.

use leptos::prelude::*;

/// `previous` and `next` are (address, label) when that page exists; `status` says where
/// the list is ("Page 2 of 5 · 93 sessions").
#[component]
pub fn Pager(
    /// The navigation landmark's name, e.g. "Session pages".
    label: &'static str,
    previous: Option<(String, &'static str)>,
    status: String,
    next: Option<(String, &'static str)>,
) -> impl IntoView {
    view! {
        <nav class="pager" aria-label=label>
            {previous.map(|(href, text)| view! { <a href=href>{text}</a> })}
            <span>{status}</span>
            {next.map(|(href, text)| view! { <a href=href>{text}</a> })}
        </nav>
    }
}
