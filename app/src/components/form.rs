//! Forms of the islands: a `<form>` that runs its server function in the browser with the
//! fields it holds, read by name. Leptos' `ActionForm` does the same by decoding the
//! form data with serde_qs into each server function's arguments, which cost the wasm a
//! decoder per form; reading the few fields by hand costs almost nothing.
//!
//! Before hydration (or without scripts) the form still posts to its server function,
//! never to the page's own address: a password can never end up in a URL.

use super::DirectAction;
use crate::{AppError, Secret};
use leptos::{ev::SubmitEvent, html, prelude::*};
use server_fn::ServerFn;

/// The fields of a submitted form, by name.
pub struct Fields {
    #[cfg(any(feature = "hydrate", feature = "csr"))]
    data: web_sys::FormData,
}

#[cfg(any(feature = "hydrate", feature = "csr"))]
impl Fields {
    fn of(ev: &SubmitEvent) -> Option<Self> {
        use wasm_bindgen::JsCast;
        let form: web_sys::HtmlFormElement = ev.target()?.dyn_into().ok()?;
        web_sys::FormData::new_with_form(&form)
            .ok()
            .map(|data| Self { data })
    }

    /// The field's value, `None` when the form has no such field (an unchecked box).
    pub fn get(&self, name: &str) -> Option<String> {
        self.data.get(name).as_string()
    }
}

#[cfg(not(any(feature = "hydrate", feature = "csr")))]
impl Fields {
    fn of(_: &SubmitEvent) -> Option<Self> {
        None
    }

    /// The field's value, `None` when the form has no such field (an unchecked box).
    pub fn get(&self, _: &str) -> Option<String> {
        None
    }
}

impl Fields {
    /// The field's text (empty when absent).
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default()
    }

    /// A password field.
    pub fn secret(&self, name: &str) -> Secret {
        Secret::new(self.text(name))
    }
}

/// A form whose submission runs `action` with the arguments `read` builds from its fields.
#[component]
pub fn ServerForm<S, R>(
    action: DirectAction<S>,
    /// The server function's arguments from the submitted fields.
    read: R,
    #[prop(optional)] class: &'static str,
    /// Leave validation to the island and the server (their messages are specific).
    #[prop(optional)]
    novalidate: bool,
    /// The `<form>` element, e.g. to submit it again after "Confirm it's you".
    #[prop(optional)]
    node_ref: Option<NodeRef<html::Form>>,
    children: Children,
) -> impl IntoView
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
    R: Fn(&Fields) -> S + 'static,
{
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if action.pending().get_untracked() {
            return;
        }
        if let Some(fields) = Fields::of(&ev) {
            action.dispatch(read(&fields));
        }
    };
    view! {
        <form method="post" action=S::url() class=class novalidate=novalidate on:submit=submit
            node_ref=node_ref.unwrap_or_default()>
            {children()}
        </form>
    }
}

/// Submits `form` again, as if its submit button were pressed: the action that asked for
/// "Confirm it's you" runs with the fields as they are. Focus goes back to that button
/// first, so it is not lost when the prompt goes away.
pub fn submit_again(form: NodeRef<html::Form>) {
    focus_submit(form);
    #[cfg(any(feature = "hydrate", feature = "csr"))]
    if let Some(f) = form.get_untracked() {
        let _ = f.request_submit();
    }
}

/// Moves focus to the submit button of `form`.
pub fn focus_submit(form: NodeRef<html::Form>) {
    #[cfg(any(feature = "hydrate", feature = "csr"))]
    if let Some(f) = form.get_untracked() {
        use wasm_bindgen::JsCast;
        if let Ok(Some(button)) = f.query_selector("button[type=submit]") {
            if let Ok(button) = button.dyn_into::<web_sys::HtmlElement>() {
                let _ = button.focus();
            }
        }
    }
    #[cfg(not(any(feature = "hydrate", feature = "csr")))]
    let _ = form;
}
