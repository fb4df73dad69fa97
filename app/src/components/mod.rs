mod layout;
mod menus;

pub use layout::{use_viewer, PortalLayout, ViewerResource, WithViewer};
pub use menus::{AccountSwitcher, UserMenu};
