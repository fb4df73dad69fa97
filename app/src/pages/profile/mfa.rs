use crate::{
    api::{mfa_status, DisableMfa, EnableMfa, RegenerateRecoveryCodes, StartMfaEnrolment},
    components::{
        copy_to_clipboard, direct_action, focus_on_load, go_to, totp_countdown, DirectAction,
        ServerForm, StepUpForm, SubmitButton,
    },
    models::{MfaEnrolment, MfaStatus},
    AppError,
};
use leptos::prelude::*;

#[derive(Clone, PartialEq)]
enum Stage {
    Idle,
    Password,
    Enrolling(MfaEnrolment),
    Codes(Vec<String>),
}

/// The Security section's multi-factor authentication card: set-up (password, QR code and
/// key, code), recovery codes, and turning it off. `next` is where to continue once set-up
/// is done (when an account's policy sent the person here).
#[island]
pub fn MfaCard(status: MfaStatus, next: Option<String>) -> impl IntoView {
    let start = direct_action::<StartMfaEnrolment>();
    let enable = direct_action::<EnableMfa>();
    let regenerate = direct_action::<RegenerateRecoveryCodes>();
    let disable = direct_action::<DisableMfa>();
    let stage = RwSignal::new(Stage::Idle);
    // Set-up finished: focus goes to the new state, where the last step's button was.
    let finished = RwSignal::new(false);
    let next = StoredValue::new(next);
    let done = move || {
        finished.set(true);
        stage.set(Stage::Idle);
        next.with_value(|n| {
            if n.is_some() {
                go_to(n.as_deref());
            }
        });
    };
    // The state as the server rendered it, read again after each change.
    let status = RwSignal::new(status);
    Effect::new(move |first: Option<()>| {
        let _ = (
            enable.version().get(),
            regenerate.version().get(),
            disable.version().get(),
        );
        if first.is_some() {
            leptos::task::spawn_local(async move {
                if let Ok(s) = mfa_status().await {
                    status.set(s);
                }
            });
        }
    });

    Effect::new(move |_| match start.value().get() {
        Some(Ok(e)) => stage.set(Stage::Enrolling(e)),
        Some(Err(crate::AppError::StepUpRequired { .. })) => stage.set(Stage::Password),
        _ => {}
    });
    Effect::new(move |_| match enable.value().get() {
        Some(Ok(Some(codes))) => stage.set(Stage::Codes(codes.0)),
        Some(Ok(None)) => done(),
        _ => {}
    });
    Effect::new(move |_| {
        if let Some(Ok(codes)) = regenerate.value().get() {
            stage.set(Stage::Codes(codes.0));
        }
    });

    let begin = move |s: &MfaStatus| {
        if s.elevated_secs > 0 {
            start.dispatch(StartMfaEnrolment {});
        } else {
            stage.set(Stage::Password);
        }
    };
    let passkeys = StoredValue::new(status.get_untracked());
    let passkeys_next = next;
    let card = move || {
        let s = status.get();
        match stage.get() {
            Stage::Codes(codes) => view! { <RecoveryCodesView codes on_done=done /> }.into_any(),
            Stage::Enrolling(e) if !s.totp => {
                view! { <EnrolView enrolment=e enable /> }.into_any()
            }
            // "Confirm it's you" (the password, and a passkey when MFA is on through
            // passkeys), then the set-up.
            Stage::Password if !s.totp => view! {
                <StepUpForm needs=crate::StepUpNeeds { code: s.enabled, passkey: !s.passkeys.is_empty(), only_passkey: !s.passkeys.is_empty() && !s.passkey_session } nested=true
                    on_done=Callback::new(move |_| { start.dispatch(StartMfaEnrolment {}); }) />
                <p role="status" class="muted">{move || start.pending().get().then_some("Starting set-up…")}</p>
                <p role="alert" class="field-error">
                    {move || match start.value().get() {
                        Some(Err(crate::AppError::StepUpRequired { .. })) | Some(Ok(_)) | None => None,
                        Some(Err(e)) => Some(e.to_string()),
                    }}
                </p>
            }
            .into_any(),
            _ if !s.enabled => {
                let s2 = s.clone();
                view! {
                    <p>"Multi-factor authentication is off. With it on, every sign-in also asks for a code from an authenticator app, or a passkey."</p>
                    {(!s.required_by.is_empty()).then(|| view! {
                        <p class="notice" role="status">{format!("Required by {}.", s.required_by.join(", "))}</p>
                    })}
                    <button type="button" class="primary" on:click=move |_| begin(&s2)>"Set up multi-factor authentication"</button>
                    <p role="alert" class="field-error">
                        {move || start.value().get().and_then(|r| r.err()).map(|e| e.to_string())}
                    </p>
                }.into_any()
            }
            _ => {
                let s2 = s.clone();
                view! {
                    <ManageView status=s regenerate disable focus=finished.get_untracked()
                        set_up_app=Callback::new(move |_| begin(&s2)) />
                }
                .into_any()
            }
        }
    };
    view! {
        {card}
        // Where passkeys cannot be offered, the page says so outside the island.
        {move || {
            let s = passkeys.get_value();
            s.passkeys_available.then(|| view! { <super::passkeys::PasskeysCard status=s next=passkeys_next.get_value() /> })
        }}
    }
}

