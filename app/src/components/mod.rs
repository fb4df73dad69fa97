mod account_page;
mod actions;
mod browser;
mod form;
mod hydration;
mod layout;
mod menus;
mod mfa_banner;
mod notices;
mod pager;
mod passkey;
mod plain_form;
mod step_up;
mod submit_button;
mod update_toast;

pub use account_page::{use_account_id, AccountPageError};
pub use actions::{direct_action, reload_when_done, DirectAction};
pub use browser::{
    address_with, browser_time_zone, close_modal, copy_to_clipboard, focus_on_load,
    follow_server_redirects, go_to, known_time_zone, preview_now, reload_done, show_modal,
    totp_countdown, DONE_PARAM, TIME_ZONE_LIST_ID,
};
pub use form::{focus_submit, submit_again, Fields, ServerForm};
pub use hydration::HydrationMark;
pub use layout::{use_done, use_next, AuthCard, PortalLayout, WithViewer};
pub use menus::{AccountSwitcher, SwitchToButton, UserMenu};
pub use mfa_banner::MfaDueBanner;
pub use notices::{confirmation, failure, outcome};
pub use pager::Pager;
pub use passkey::{
    ceremony_action as passkey_action, supported as passkeys_supported, Finish as PasskeyFinish,
};
pub use plain_form::{use_form_error, FormOutcome};
pub use step_up::{step_up_needed, StepUpForm};
pub use submit_button::SubmitButton;
pub use update_toast::UpdateToast;
