//! The Security section's passkeys: the list, "Add a passkey" (after "Confirm it's you",
//! named in "Passkey name"), "Rename" and "Remove".

use super::mfa::RecoveryCodesView;
use crate::{
    components::{passkey_action, reload_done, PasskeyFinish, StepUpForm},
    models::{MfaStatus, PasskeyInfo, PasskeyPurpose},
    AppError,
};
use leptos::prelude::*;

/// A refusal's words, unless it only asks for "Confirm it's you" (shown as the prompt).
fn message<T>(r: Option<Result<T, AppError>>) -> Option<String> {
    match r {
        Some(Err(AppError::StepUpRequired { .. })) | Some(Ok(_)) | None => None,
        Some(Err(e)) => Some(e.to_string()),
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

/// Inside the multi-factor authentication card's island (one island for the section).
#[component]
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
    let stage = RwSignal::new(Stage::Idle);
    let elevated = RwSignal::new(status.elevated_secs > 0);
    let has_passkey = !status.passkeys.is_empty();
    // A person with passkeys changes them only from a session that passed one.
    let only_passkey = RwSignal::new(has_passkey && !status.passkey_session);
    let mfa_on = status.enabled;
    let name = RwSignal::new(String::new());
    let add = passkey_action(PasskeyPurpose::Register, move || PasskeyFinish {
        name: Some(name.get_untracked()),
        ..Default::default()
    });
    Effect::new(move |_| match add.value().get() {
        Some(Ok(Some(codes))) => stage.set(Stage::Codes(codes.0)),
        Some(Ok(None)) => added(),
        Some(Err(AppError::StepUpRequired {
            only_passkey: n, ..
        })) => {
            only_passkey.set(n);
            stage.set(Stage::StepUp)
        }
        _ => {}
    });
    let begin = move |_| {
        if elevated.get_untracked() && !only_passkey.get_untracked() {
            stage.set(Stage::Naming);
        } else {
            stage.set(Stage::StepUp);
        }
    };
    let passkeys = status.passkeys.clone();
    let count = passkeys.len();
    let list = passkeys
        .into_iter()
        .map(|p| view! { <PasskeyRow passkey=p /> })
        .collect_view();

    view! {
        <section class="subsection" aria-labelledby="passkeys-heading">
        <h3 id="passkeys-heading">"Passkeys"</h3>
        <p class="hint">
            "A passkey signs you in with your device's screen lock or a security key; it cannot be phished. "
            "It counts as your second factor."
        </p>
        {(count == 0).then(|| view! { <p>"You have no passkeys yet."</p> })}
        {(count > 0).then(|| view! { <ul class="passkeys" aria-label="Your passkeys">{list}</ul> })}
        {move || match stage.get() {
            Stage::Codes(codes) => view! {
                <p class="notice" role="status">"Your passkey was added, and multi-factor authentication is now on."</p>
                <RecoveryCodesView codes on_done=added />
            }.into_any(),
            Stage::StepUp => view! {
                <StepUpForm nested=true
                    needs=crate::StepUpNeeds { code: mfa_on, passkey: has_passkey, only_passkey: only_passkey.get_untracked() }
                    on_done=Callback::new(move |_| {
                    elevated.set(true);
                    only_passkey.set(false);
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
                            placeholder="e.g. Work laptop"
                            prop:value=move || name.get()
                            on:input=move |ev| name.set(event_target_value(&ev)) />
                    </div>
                    <span></span>
                    <div class="actions">
                        <button type="submit" class="primary" disabled=move || add.pending().get()>
                            {move || if add.pending().get() { "Waiting for your passkey…" } else { "Create passkey" }}
                        </button>
                        <button type="button" class="secondary" on:click=move |_| stage.set(Stage::Idle)>"Cancel"</button>
                    </div>
                    <span></span>
                    <p role="alert" class="field-error">
                        {move || message(add.value().get())}
                    </p>
                </form>
            }.into_any(),
            // A browser without passkeys says so when the button is pressed.
            Stage::Idle => view! {
                <button type="button" class="primary" on:click=begin>"Add a passkey"</button>
            }.into_any(),
        }}
        </section>
    }
}

/// One passkey: its name and facts, "Rename" and "Remove". Plain forms (no script):
/// they post to the server, which answers with the Security section again (or "Confirm
/// it's you" first, for a removal).
#[component]
fn PasskeyRow(passkey: PasskeyInfo) -> impl IntoView {
    let id = passkey.id.to_string();
    let name = passkey.name.clone();
    let field = format!("passkey-name-{id}");
    let panel = format!("passkey-remove-{id}");
    let heading = format!("{panel}-heading");
    let (panel2, panel3, panel4, heading2) =
        (panel.clone(), panel.clone(), panel.clone(), heading.clone());
    view! {
        <li class="passkey">
            <p><strong>{name.clone()}</strong></p>
            <p class="muted">
                {passkey.kind.clone()}". Added "{passkey.added.clone()}". "
                {match passkey.last_used.clone() {
                    Some(t) => format!("Last used {t}."),
                    None => "Not used yet.".to_string(),
                }}
            </p>
            <form method="post" action=crate::format::PASSKEY_FORM_PATH class="inline-form">
                <input type="hidden" name="op" value="rename" />
                <input type="hidden" name="id" value=id.clone() />
                <label for=field.clone()>{format!("New name for {name}")}</label>
                <input id=field name="name" type="text" required maxlength="100" value=name.clone() />
                <button type="submit" class="secondary" aria-label=format!("Rename {name}")>"Rename"</button>
            </form>
            <button type="button" class="danger" popovertarget=panel2
                aria-label=format!("Remove {name}")>"Remove"</button>
            <div id=panel3 popover="auto" class="modal" role="dialog" aria-labelledby=heading2>
                <h3 id=heading>{format!("Remove the passkey “{name}”?")}</h3>
                <p>"You can no longer sign in with it."</p>
                <form method="post" action=crate::format::PASSKEY_FORM_PATH class="actions">
                    <input type="hidden" name="op" value="remove" />
                    <input type="hidden" name="id" value=id />
                    // Sessions signed in with it (on a lost device, say) end with it.
                    <label class="checkbox"><input name="sign_out_others" type="checkbox" value="on" checked=true />"Sign out of other sessions"</label>
                    <button type="submit" class="danger">"Remove passkey"</button>
                    <button type="button" class="secondary" popovertarget=panel4 popovertargetaction="hide">"Cancel"</button>
                </form>
            </div>
        </li>
    }
}
