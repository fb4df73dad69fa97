mod browser;
mod layout;
mod menus;

pub use browser::{browser_time_zone, copy_to_clipboard, preview_now, totp_countdown};
pub use layout::{use_switch_account, use_viewer, PortalLayout, ViewerResource, WithViewer};
pub use menus::{AccountSwitcher, UserMenu};
