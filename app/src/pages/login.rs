use crate::{
    api::{SignIn, StartSso},
    components::{direct_action, use_next, AuthCard, ServerForm, SubmitButton},
    models::SsoFailure,
};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// `/login`: email and password. One message for every failure; throttling messages say
/// when to try again.
#[component]
pub fn LoginPage() -> impl IntoView {
    let next = use_next().unwrap_or_default();
    let query = use_query_map();
    let q = query.read_untracked();
    let deleted = q.get("deleted").is_some();
    let reset = q.get("reset").is_some();
    let email_cancelled = q.get("email_cancelled").is_some();
    let invited = q.get("invited").is_some();
    let sso_failure = q.get("sso_error").and_then(|c| SsoFailure::parse(&c));

    view! {
        <AuthCard title="Sign in">
            {deleted.then(|| view! {
                <p class="notice" role="status">"Your account was deleted. You have been signed out."</p>
            })}
            {reset.then(|| view! {
                <p class="notice" role="status">"Your new password is set and every session was signed out. Sign in with it."</p>
            })}
            {invited.then(|| view! {
                <p class="notice" role="status">"Welcome: you joined the account. Sign in with your email and new password."</p>
            })}
            {email_cancelled.then(|| view! {
                <p class="notice" role="status">"The email change was cancelled."</p>
            })}
            {sso_failure.map(|f| view! {
                <p class="notice error" role="alert">{f.message()}</p>
            })}
            <SignInForms next />
        </AuthCard>
    }
}

/// "Sign in with a passkey": no email or password; the browser offers the passkeys it
/// holds for the portal. Absent where the browser cannot use passkeys.
#[component]
fn PasskeySignIn(next: String) -> impl IntoView {
    let supported = RwSignal::new(false);
    Effect::new(move |_| supported.set(crate::components::passkeys_supported()));
    let next = StoredValue::new(next);
    let run = crate::components::passkey_action(crate::models::PasskeyPurpose::SignIn, move || {
        crate::components::PasskeyFinish {
            next: Some(next.get_value()),
            ..Default::default()
        }
    });
    let pending = run.pending();
    view! {
        <div class="passkey-sign-in" hidden=move || !supported.get()>
            <button type="button" class="secondary wide" disabled=move || pending.get()
                on:click=move |_| { run.dispatch(()); }>
                {move || if pending.get() { "Waiting for your passkey…" } else { "Sign in with a passkey" }}
            </button>
            <div role="alert" class="form-error" aria-live="assertive">
                {move || run.value().get().and_then(|r| r.err()).map(|e| view! { <p>{e.to_string()}</p> })}
            </div>
            <p class="divider" aria-hidden="true"><span>"or"</span></p>
        </div>
    }
}

/// The password form and the single sign-on form of the sign-in page.
#[island]
fn SignInForms(next: String) -> impl IntoView {
    let action = direct_action::<SignIn>();
    let sso = direct_action::<StartSso>();
    let sso_open = RwSignal::new(false);
    let sso_pending = sso.pending();
    let sso_error = move || {
        sso.value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    };
    let pending = action.pending();
    let error = move || {
        action
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    };

    let sso_next = next.clone();
    let passkey_next = next.clone();
    view! {
        <PasskeySignIn next=passkey_next />
        <ServerForm action class="stack" novalidate=true read=|f| SignIn {
            email: f.text("email"),
            password: f.secret("password"),
            next: f.get("next"),
        }>
            <input type="hidden" name="next" value=next />
            <label for="email">"Email"</label>
            <input id="email" name="email" type="email" autocomplete="username" required
                autofocus maxlength=crate::validation::MAX_EMAIL_LEN.to_string() />
            <label for="password">"Password"</label>
            <input id="password" name="password" type="password" autocomplete="current-password"
                required maxlength=crate::validation::MAX_PASSWORD_CHARS.to_string() />
            <div role="alert" class="form-error" aria-live="assertive">
                {move || error().map(|e| view! { <p>{e}</p> })}
            </div>
            <SubmitButton pending label="Sign in" busy="Signing in…" />
            <p><a href=crate::format::FORGOT_PASSWORD_PATH>"Forgot password?"</a></p>
        </ServerForm>
        <div class="sso">
            <p class="divider" aria-hidden="true"><span>"or"</span></p>
            <button type="button" class="secondary wide" aria-expanded=move || sso_open.get().to_string()
                aria-controls="sso-form" on:click=move |_| sso_open.update(|o| *o = !*o)>
                "Sign in with single sign-on"
            </button>
            <div id="sso-form" hidden=move || !sso_open.get()>
                <ServerForm action=sso class="stack" novalidate=true read=|f| StartSso {
                    email: f.text("email"),
                    next: f.get("next"),
                }>
                    <input type="hidden" name="next" value=sso_next />
                    <p class="hint">"If your organisation signs in to Connect Portal with its own directory, you continue there."</p>
                    <label for="sso_email">"Work email"</label>
                    <input id="sso_email" name="email" type="email" autocomplete="username" required
                        maxlength=crate::validation::MAX_EMAIL_LEN.to_string() />
                    <div role="alert" class="form-error" aria-live="assertive">
                        {move || sso_error().map(|e| view! { <p>{e}</p> })}
                    </div>
                    <SubmitButton pending=sso_pending label="Continue to your organisation" busy="Continuing…" />
                </ServerForm>
            </div>
        </div>
    }
}
