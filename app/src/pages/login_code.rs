use crate::{
    api::VerifySignInCode,
    components::{direct_action, focus_on_load, use_next, AuthCard, ServerForm, SubmitButton},
};
use leptos::prelude::*;

/// `/login/code`: the second step of sign-in for people with MFA.
#[component]
pub fn CodePage() -> impl IntoView {
    let next = use_next().unwrap_or_default();
    let passkey = leptos_router::hooks::use_query_map()
        .read_untracked()
        .get("passkey")
        .is_some_and(|p| p == "1");
    view! {
        <AuthCard title="Verify it's you">
            <CodeForm next passkey />
            <p><a href="/login">"Cancel"</a></p>
        </AuthCard>
    }
}

/// The code form, with the switch between an authenticator code and a recovery code.
#[island]
fn CodeForm(next: String, passkey: bool) -> impl IntoView {
    let action = direct_action::<VerifySignInCode>();
    let recovery = RwSignal::new(false);
    let pending = action.pending();
    // The password step may arrive here without a page load, where `autofocus` does not act.
    let code = NodeRef::<leptos::html::Input>::new();
    focus_on_load(code);
    let error = move || {
        action
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    };
    let expired = move || error().is_some_and(|e| e.contains("expired"));

    // "Use a passkey" first when the person has one (the password step said so); a
    // browser without passkeys says so when it is pressed.
    let next_value = StoredValue::new(next.clone());
    let use_passkey =
        crate::components::passkey_action(crate::models::PasskeyPurpose::SecondFactor, move || {
            crate::components::PasskeyFinish {
                next: Some(next_value.get_value()),
                ..Default::default()
            }
        });
    let passkey_pending = use_passkey.pending();

    view! {
        <div class="passkey-step" hidden=!passkey>
            <button type="button" class="primary wide" disabled=move || passkey_pending.get()
                on:click=move |_| { use_passkey.dispatch(()); }>
                {move || if passkey_pending.get() { "Waiting for your passkey…" } else { "Use a passkey" }}
            </button>
            <div role="alert" class="form-error" aria-live="assertive">
                {move || use_passkey.value().get().and_then(|r| r.err()).map(|e| view! { <p>{e.to_string()}</p> })}
            </div>
            <p class="divider" aria-hidden="true"><span>"or"</span></p>
        </div>
        <p class="hint">
            {move || if recovery.get() {
                "Enter one of the recovery codes you saved when you set up multi-factor authentication. Each works once."
            } else {
                "Enter the 6-digit code your authenticator app shows for Connect Portal."
            }}
        </p>
        <ServerForm action class="stack" read=|f| VerifySignInCode {
            code: f.text("code"),
            recovery: f.get("recovery"),
            next: f.get("next"),
        }>
            <input type="hidden" name="next" value=next />
            {move || recovery.get().then(|| view! { <input type="hidden" name="recovery" value="on" /> })}
            <label for="code">{move || if recovery.get() { "Recovery code" } else { "Authentication code" }}</label>
            <input id="code" name="code" type="text" required autofocus autocomplete="one-time-code" node_ref=code
                inputmode=move || if recovery.get() { "text" } else { "numeric" }
                maxlength="40" spellcheck="false" />
            <div role="alert" class="form-error" aria-live="assertive">
                {move || error().map(|e| view! { <p>{e}</p> })}
            </div>
            {move || expired().then(|| view! { <p><a href="/login">"Sign in again"</a></p> })}
            <SubmitButton pending label="Verify" busy="Verifying…" />
        </ServerForm>
        <p>
            <button type="button" class="link-button" on:click=move |_| recovery.update(|r| *r = !*r)>
                {move || if recovery.get() { "Use your authenticator app" } else { "Use a recovery code" }}
            </button>
        </p>
    }
}
