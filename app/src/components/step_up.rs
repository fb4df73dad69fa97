//! "Confirm it's you": one prompt for every place that needs the person's own credentials
//! again inside their session (entering another account after single sign-on, sensitive
//! account settings). The password, and the authentication code or a passkey when MFA is
//! on; only a passkey where a code will not do.

use crate::{
    api::StepUp,
    components::{direct_action, focus_on_load, SubmitButton},
    AppError, Secret, StepUpNeeds,
};
use leptos::prelude::*;

/// Whether a result asks for a step-up, and then what it must include.
pub fn step_up_needed<T>(result: &Option<Result<T, AppError>>) -> Option<StepUpNeeds> {
    match result {
        Some(Err(AppError::StepUpRequired {
            code,
            passkey,
            only_passkey,
        })) => Some(StepUpNeeds {
            code: *code,
            passkey: *passkey,
            only_passkey: *only_passkey,
        }),
        _ => None,
    }
}

/// The prompt. `on_done` runs once the server confirmed; the session then carries the
/// step-up (and a new token), so the action that asked for it can simply run again with
/// what the person had entered (see [`super::submit_again`]).
#[component]
pub fn StepUpForm(
    /// What it asks for besides the password: a code, or a passkey (offered when the
    /// person has one; the only way when a code will not do).
    needs: StepUpNeeds,
    on_done: Callback<()>,
    /// Inside another card or dialog (a smaller heading, no card of its own); the
    /// password field takes focus when the prompt appears.
    #[prop(optional)]
    nested: bool,
) -> impl IntoView {
    let only_passkey = needs.only_passkey;
    let code = needs.code && !only_passkey;
    let has_passkey = needs.passkey;
    let action = direct_action::<StepUp>();
    let password = RwSignal::new(String::new());
    let code_value = RwSignal::new(String::new());
    // A recovery code instead of the app's code (the phone is not at hand).
    let recovery = RwSignal::new(false);
    let field = NodeRef::<leptos::html::Input>::new();
    if nested {
        focus_on_load(field);
    }
    let with_passkey = super::passkey_action(crate::models::PasskeyPurpose::StepUp, move || {
        super::PasskeyFinish {
            current_password: Some(Secret::new(password.get_untracked())),
            ..Default::default()
        }
    });
    Effect::new(move |_| {
        if matches!(action.value().get(), Some(Ok(())))
            || matches!(with_passkey.value().get(), Some(Ok(_)))
        {
            on_done.run(())
        }
    });
    let heading = if nested {
        view! { <h3 id="step-up-heading">"Confirm it's you"</h3> }.into_any()
    } else {
        view! { <h2 id="step-up-heading">"Confirm it's you"</h2> }.into_any()
    };
    view! {
        <section class=if nested { "step-up" } else { "card step-up" } aria-labelledby="step-up-heading">
            {heading}
            <p class="hint">"For your security, enter your own Connect Portal password"
                {code.then_some(" and a code from your authenticator app")}
                " to continue. This is asked again after a few minutes."</p>
            // Its own form, never inside the one that asked for it (forms do not nest):
            // Enter here confirms, and the change is then submitted again as it was.
            <form class="form-grid" on:submit=move |ev| {
                ev.prevent_default();
                if only_passkey {
                    if !with_passkey.pending().get_untracked() {
                        with_passkey.dispatch(());
                    }
                    return;
                }
                if action.pending().get_untracked() {
                    return;
                }
                action.dispatch(StepUp {
                    current_password: Secret::new(password.get_untracked()),
                    code: code.then(|| code_value.get_untracked()),
                    recovery: (code && recovery.get_untracked()).then(|| "on".to_string()),
                });
            }>
                <label for="step_up_password">"Current password"</label>
                <input id="step_up_password" type="password" autocomplete="current-password" required
                    autofocus=!nested node_ref=field
                    on:input=move |ev| password.set(event_target_value(&ev)) />
                {code.then(|| view! {
                    <label for="step_up_code">{move || if recovery.get() { "Recovery code" } else { "Authentication code" }}</label>
                    <div>
                        <input id="step_up_code" type="text" autocomplete="one-time-code" required spellcheck="false"
                            inputmode=move || if recovery.get() { "text" } else { "numeric" }
                            maxlength=move || if recovery.get() { "40" } else { "7" }
                            on:input=move |ev| code_value.set(event_target_value(&ev)) />
                        <button type="button" class="link-button" on:click=move |_| recovery.update(|r| *r = !*r)>
                            {move || if recovery.get() { "Use your authenticator app" } else { "Use a recovery code" }}
                        </button>
                    </div>
                })}
                // Where only a passkey will do, its button below is the way (a browser
                // without passkeys says so when it is pressed).
                <span hidden=only_passkey></span>
                <div hidden=only_passkey>
                    <SubmitButton pending=action.pending() label="Confirm" busy="Checking…" />
                    {move || action.value().get().and_then(|r| r.err()).map(|e| view! { <p class="form-error-text" role="alert">{e.to_string()}</p> })}
                </div>
                <span hidden=!has_passkey></span>
                <div hidden=!has_passkey>
                    <button type="button" class="secondary" disabled=move || with_passkey.pending().get()
                        on:click=move |_| {
                            if password.get_untracked().is_empty() {
                                if let Some(f) = field.get_untracked() {
                                    let _ = f.focus();
                                }
                                return;
                            }
                            with_passkey.dispatch(());
                        }>
                        {move || if with_passkey.pending().get() { "Waiting for your passkey…" } else { "Confirm with a passkey" }}
                    </button>
                    {move || with_passkey.value().get().and_then(|r| r.err()).map(|e| view! { <p class="form-error-text" role="alert">{e.to_string()}</p> })}
                </div>
            </form>
        </section>
    }
}
