//! The pages of mailed links: "Forgot password?" (ask for a reset link), the reset link's
//! page (a new password, with the code step for people with MFA), and the two links of an
//! email change. None needs a session: the link is the proof.

use crate::{
    api::{
        email_link, reset_link, CancelEmailChange, ConfirmEmail, RequestPasswordReset,
        ResetPassword,
    },
    components::{direct_action, AuthCard, ServerForm, SubmitButton},
    format::FORGOT_PASSWORD_PATH,
    validation::{MAX_EMAIL_LEN, MAX_PASSWORD_CHARS},
    Secret,
};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// The link's token, from `?token=`.
fn use_token() -> String {
    use_query_map()
        .read_untracked()
        .get("token")
        .unwrap_or_default()
}

/// `/forgot-password`: the field "Email" and the button "Send reset link".
#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    view! {
        <AuthCard title="Reset your password">
            // Static text stays outside the island (it is not in the client bundle).
            <p class="hint">"Enter the email address you sign in with. If it belongs to an account, we send a link to set a new password."</p>
            <ForgotForm />
            <p><a href="/login">"Back to sign in"</a></p>
        </AuthCard>
    }
}

/// The request form. The answer is the same for every address.
#[island]
fn ForgotForm() -> impl IntoView {
    let action = direct_action::<RequestPasswordReset>();
    let pending = action.pending();
    let sent = move || matches!(action.value().get(), Some(Ok(())));
    let error = move || {
        action
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    };
    view! {
        <ServerForm action class="stack" read=|f| RequestPasswordReset { email: f.text("email") }>
            <label for="email">"Email"</label>
            <input id="email" name="email" type="email" autocomplete="username" required autofocus
                maxlength=MAX_EMAIL_LEN.to_string() />
            <div role="alert" class="form-error" aria-live="assertive">
                {move || error().map(|e| view! { <p>{e}</p> })}
            </div>
            <div role="status" aria-live="polite">
                {move || sent().then(|| view! {
                    <p class="ok">"If an account uses that address, a reset link is on its way (it works for 30 minutes). Check your spam folder too."</p>
                })}
            </div>
            <SubmitButton pending label="Send reset link" busy="Sending…" />
        </ServerForm>
    }
}

/// `/reset-password?token=…`: the new password (and the code of a person with MFA).
#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let token = use_token();
    let cancelled = use_query_map()
        .read_untracked()
        .get("email_cancelled")
        .is_some();
    let link = Resource::new(
        {
            let token = token.clone();
            move || token.clone()
        },
        |token| reset_link(Secret::new(token)),
    );
    view! {
        <AuthCard title="Set a new password">
            {cancelled.then(|| view! {
                <p class="notice" role="status">"The email change was cancelled. Someone else knows your password: set a new one now."</p>
            })}
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || {
                    let token = token.clone();
                    Suspend::new(async move {
                        match link.await {
                            Ok(info) => view! {
                                <p>"For "<strong>{info.email}</strong>"."</p>
                                <ResetForm token code_required=info.code_required app=info.app />
                            }.into_any(),
                            Err(e) => view! {
                                <p class="notice error" role="alert">{e.to_string()}</p>
                                <p><a href=FORGOT_PASSWORD_PATH>"Ask for a new link"</a></p>
                            }.into_any(),
                        }
                    })
                }}
            </Suspense>
            <p><a href="/login">"Back to sign in"</a></p>
        </AuthCard>
    }
}