#[component]
fn EnrolView(enrolment: MfaEnrolment, enable: DirectAction<EnableMfa>) -> impl IntoView {
    let secs = totp_countdown();
    let copied = RwSignal::new(false);
    let secret = enrolment.secret_grouped.clone();
    let error = move || {
        enable
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    };
    let heading = NodeRef::<leptos::html::H3>::new();
    focus_on_load(heading);
    view! {
        <h3 class="step-heading" tabindex="-1" node_ref=heading>"Set up your authenticator app"</h3>
        <ol class="steps">
            <li>
                <p>"Scan this QR code with your authenticator app. It will show "<strong>{enrolment.account_label.clone()}</strong>"."</p>
                <div class="qr" role="img" aria-label="QR code" inner_html=enrolment.qr_svg.clone()></div>
            </li>
            <li>
                <p>"Or enter this key in the app (time-based, 6 digits, 30 seconds):"</p>
                <p class="secret">
                    <code data-testid="mfa-secret">{enrolment.secret_grouped.clone()}</code>
                    " "
                    <button type="button" class="secondary" on:click=move |_| { copied.set(copy_to_clipboard(&secret.replace(' ', ""))); }>"Copy"</button>
                    <span role="status" class="muted">{move || copied.get().then_some(" Copied")}</span>
                </p>
            </li>
            <li>
                <p>"Enter the code the app shows."</p>
                <ServerForm action=enable class="form-grid" read=|f| EnableMfa {
                    code: f.text("code"),
                    sign_out_others: f.get("sign_out_others"),
                }>
                    <label for="enable_code">"Authentication code"</label>
                    <div>
                        <input id="enable_code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required maxlength="9" />
                        <p class="hint" aria-live="off">{move || format!("This code changes in {} s.", secs.get())}</p>
                    </div>
                    <span></span>
                    <div class="checkbox">
                        <input id="enable_sign_out_others" name="sign_out_others" type="checkbox" value="on" checked=true />
                        <label for="enable_sign_out_others">"Sign out of other sessions"</label>
                    </div>
                    <span></span>
                    <div>
                        <SubmitButton pending=enable.pending() label="Enable" busy="Enabling…" />
                        <p role="alert" class="field-error">{error}</p>
                    </div>
                </ServerForm>
                <p class="hint">{format!("This set-up expires in {} minutes.", enrolment.expires_in_secs / 60)}</p>
            </li>
        </ol>
    }
}

#[component]
pub(super) fn RecoveryCodesView(
    codes: Vec<String>,
    on_done: impl Fn() + Send + Sync + 'static,
) -> impl IntoView {
    let text = codes.join("\n");
    let copied = RwSignal::new(false);
    let download = format!(
        "data:text/plain;charset=utf-8,{}",
        text.bytes()
            .map(|b| if b.is_ascii_alphanumeric() || b == b'-' {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            })
            .collect::<String>()
    );
    let items = codes
        .into_iter()
        .map(|c| view! { <li><code>{c}</code></li> })
        .collect_view();
    let notice = NodeRef::<leptos::html::Div>::new();
    focus_on_load(notice);
    view! {
        <div role="status" class="notice" tabindex="-1" node_ref=notice>
            <p><strong>"Save your recovery codes now."</strong>" Each signs you in once if you lose your device. They will not be shown again."</p>
        </div>
        <ul class="recovery-codes" aria-label="Recovery codes">{items}</ul>
        <p class="actions">
            <button type="button" class="secondary" on:click=move |_| { copied.set(copy_to_clipboard(&text)); }>"Copy"</button>
            <a class="button secondary" href=download download="connect-portal-recovery-codes.txt">"Download"</a>
            <span role="status" class="muted">{move || copied.get().then_some("Copied")}</span>
        </p>
        <button type="button" class="primary" on:click=move |_| on_done()>"I have saved my codes"</button>
    }
}

