//! The signal that a page is live.

#[cfg(any(feature = "hydrate", feature = "csr"))]
use super::{address_with, DONE_PARAM};
use leptos::prelude::*;

/// Marks `<body data-hydrated="true">` once the browser has taken over, so tests (and
/// styles) can tell a live page from server-rendered HTML. Placed last in the body, it is
/// hydrated after every other island of the page. It also takes a shown `?done=`
/// confirmation out of the address, so reloading or bookmarking does not repeat it.
#[island]
pub fn HydrationMark() -> impl IntoView {
    #[cfg(any(feature = "hydrate", feature = "csr"))]
    leptos::prelude::Effect::new(|_| {
        let location = window().location();
        let (path, search) = (
            location.pathname().unwrap_or_default(),
            location.search().unwrap_or_default(),
        );
        let clean = address_with(&path, &search, DONE_PARAM, None);
        if clean != format!("{path}{search}") {
            if let Ok(history) = window().history() {
                let _ =
                    history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&clean));
            }
        }
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}