/// The new password, twice, and for a person with MFA a current code (or a recovery
/// code): a reset never bypasses MFA.
#[island]
fn ResetForm(token: String, code_required: bool, app: bool) -> impl IntoView {
    let action = direct_action::<ResetPassword>();
    let pending = action.pending();
    // Without an authenticator app (passkeys only), a recovery code.
    let recovery = RwSignal::new(!app);
    let error = move || {
        action
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    };
    view! {
        <ServerForm action class="stack" read=|f| ResetPassword {
            token: f.secret("token"),
            new_password: f.secret("new_password"),
            confirm_password: f.secret("confirm_password"),
            code: f.get("code"),
            recovery: f.get("recovery"),
        }>
            <input type="hidden" name="token" value=token />
            <label for="new_password">"New password"</label>
            <input id="new_password" name="new_password" type="password" autocomplete="new-password"
                required autofocus maxlength=MAX_PASSWORD_CHARS.to_string() aria-describedby="new-password-hint" />
            <p id="new-password-hint" class="hint">"Use at least 8 characters; a long passphrase is best. Common passwords are refused."</p>
            <label for="confirm_password">"Confirm new password"</label>
            <input id="confirm_password" name="confirm_password" type="password" autocomplete="new-password"
                required maxlength=MAX_PASSWORD_CHARS.to_string() />
            {code_required.then(|| view! {
                {move || recovery.get().then(|| view! { <input type="hidden" name="recovery" value="on" /> })}
                <label for="code">{move || if recovery.get() { "Recovery code" } else { "Authentication code" }}</label>
                <input id="code" name="code" type="text" required autocomplete="one-time-code"
                    inputmode=move || if recovery.get() { "text" } else { "numeric" }
                    maxlength="40" spellcheck="false" aria-describedby="code-hint" />
                <p id="code-hint" class="hint">{if app {
                    "Multi-factor authentication is on: enter the code your authenticator app shows now."
                } else {
                    "Enter one of your recovery codes."
                }}</p>
                <button type="button" class="link-button" hidden=!app on:click=move |_| recovery.update(|r| *r = !*r)>
                    {move || if recovery.get() { "Use your authenticator app" } else { "Use a recovery code" }}
                </button>
            })}
            <div role="alert" class="form-error" aria-live="assertive">
                {move || error().map(|e| view! { <p>{e}</p> })}
            </div>
            <SubmitButton pending label="Set new password" busy="Setting…" />
        </ServerForm>
    }
}

