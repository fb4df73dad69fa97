use crate::{
    api::{mfa_status, ChangePassword, DeleteAccount},
    components::{direct_action, failure, outcome, use_next, ServerForm, SubmitButton, WithViewer},
    validation::{password_strength, MAX_PASSWORD_CHARS},
};
use leptos::prelude::*;
use leptos_meta::Title;

/// Security: change password, multi-factor authentication, delete the account.
#[component]
pub fn SecuritySection() -> impl IntoView {
    // Sent here by an account that requires MFA (see the request middleware), with where
    // the person was going.
    let required = leptos_router::hooks::use_query_map()
        .read_untracked()
        .get("mfa_required")
        .and_then(|v| v.parse::<crate::models::AccountId>().ok());
    let passkey_required = leptos_router::hooks::use_query_map()
        .read_untracked()
        .get("passkey_required")
        .and_then(|v| v.parse::<crate::models::AccountId>().ok());
    let next = use_next();
    let done = crate::components::use_done();
    let status = Resource::new(|| (), |_| mfa_status());

    view! {
        <Title text="Security · Manage Your Profile" />
        <WithViewer children=move |v| {
            required
                .and_then(|id| v.memberships.iter().find(|m| m.account_id == id).cloned())
                .map(|m| view! {
                    <p class="notice error" role="alert">
                        {format!("{} requires multi-factor authentication. Set it up below to continue; you can still switch to another account.", m.account_name)}
                    </p>
                })
        } />
        <WithViewer children=move |v| {
            passkey_required
                .and_then(|id| v.memberships.iter().find(|m| m.account_id == id).cloned())
                .map(|m| view! {
                    <p class="notice error" role="alert">
                        {format!("{} requires a passkey. Add one under Passkeys below to continue; you can still switch to another account.", m.account_name)}
                    </p>
                })
        } />
        <ChangePasswordCard />

        <section class="card" aria-labelledby="mfa-heading">
            <h2 id="mfa-heading">"Multi-factor authentication"</h2>
            <crate::components::FormOutcome done=super::passkeys::done_text(done.as_deref()).map(String::from) />
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || {
                    let next = next.clone();
                    Suspend::new(async move {
                        match status.await {
                            Ok(s) => {
                                let available = s.passkeys_available;
                                view! {
                                    <super::mfa::MfaCard status=s next />
                                    {(!available).then(|| view! {
                                        <section class="subsection" aria-labelledby="passkeys-heading">
                                            <h3 id="passkeys-heading">"Passkeys"</h3>
                                            <p class="hint">"Passkeys need the portal to be served at a domain name (not an IP address): ask your operator."</p>
                                        </section>
                                    })}
                                }.into_any()
                            }
                            Err(e) => view! { <p role="alert" class="notice error">{e.to_string()}</p> }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </section>

        <section class="card danger-zone" aria-labelledby="delete-heading">
            <h2 id="delete-heading">"Delete account"</h2>
            <WithViewer children=move |v| {
                let admin_of: Vec<String> = v.memberships.iter().filter(|m| m.is_admin).map(|m| m.account_name.clone()).collect();
                view! {
                    <p>
                        "This permanently deletes your user, your memberships in "
                        {v.memberships.len()}" account(s), your preferences, your password and all your sessions, "
                        "and signs you out. It cannot be undone. Your email address can be used again afterwards."
                    </p>
                    {(!admin_of.is_empty()).then(|| view! {
                        <p class="hint">"You administer "{admin_of.join(", ")}". If you are the only administrator there, make someone else an administrator first."</p>
                    })}
                    <DeleteForm email=v.email.clone() />
                }
            } />
        </section>
    }
}

/// Deleting one's own user: the password and the email typed again. The server signs the
/// person out and sends them to the sign-in page.
#[island]
fn DeleteForm(email: String) -> impl IntoView {
    let delete = direct_action::<DeleteAccount>();
    view! {
        <ServerForm action=delete class="form-grid" read=|f| DeleteAccount {
            current_password: f.secret("current_password"),
            confirm_email: f.text("confirm_email"),
        }>
            <label for="delete_password">"Current password"</label>
            <input id="delete_password" name="current_password" type="password"
                autocomplete="current-password" required />
            <label for="confirm_email">"Type your email to confirm"</label>
            <input id="confirm_email" name="confirm_email" type="email" autocomplete="off" required
                placeholder=email />
            <span></span>
            <div>
                <SubmitButton pending=delete.pending() label="Delete my account" busy="Deleting…" class="danger" />
                {failure(delete.value())}
            </div>
        </ServerForm>
    }
}

/// Changing the password, with a strength meter and a confirmation check as one types.
#[island]
fn ChangePasswordCard() -> impl IntoView {
    let change = direct_action::<ChangePassword>();
    let new_password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let strength = move || password_strength(&new_password.get());
    let mismatch = move || {
        let c = confirm.get();
        (!c.is_empty() && c != new_password.get())
            .then_some("The new password and its confirmation do not match.")
    };

    view! {
        <section class="card" aria-labelledby="password-heading">
            <h2 id="password-heading">"Change password"</h2>
            <p class="hint">"Use at least 8 characters; a long passphrase is best. Common passwords are refused."</p>
            <ServerForm action=change class="form-grid" read=|f| ChangePassword {
                current_password: f.secret("current_password"),
                new_password: f.secret("new_password"),
                confirm_password: f.secret("confirm_password"),
                sign_out_others: f.get("sign_out_others"),
            }>
                <label for="current_password">"Current password"</label>
                <input id="current_password" name="current_password" type="password"
                    autocomplete="current-password" required />
                <label for="new_password">"New password"</label>
                <div>
                    <input id="new_password" name="new_password" type="password" autocomplete="new-password"
                        required maxlength=MAX_PASSWORD_CHARS.to_string() aria-describedby="strength"
                        on:input=move |ev| new_password.set(event_target_value(&ev)) />
                    <p id="strength" class="strength" aria-live="polite">
                        {move || {
                            let (score, label) = strength();
                            (!label.is_empty()).then(|| view! {
                                <meter min="0" max="4" value=score.to_string() aria-hidden="true"></meter>
                                <span>"Strength: "{label}</span>
                            })
                        }}
                    </p>
                </div>
                <label for="confirm_password">"Confirm new password"</label>
                <div>
                    <input id="confirm_password" name="confirm_password" type="password"
                        autocomplete="new-password" required aria-describedby="confirm-error"
                        on:input=move |ev| confirm.set(event_target_value(&ev)) />
                    <p id="confirm-error" class="field-error" aria-live="polite">{mismatch}</p>
                </div>
                <span></span>
                <div class="checkbox">
                    <input id="sign_out_others" name="sign_out_others" type="checkbox" value="on" checked=true />
                    <label for="sign_out_others">"Sign out of other sessions"</label>
                </div>
                <span></span>
                <div>
                    <SubmitButton pending=change.pending() label="Change password" busy="Changing password…" />
                    {outcome(change.value(), |_| "Your password was changed.".to_string())}
                </div>
            </ServerForm>
        </section>

    }
}
