//! The submit button every form uses: while its action runs it says what is happening
//! ("Saving…"), is marked busy for assistive technology, and is disabled so a second
//! click cannot submit twice.

use leptos::prelude::*;

#[component]
pub fn SubmitButton(
    /// The action is running.
    #[prop(into)]
    pending: Signal<bool>,
    /// The label at rest, which is also the button's accessible name.
    label: &'static str,
    /// The label while the action runs, e.g. "Saving…".
    busy: &'static str,
    /// `primary` (default), `secondary` or `danger`.
    #[prop(default = "primary")]
    class: &'static str,
    /// Disabled for another reason too (e.g. the form is not valid yet).
    #[prop(optional, into)]
    blocked: Option<Signal<bool>>,
) -> impl IntoView {
    let blocked = move || blocked.is_some_and(|b| b.get());
    view! {
        <button type="submit" class=class disabled=move || pending.get() || blocked()
            aria-busy=move || pending.get().to_string()>
            {move || if pending.get() { busy } else { label }}
        </button>
    }
}