/// `/email/confirm?token=…`: the link sent to a new address. The address changes when the
/// button is pressed (a mail scanner that opens links changes nothing).
#[component]
pub fn EmailConfirmPage() -> impl IntoView {
    let token = use_token();
    let link = Resource::new(
        {
            let token = token.clone();
            move || token.clone()
        },
        |token| email_link(Secret::new(token), false),
    );
    view! {
        <AuthCard title="Confirm your new email address">
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || {
                    let token = token.clone();
                    Suspend::new(async move {
                        match link.await {
                            Ok(info) => view! {
                                <ConfirmEmailForm token old_email=info.old_email new_email=info.new_email />
                            }.into_any(),
                            Err(e) => view! {
                                <p class="notice error" role="alert">{e.to_string()}</p>
                                <p><a href="/login">"Sign in"</a></p>
                            }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </AuthCard>
    }
}

#[island]
fn ConfirmEmailForm(token: String, old_email: String, new_email: String) -> impl IntoView {
    let action = direct_action::<ConfirmEmail>();
    let pending = action.pending();
    let done = move || matches!(action.value().get(), Some(Ok(())));
    let error = move || {
        action
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    };
    let confirmed_email = new_email.clone();
    view! {
        <Show when=done fallback=move || {
            let (old_email, new_email, token) = (old_email.clone(), new_email.clone(), token.clone());
            view! {
                <p>"The account that signs in with "<strong>{old_email}</strong>" will sign in with "
                    <strong>{new_email}</strong>" instead."</p>
                <ServerForm action class="stack" read=|f| ConfirmEmail { token: f.secret("token") }>
                    <input type="hidden" name="token" value=token />
                    <div role="alert" class="form-error" aria-live="assertive">
                        {move || error().map(|e| view! { <p>{e}</p> })}
                    </div>
                    <SubmitButton pending label="Confirm email address" busy="Confirming…" />
                </ServerForm>
            }
        }>
            <div role="status" tabindex="-1" autofocus>
                <h2>"Email address confirmed"</h2>
                <p>"From now on you sign in with "<strong>{confirmed_email.clone()}</strong>". Your other sessions were signed out."</p>
            </div>
            <p><a href="/">"Continue to Connect Portal"</a></p>
        </Show>
    }
}

/// `/email/cancel?token=…`: "If this wasn't you", from the old address.
#[component]
pub fn EmailCancelPage() -> impl IntoView {
    let token = use_token();
    let link = Resource::new(
        {
            let token = token.clone();
            move || token.clone()
        },
        |token| email_link(Secret::new(token), true),
    );
    view! {
        <AuthCard title="Cancel the email change">
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || {
                    let token = token.clone();
                    Suspend::new(async move {
                        match link.await {
                            Ok(info) => view! {
                                <p>"Someone asked to change the email address of your account from "
                                    <strong>{info.old_email}</strong>" to "<strong>{info.new_email}</strong>"."</p>
                                <p>"If it wasn't you, cancel the change. Then set a new password: whoever asked knows your current one."</p>
                                <CancelEmailForm token />
                            }.into_any(),
                            Err(e) => view! {
                                <p class="notice error" role="alert">{e.to_string()}</p>
                                <p><a href=FORGOT_PASSWORD_PATH>"Reset your password"</a></p>
                            }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </AuthCard>
    }
}

#[island]
fn CancelEmailForm(token: String) -> impl IntoView {
    let action = direct_action::<CancelEmailChange>();
    let pending = action.pending();
    let error = move || {
        action
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    };
    view! {
        <ServerForm action class="stack" read=|f| CancelEmailChange { token: f.secret("token") }>
            <input type="hidden" name="token" value=token />
            <div role="alert" class="form-error" aria-live="assertive">
                {move || error().map(|e| view! { <p>{e}</p> })}
            </div>
            <SubmitButton pending label="Cancel the change" busy="Cancelling…" />
        </ServerForm>
    }
}

/// `/invitation?token=…`: an invitation to join an account. Someone who already uses the
/// portal signs in (their own credentials and MFA) and accepts; someone new chooses a name
/// and a password.
#[component]
pub fn InvitationPage() -> impl IntoView {
    let token = use_token();
    let info = Resource::new(
        {
            let token = token.clone();
            move || token.clone()
        },
        |token| crate::api::invitation(Secret::new(token)),
    );
    view! {
        <AuthCard title="Accept the invitation">
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || {
                    let token = token.clone();
                    Suspend::new(async move {
                        match info.await {
                            Ok(i) => {
                                let here = crate::format::link_href(crate::format::INVITATION_PATH, &token);
                                let intro = format!("You are invited to join {} in the group {}, as {}.", i.account_name, i.group_name, i.email);
                                let body = if !i.existing {
                                    view! { <AcceptForm token new_person=true /> }.into_any()
                                } else if i.signed_in_as_invitee {
                                    view! { <AcceptForm token new_person=false /> }.into_any()
                                } else if let Some(other) = i.signed_in_as {
                                    view! {
                                        <p class="notice error" role="alert">{format!("This invitation is for {}, and you are signed in as {other}. Sign out, then sign in as {} to accept it.", i.email, i.email)}</p>
                                    }.into_any()
                                } else {
                                    view! {
                                        <p>"You already use Connect Portal: sign in to accept."</p>
                                        <p><a class="button" href=crate::format::login_href(&here)>"Sign in to accept"</a></p>
                                    }.into_any()
                                };
                                view! { <p>{intro}</p>{body} }.into_any()
                            }
                            Err(e) => view! {
                                <p class="notice error" role="alert">{e.to_string()}</p>
                                <p><a href="/login">"Sign in"</a></p>
                            }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </AuthCard>
    }
}

#[island]
fn AcceptForm(token: String, new_person: bool) -> impl IntoView {
    let action = direct_action::<crate::api::AcceptInvitation>();
    let pending = action.pending();
    let error = move || {
        action
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    };
    view! {
        <ServerForm action class="stack" read=move |f| crate::api::AcceptInvitation {
            token: f.secret("token"),
            name: new_person.then(|| f.text("name")),
            new_password: new_person.then(|| f.secret("new_password")),
            confirm_password: new_person.then(|| f.secret("confirm_password")),
        }>
            <input type="hidden" name="token" value=token />
            {new_person.then(|| view! {
                <label for="name">"Name"</label>
                <input id="name" name="name" type="text" autocomplete="name" required autofocus
                    maxlength=crate::validation::MAX_NAME_CHARS.to_string() />
                <label for="new_password">"New password"</label>
                <input id="new_password" name="new_password" type="password" autocomplete="new-password"
                    required maxlength=MAX_PASSWORD_CHARS.to_string() aria-describedby="invite-password-hint" />
                <p id="invite-password-hint" class="hint">"Use at least 8 characters; a long passphrase is best. Common passwords are refused."</p>
                <label for="confirm_password">"Confirm new password"</label>
                <input id="confirm_password" name="confirm_password" type="password" autocomplete="new-password"
                    required maxlength=MAX_PASSWORD_CHARS.to_string() />
            })}
            <div role="alert" class="form-error" aria-live="assertive">
                {move || error().map(|e| view! { <p>{e}</p> })}
            </div>
            <SubmitButton pending label="Accept invitation" busy="Accepting…" />
        </ServerForm>
    }
}
