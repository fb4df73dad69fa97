use crate::{
    api::{
        general_settings, CancelPendingEmail, ChangeEmail, ResendEmailConfirmation, SaveGeneral,
    },
    components::{
        browser_time_zone, confirmation, direct_action, failure, known_time_zone, preview_now,
        reload_when_done, use_done, ServerForm, SubmitButton, TIME_ZONE_LIST_ID,
    },
    models::{DateFormat, GeneralSettings, TimeFormat},
    validation::{validate_email, validate_name, MAX_EMAIL_LEN, MAX_NAME_CHARS},
};
use leptos::prelude::*;
use leptos_meta::Title;

/// General: name, email, time zone, date and time format, news.
#[component]
pub fn GeneralSection() -> impl IntoView {
    let settings = Resource::new(|| (), |_| general_settings());
    let done = use_done();
    view! {
        <Title text="General · Manage Your Profile" />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                let done = done.clone();
                Suspend::new(async move {
                    match settings.await {
                        Ok(s) => view! {
                            <GeneralForms settings=s done />
                            // The time zone field's options, outside the island so the
                            // browser's code carries no copy: static, written once per
                            // process (not a view of 600 nodes).
                            <datalist id=TIME_ZONE_LIST_ID inner_html=crate::time_zones::options_html()></datalist>
                        }.into_any(),
                        Err(e) => view! { <p role="alert" class="notice error">{e.to_string()}</p> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

/// The two forms. A successful save loads the page again (the header shows the name and
/// email too), with `done` saying which form to confirm.
#[island]
fn GeneralForms(settings: GeneralSettings, done: Option<String>) -> impl IntoView {
    let save = direct_action::<SaveGeneral>();
    let change_email = direct_action::<ChangeEmail>();
    reload_when_done(save.value(), |_| "saved".into());
    let resend = direct_action::<ResendEmailConfirmation>();
    let cancel = direct_action::<CancelPendingEmail>();
    reload_when_done(change_email.value(), |_| "email".into());
    reload_when_done(resend.value(), |_| "resent".into());
    reload_when_done(cancel.value(), |_| "email_kept".into());
    let (saved_shown, email_shown, resent_shown, kept_shown) = (
        done.as_deref() == Some("saved"),
        done.as_deref() == Some("email"),
        done.as_deref() == Some("resent"),
        done.as_deref() == Some("email_kept"),
    );
    let prefs = settings.preferences.clone();
    let name = RwSignal::new(settings.name.clone());
    let tz = RwSignal::new(prefs.time_zone.clone());
    let date = RwSignal::new(prefs.date_format);
    let time = RwSignal::new(prefs.time_format);
    let new_email = RwSignal::new(String::new());
    let browser_tz = RwSignal::new(None::<String>);
    let preview = RwSignal::new(settings.now_formatted.clone());
    let saved_before = settings.preferences_saved;

    // Browser-only: the browser's zone, and the preview in the chosen settings.
    Effect::new(move |_| browser_tz.set(browser_time_zone()));
    Effect::new(move |_| {
        let (zone, d, t) = (tz.get(), date.get(), time.get());
        if let Some(result) = preview_now(&zone, d, t) {
            preview.set(result.unwrap_or_else(|()| "—".into()));
        }
    });
    Effect::new(move |_| {
        let _ = set_interval_with_handle(
            move || {
                let zone = tz.get_untracked();
                if let Some(Ok(now)) =
                    preview_now(&zone, date.get_untracked(), time.get_untracked())
                {
                    preview.set(now);
                }
            },
            std::time::Duration::from_secs(10),
        );
    });

    let name_error = move || validate_name("name", &name.get()).err();
    let tz_error =
        move || crate::time_zones::validate_time_zone_with(&tz.get(), known_time_zone).err();
    let email_error = move || {
        let e = new_email.get();
        (!e.is_empty()).then(|| validate_email(&e).err()).flatten()
    };
    let date_options = DateFormat::ALL
        .into_iter()
        .map(|f| view! { <option value=f.as_str() selected=f == prefs.date_format>{f.example()}</option> })
        .collect_view();
    let time_options = TimeFormat::ALL
        .into_iter()
        .map(|f| view! { <option value=f.as_str() selected=f == prefs.time_format>{f.label()}</option> })
        .collect_view();

    view! {
        <section class="card" aria-labelledby="general-heading">
            <h2 id="general-heading">"General"</h2>
            <ServerForm action=save class="form-grid" read=|f| SaveGeneral {
                name: f.text("name"),
                time_zone: f.text("time_zone"),
                date_format: f.text("date_format"),
                time_format: f.text("time_format"),
                news_opt_in: f.get("news_opt_in"),
            }>
                <label for="name">"Name"</label>
                <div>
                    <input id="name" name="name" type="text" autocomplete="name" required
                        maxlength=MAX_NAME_CHARS.to_string() value=settings.name.clone()
                        aria-describedby="name-error"
                        on:input=move |ev| name.set(event_target_value(&ev)) />
                    <p id="name-error" class="field-error" aria-live="polite">{name_error}</p>
                </div>

                <label for="time_zone">"Time zone"</label>
                <div>
                    <input id="time_zone" name="time_zone" type="text" list=TIME_ZONE_LIST_ID autocomplete="off"
                        required prop:value=move || tz.get() value=prefs.time_zone.clone()
                        aria-describedby="tz-error tz-hint"
                        on:input=move |ev| tz.set(event_target_value(&ev)) />
                    <p id="tz-error" class="field-error" aria-live="polite">{tz_error}</p>
                    <div id="tz-hint" class="hint">
                        {move || browser_tz.get().filter(|b| *b != tz.get()).map(|b| {
                            let zone = b.clone();
                            view! {
                                <span>
                                    {if saved_before { "Your browser's time zone is " } else { "Suggested: your browser's time zone, " }}
                                    <strong>{b}</strong>". "
                                </span>
                                <button type="button" class="link-button" on:click=move |_| tz.set(zone.clone())>
                                    "Use my browser's time zone"
                                </button>
                            }
                        })}
                    </div>
                </div>

                <label for="date_format">"Date format"</label>
                <select id="date_format" name="date_format"
                    on:change=move |ev| {
                        if let Some(f) = DateFormat::parse(&event_target_value(&ev)) { date.set(f) }
                    }>
                    {date_options}
                </select>

                <label for="time_format">"Time format"</label>
                <select id="time_format" name="time_format"
                    on:change=move |ev| {
                        if let Some(f) = TimeFormat::parse(&event_target_value(&ev)) { time.set(f) }
                    }>
                    {time_options}
                </select>

                <span class="label">"Preview"</span>
                <output id="preview" for="time_zone date_format time_format" aria-live="polite" data-testid="time-preview">
                    {move || preview.get()}
                </output>

                <span></span>
                <div class="checkbox">
                    <input id="news_opt_in" name="news_opt_in" type="checkbox" value="on" checked=prefs.news_opt_in />
                    <label for="news_opt_in">"Receive news & announcements"</label>
                </div>

                <span></span>
                <div>
                    <SubmitButton pending=save.pending() label="Save" busy="Saving…" />
                    {confirmation(saved_shown, save.value(), "Your changes were saved.")}
                    {failure(save.value())}
                </div>
            </ServerForm>
        </section>

        <section class="card" aria-labelledby="email-heading">
            <h2 id="email-heading">"Email"</h2>
            <p>"You sign in with "<strong data-testid="current-email">{settings.email.clone()}</strong>"."</p>
            {confirmation(kept_shown, cancel.value(), "The email change was cancelled.")}
            {settings.pending_email.clone().map(|p| view! {
                <div class="pending-email" data-testid="pending-email">
                    <p>"Waiting for confirmation: "<strong>{p.new_email}</strong>". "
                        {if p.expired {
                            "Its link expired: send a new one.".to_string()
                        } else {
                            format!("Open the link we sent to it before {}; until then you keep signing in with your current address.", p.expires)
                        }}
                    </p>
                    <div class="button-row">
                        <ServerForm action=resend read=|_| ResendEmailConfirmation {}>
                            <SubmitButton pending=resend.pending() label="Resend" busy="Sending…" class="secondary" />
                        </ServerForm>
                        <ServerForm action=cancel read=|_| CancelPendingEmail {}>
                            <SubmitButton pending=cancel.pending() label="Cancel" busy="Cancelling…" class="secondary" />
                        </ServerForm>
                    </div>
                    {confirmation(resent_shown, resend.value(), "A new confirmation link was sent.")}
                    {failure(resend.value())}
                    {failure(cancel.value())}
                </div>
            })}
            <ServerForm action=change_email class="form-grid" read=|f| ChangeEmail {
                new_email: f.text("new_email"),
                current_password: f.secret("current_password"),
            }>
                <label for="new_email">"New email"</label>
                <div>
                    <input id="new_email" name="new_email" type="email" autocomplete="email" required
                        maxlength=MAX_EMAIL_LEN.to_string() aria-describedby="new-email-error"
                        on:input=move |ev| new_email.set(event_target_value(&ev)) />
                    <p id="new-email-error" class="field-error" aria-live="polite">{email_error}</p>
                </div>
                <label for="email_current_password">"Current password"</label>
                <input id="email_current_password" name="current_password" type="password"
                    autocomplete="current-password" required />
                <span></span>
                <div>
                    <SubmitButton pending=change_email.pending() label="Change email" busy="Changing email…" class="secondary" />
                    {confirmation(email_shown, change_email.value(), "We sent a confirmation link to the new address. Your email address changes when you open it.")}
                    {failure(change_email.value())}
                </div>
            </ServerForm>
        </section>
    }
}