#[component]
fn ManageView(
    status: MfaStatus,
    regenerate: DirectAction<RegenerateRecoveryCodes>,
    disable: DirectAction<DisableMfa>,
    /// Focus the state line (set-up has just finished).
    focus: bool,
    /// "Set up an authenticator app" (MFA is on through passkeys only).
    set_up_app: Callback<()>,
) -> impl IntoView {
    // Without the app, changes ask for a recent "Confirm it's you" (with a passkey)
    // instead of a code: the refusal links there, and back here.
    let totp = status.totp;
    let code_field = move |id: &'static str| {
        totp.then(|| view! {
            <label for=id>"Authentication code"</label>
            <input id=id name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required maxlength="9" />
        })
    };
    let error_or_step_up = move |value: Signal<Option<Result<(), AppError>>>| {
        move || {
            value.get().and_then(|r| r.err()).map(|e| {
                // Turning MFA off removes the passkeys: only a passkey confirms it then.
                let href = match &e {
                    AppError::StepUpRequired {
                        only_passkey: true, ..
                    } => Some(crate::format::passkey_step_up_href("/profile/security")),
                    AppError::StepUpRequired { .. } => {
                        Some(crate::format::step_up_for_change_href("/profile/security"))
                    }
                    _ => None,
                };
                view! {
                    <p role="alert" class="field-error">
                        {e.to_string()}" "
                        {href.map(|href| view! { <a href=href>"Confirm it's you"</a> })}
                    </p>
                }
            })
        }
    };
    let regen_value = Signal::derive(move || regenerate.value().get().map(|r| r.map(|_| ())));
    let off_value = Signal::derive(move || disable.value().get());
    let state = NodeRef::<leptos::html::P>::new();
    if focus {
        focus_on_load(state);
    }
    let low = status.recovery_codes_left <= 3;
    let required = status.required_by.clone();
    view! {
        <p data-testid="mfa-state" tabindex="-1" node_ref=state>
            <strong>"Multi-factor authentication is on"</strong>
            {status.enabled_since.clone().map(|t| format!(" since {t}"))}"."
        </p>
        {(!totp).then(|| view! {
            <p>"Your passkeys are your second factor. You can add an authenticator app too."</p>
            <button type="button" class="secondary" on:click=move |_| set_up_app.run(())>"Set up an authenticator app"</button>
        })}
        <p class:warning=low>
            {format!("Recovery codes left: {}.", status.recovery_codes_left)}
            {low.then_some(" Regenerate them soon so you cannot be locked out.")}
        </p>
        <section aria-labelledby="regen-heading" class="subsection">
            <h3 id="regen-heading">"Recovery codes"</h3>
            <p class="hint">"New codes replace all the old ones."</p>
            <ServerForm action=regenerate class="form-grid" read=|f| RegenerateRecoveryCodes {
                code: f.text("code"),
                sign_out_others: f.get("sign_out_others"),
            }>
                {code_field("regen_code")}
                <span></span>
                <div class="checkbox">
                    <input id="regen_sign_out_others" name="sign_out_others" type="checkbox" value="on" checked=true />
                    <label for="regen_sign_out_others">"Sign out of other sessions"</label>
                </div>
                <span></span>
                <div>
                    <SubmitButton pending=regenerate.pending() label="Regenerate recovery codes" busy="Regenerating…" class="secondary" />
                </div>
            </ServerForm>
            {error_or_step_up(regen_value)}
        </section>
        <section aria-labelledby="mfa-off-heading" class="subsection">
            <h3 id="mfa-off-heading">"Turn off"</h3>
            {if required.is_empty() {
                view! {
                    <p class="hint">"This removes your authenticator app, your passkeys and your recovery codes."</p>
                    <ServerForm action=disable class="form-grid" read=|f| DisableMfa {
                        current_password: f.secret("current_password"),
                        code: f.text("code"),
                        sign_out_others: f.get("sign_out_others"),
                    }>
                        <label for="off_password">"Current password"</label>
                        <input id="off_password" name="current_password" type="password" autocomplete="current-password" required />
                        {code_field("off_code")}
                        <span></span>
                        <div class="checkbox">
                            <input id="off_sign_out_others" name="sign_out_others" type="checkbox" value="on" checked=true />
                            <label for="off_sign_out_others">"Sign out of other sessions"</label>
                        </div>
                        <span></span>
                        <div>
                            <SubmitButton pending=disable.pending() label="Turn off multi-factor authentication" busy="Turning off…" class="danger" />
                        </div>
                    </ServerForm>
                    {error_or_step_up(off_value)}
                }.into_any()
            } else {
                view! {
                    <p>{format!("It cannot be turned off: {} require{} it.", required.join(", "), if required.len() == 1 { "s" } else { "" })}</p>
                }.into_any()
            }}
        </section>
    }
}
