mod home;
mod login;
mod not_found;
mod profile;

pub use home::HomePage;
pub use login::LoginPage;
pub use not_found::NotFound;
pub use profile::{
    AccountsSection, GeneralSection, ProfileLayout, ProfileOverview, SecuritySection,
    SessionsSection,
};
