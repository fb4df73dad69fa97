//! `/step-up?next=…`: "Confirm it's you" inside the session, before going on to `next`.
//! The portal sends people here when their session cannot yet enter an account: it came
//! through another account's directory (single sign-on), or the account requires MFA and
//! this session has not passed the code.

use crate::components::{go_to, use_next, StepUpForm, WithViewer};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn StepUpPage() -> impl IntoView {
    let next = use_next().unwrap_or_else(|| "/".into());
    let change = leptos_router::hooks::use_query_map()
        .read_untracked()
        .get("why")
        .is_some_and(|w| w == "change");
    let passkey = leptos_router::hooks::use_query_map()
        .read_untracked()
        .get("why")
        .is_some_and(|w| w == "passkey");
    let why = if passkey {
        view! {
            <h1>"Continue with a passkey"</h1>
            <p class="hint">
                "Where you are going needs one of your passkeys (phishing-resistant): an account "
                "that requires them, or a change to your passkeys. A code from an app is not "
                "enough there. Confirm it's you with your password and your passkey, or "
                <a href="/profile/accounts">"choose another account"</a>"."
            </p>
        }
        .into_any()
    } else if change {
        view! {
            <h1>"Confirm a change"</h1>
            <p class="hint">
                "This change needs your own sign-in again, as every change to who administers "
                "an account or to someone's security does. Confirm it's you; you then go back "
                "to the page, where you press the button again."
            </p>
        }
        .into_any()
    } else {
        view! {
        <h1>"Continue to your account"</h1>
        <p class="hint">
            "This session was started in a way that does not cover where you are going: through "
            "an organisation's single sign-on, which speaks only for its own account, or without "
            "the authentication code an account requires. Confirm with your own sign-in to "
            "continue, or "
            <a href="/profile/accounts">"choose another account"</a>"."
        </p>
        }
        .into_any()
    };
    view! {
        <Title text="Confirm it's you" />
        {why}
        <WithViewer children=move |v| {
            let only_passkey = passkey && v.has_passkey;
            view! { <StepUpPanel code=v.mfa_enabled passkey=v.has_passkey only_passkey next=next.clone() /> }
        } />
    }
}

#[island]
fn StepUpPanel(code: bool, passkey: bool, only_passkey: bool, next: String) -> impl IntoView {
    let next = StoredValue::new(next);
    let needs = crate::StepUpNeeds {
        code,
        passkey,
        only_passkey,
    };
    view! {
        <StepUpForm needs on_done=Callback::new(move |_| next.with_value(|n| go_to(Some(n)))) />
    }
}
