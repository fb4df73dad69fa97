//! The Security section's passkeys: the list, "Add a passkey" (after "Confirm it's you",
//! named in "Passkey name"), "Rename" and "Remove".

use super::mfa::RecoveryCodesView;
use crate::{
    api::{add_passkey, remove_passkey, rename_passkey, start_passkey_registration},
    components::{passkey_answer, passkeys_supported, reload_done, StepUpForm},
    models::{MfaStatus, PasskeyInfo},
    AppError,
};
use leptos::prelude::*;

/// Why an action stopped: it needs "Confirm it's you" first, or a message.
#[derive(Clone, PartialEq)]
enum Stop {
    StepUp,
    Message(String),
}

impl From<AppError> for Stop {
    fn from(e: AppError) -> Self {
        match e {
            AppError::StepUpRequired { .. } => Stop::StepUp,
            e => Stop::Message(e.to_string()),
        }
    }
}

#[derive(Clone, PartialEq)]
enum Stage {
    Idle,
    StepUp,
    Naming,
    Codes(Vec<String>),
}

/// The page's reading of `?done=` for passkeys.
pub fn done_text(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "passkey_added" => Some("Your passkey was added."),
        "passkey_removed" => Some("The passkey was removed."),
        "passkey_renamed" => Some("The passkey was renamed."),
        _ => None,
    }
}

#[island]
pub fn PasskeysCard(
    status: MfaStatus,
    /// Where to continue once a passkey is added (an account that requires one sent
    /// the person here).
    next: Option<String>,
) -> impl IntoView {
    let next = StoredValue::new(next);
    let added = move || match next.get_value() {
        Some(n) => crate::components::go_to(Some(&n)),
        None => reload_done("passkey_added"),
    };
    let supported = RwSignal::new(true);
    Effect::new(move |_| supported.set(passkeys_supported()));
    let stage = RwSignal::new(Stage::Idle);
    let elevated = RwSignal::new(status.elevated_secs > 0);
    let mfa_on = status.enabled;
    let name = RwSignal::new(String::new());
    let add = Action::new_unsync(move |_: &()| async move {
        let challenge = start_passkey_registration().await.map_err(Stop::from)?;
        let answer = passkey_answer(&challenge, true)
            .await
            .map_err(Stop::Message)?;
        add_passkey(challenge.ceremony, answer, name.get_untracked())
            .await
            .map_err(Stop::from)
    });
    Effect::new(move |_| match add.value().get() {
        Some(Ok(Some(codes))) => stage.set(Stage::Codes(codes.0)),
        Some(Ok(None)) => added(),
        Some(Err(Stop::StepUp)) => stage.set(Stage::StepUp),
        _ => {}
    });
    let begin = move |_| {
        if elevated.get_untracked() {
            stage.set(Stage::Naming);
        } else {
            stage.set(Stage::StepUp);
        }
    };
    let passkeys = status.passkeys.clone();
    let count = passkeys.len();
    let list = passkeys
        .into_iter()
        .map(|p| view! { <PasskeyRow passkey=p mfa_on /> })
        .collect_view();

    view! {
        <p class="hint">
            "A passkey signs you in with your device's screen lock or a security key: nothing to type, "
            "and it works only on this portal's own address, so it cannot be phished. It also counts as "
            "your second factor."
        </p>
        {(count == 0).then(|| view! { <p>"You have no passkeys yet."</p> })}
        {(count > 0).then(|| view! { <ul class="passkeys" aria-label="Your passkeys">{list}</ul> })}
        {move || match stage.get() {
            Stage::Codes(codes) => view! {
                <p class="notice" role="status">"Your passkey was added, and multi-factor authentication is now on."</p>
                <RecoveryCodesView codes on_done=added />
            }.into_any(),
            Stage::StepUp => view! {
                <StepUpForm code=mfa_on nested=true on_done=Callback::new(move |_| {
                    elevated.set(true);
                    stage.set(Stage::Naming);
                }) />
            }.into_any(),
            Stage::Naming => view! {
                <form class="form-grid" on:submit=move |ev| {
                    ev.prevent_default();
                    if !add.pending().get_untracked() {
                        add.dispatch(());
                    }
                }>
                    <label for="passkey_name">"Passkey name"</label>
                    <div>
                        <input id="passkey_name" type="text" required autofocus maxlength="100"
                            placeholder="e.g. Work laptop" aria-describedby="passkey-name-hint"
                            prop:value=move || name.get()
                            on:input=move |ev| name.set(event_target_value(&ev)) />
                        <p id="passkey-name-hint" class="hint">"So you can tell your passkeys apart."</p>
                    </div>
                    <span></span>
                    <div class="actions">
                        <button type="submit" class="primary" disabled=move || add.pending().get()>
                            {move || if add.pending().get() { "Waiting for your authenticator…" } else { "Create passkey" }}
                        </button>
                        <button type="button" class="secondary" on:click=move |_| stage.set(Stage::Idle)>"Cancel"</button>
                    </div>
                    <span></span>
                    <p role="alert" class="field-error">
                        {move || match add.value().get() {
                            Some(Err(Stop::Message(m))) => Some(m),
                            _ => None,
                        }}
                    </p>
                </form>
            }.into_any(),
            Stage::Idle => view! {
                <div hidden=move || !supported.get()>
                    <button type="button" class="primary" on:click=begin>"Add a passkey"</button>
                </div>
                <p class="hint" hidden=move || supported.get()>"This browser cannot make passkeys."</p>
            }.into_any(),
        }}
    }
}

