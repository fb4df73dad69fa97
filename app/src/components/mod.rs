mod browser;
mod layout;
mod menus;

pub use browser::{browser_time_zone, preview_now};
pub use layout::{use_switch_account, use_viewer, PortalLayout, ViewerResource, WithViewer};
pub use menus::{AccountSwitcher, UserMenu};
