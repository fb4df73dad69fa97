mod account_page;
mod browser;
mod layout;
mod menus;
mod mfa_banner;
mod pager;
mod submit_button;
mod update_toast;

pub use account_page::{use_account_id, AccountPageError};
pub use browser::{
    browser_time_zone, close_modal, copy_to_clipboard, focus_on_load, preview_now, show_modal,
    totp_countdown,
};
pub use layout::{use_switch_account, use_viewer, PortalLayout, ViewerResource, WithViewer};
pub use menus::{AccountSwitcher, UserMenu};
pub use mfa_banner::MfaDueBanner;
pub use pager::Pager;
pub use submit_button::SubmitButton;
pub use update_toast::UpdateToast;
