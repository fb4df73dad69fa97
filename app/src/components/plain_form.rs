//! What a plain form (one that works without the client bundle, posted to the server's
//! `web::forms`) answered, on the page it came back to: the confirmation named by
//! `?done=`, or the error the server kept for this browser (`?error=`).

use leptos::prelude::*;

/// The error message the server sent back with this page, if any. Only the server
/// renders it (it comes with the request), so a link alone cannot put words here.
pub fn use_form_error() -> Option<String> {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>().and_then(|p| {
            p.extensions
                .get::<crate::ssr::RequestInfo>()
                .and_then(|i| i.flash.clone())
        })
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

/// The outcome of the last plain form, at the top of the page; it takes focus, so
/// keyboard and screen-reader users hear it first.
#[component]
pub fn FormOutcome(
    /// The confirmation, from the page's reading of `?done=`.
    done: Option<String>,
) -> impl IntoView {
    let error = use_form_error();
    let done = done.filter(|_| error.is_none());
    view! {
        {error.map(|e| view! { <p class="form-error-text" role="alert" tabindex="-1" autofocus>{e}</p> })}
        {done.map(|d| view! { <p class="ok" role="status" tabindex="-1" autofocus>{d}</p> })}
    }
}