/// One passkey: its name and facts, "Rename" and "Remove".
#[component]
fn PasskeyRow(passkey: PasskeyInfo, mfa_on: bool) -> impl IntoView {
    let id = passkey.id;
    let renaming = RwSignal::new(false);
    let removing = RwSignal::new(false);
    let step_up = RwSignal::new(false);
    let new_name = RwSignal::new(passkey.name.clone());
    let rename = Action::new_unsync(move |_: &()| async move {
        rename_passkey(id, new_name.get_untracked())
            .await
            .map_err(|e| e.to_string())
    });
    let remove =
        Action::new_unsync(
            move |_: &()| async move { remove_passkey(id).await.map_err(Stop::from) },
        );
    Effect::new(move |_| {
        if let Some(Ok(())) = rename.value().get() {
            reload_done("passkey_renamed");
        }
    });
    Effect::new(move |_| match remove.value().get() {
        Some(Ok(())) => reload_done("passkey_removed"),
        Some(Err(Stop::StepUp)) => step_up.set(true),
        _ => {}
    });
    let name = passkey.name.clone();
    let label_rename = format!("Rename {}", passkey.name);
    let label_remove = format!("Remove {}", passkey.name);
    let rename_field = format!("passkey-rename-{id}");
    let field_for = rename_field.clone();
    let confirm = format!(
        "Remove the passkey “{}”? You can no longer sign in with it.",
        passkey.name
    );
    view! {
        <li class="passkey">
            <p><strong>{name}</strong></p>
            <p class="muted">
                {passkey.kind.clone()}". Added "{passkey.added.clone()}". "
                {match passkey.last_used.clone() {
                    Some(t) => format!("Last used {t}."),
                    None => "Not used yet.".to_string(),
                }}
            </p>
            <p class="actions" hidden=move || renaming.get() || removing.get()>
                <button type="button" class="secondary" aria-label=label_rename on:click=move |_| renaming.set(true)>"Rename"</button>
                <button type="button" class="danger" aria-label=label_remove on:click=move |_| removing.set(true)>"Remove"</button>
            </p>
            {move || renaming.get().then(|| {
                let field_for = field_for.clone();
                let rename_field = rename_field.clone();
                view! {
                <form class="form-grid" on:submit=move |ev| {
                    ev.prevent_default();
                    if !rename.pending().get_untracked() {
                        rename.dispatch(());
                    }
                }>
                    <label for=field_for>"Passkey name"</label>
                    <input id=rename_field type="text" required autofocus maxlength="100"
                        prop:value=move || new_name.get()
                        on:input=move |ev| new_name.set(event_target_value(&ev)) />
                    <span></span>
                    <div class="actions">
                        <button type="submit" class="primary" disabled=move || rename.pending().get()>"Save name"</button>
                        <button type="button" class="secondary" on:click=move |_| renaming.set(false)>"Cancel"</button>
                    </div>
                    <span></span>
                    <p role="alert" class="field-error">{move || rename.value().get().and_then(|r| r.err())}</p>
                </form>
            }})}
            {move || removing.get().then(|| {
                let confirm = confirm.clone();
                view! {
                <div class="confirm">
                    {move || if step_up.get() {
                        view! {
                            <StepUpForm code=mfa_on nested=true on_done=Callback::new(move |_| {
                                step_up.set(false);
                                remove.dispatch(());
                            }) />
                        }.into_any()
                    } else {
                        let confirm = confirm.clone();
                        view! {
                            <p>{confirm}</p>
                            <p class="actions">
                                <button type="button" class="danger" disabled=move || remove.pending().get()
                                    on:click=move |_| { remove.dispatch(()); }>"Remove passkey"</button>
                                <button type="button" class="secondary" on:click=move |_| removing.set(false)>"Cancel"</button>
                            </p>
                        }.into_any()
                    }}
                    <p role="alert" class="field-error">
                        {move || match remove.value().get() {
                            Some(Err(Stop::Message(m))) => Some(m),
                            _ => None,
                        }}
                    </p>
                </div>
            }})}
        </li>
    }
}
