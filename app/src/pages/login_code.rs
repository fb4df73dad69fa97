use crate::{
    api::VerifySignInCode,
    components::{direct_action, focus_on_load, use_next, AuthCard, ServerForm, SubmitButton},
};
use leptos::prelude::*;

/// `/login/code`: the second step of sign-in for people with MFA.
#[component]
pub fn CodePage() -> impl IntoView {
    let next = use_next().unwrap_or_default();
    view! {
        <AuthCard title="Verify it's you">
            <CodeForm next />
            <p><a href="/login">"Cancel"</a></p>
        </AuthCard>
    }
}

/// The code form, with the switch between an authenticator code and a recovery code.
#[island]
fn CodeForm(next: String) -> impl IntoView {
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

    // "Use a passkey" first when the person has one: the server answers the challenge
    // for the pending sign-in only then.
    let passkey = RwSignal::new(None::<crate::models::PasskeyChallenge>);
    Effect::new(move |_| {
        if crate::components::passkeys_supported() {
            leptos::task::spawn_local(async move {
                if let Ok(c) = crate::api::start_passkey_second_factor().await {
                    passkey.set(Some(c));
                }
            });
        }
    });
    let next_value = StoredValue::new(next.clone());
    let use_passkey = Action::new_unsync(move |_: &()| async move {
        // A fresh challenge when the first was used or has expired.
        let challenge = match passkey.get_untracked() {
            Some(c) => c,
            None => crate::api::start_passkey_second_factor()
                .await
                .map_err(|e| e.to_string())?,
        };
        passkey.set(None);
        let answer = crate::components::passkey_answer(&challenge, false).await?;
        crate::api::verify_sign_in_passkey(challenge.ceremony, answer, Some(next_value.get_value()))
            .await
            .map_err(|e| e.to_string())
    });
    let has_passkey = RwSignal::new(false);
    Effect::new(move |_| {
        if passkey.get().is_some() {
            has_passkey.set(true);
        }
    });
    let passkey_pending = use_passkey.pending();

    view! {
        <div class="passkey-step" hidden=move || !has_passkey.get()>
            <button type="button" class="primary wide" disabled=move || passkey_pending.get()
                on:click=move |_| { use_passkey.dispatch(()); }>
                {move || if passkey_pending.get() { "Waiting for your passkey…" } else { "Use a passkey" }}
            </button>
            <div role="alert" class="form-error" aria-live="assertive">
                {move || use_passkey.value().get().and_then(|r| r.err()).map(|e| view! { <p>{e}</p> })}
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
