mod account_audit;
mod account_groups;
mod account_members;
mod account_mfa;
mod account_sso;
mod home;
mod login;
mod login_code;
mod not_found;
mod profile;
mod recovery;
mod step_up;

pub use account_audit::AccountAuditPage;
pub use account_groups::AccountGroupsPage;
pub use account_members::AccountMembersPage;
pub use account_mfa::AccountMfaPage;
pub use account_sso::AccountSsoPage;
pub use home::HomePage;
pub use login::LoginPage;
pub use login_code::CodePage;
pub use not_found::NotFound;
pub use profile::{
    AccountsSection, GeneralSection, ProfileLayout, ProfileOverview, SecuritySection,
    SessionsSection,
};
pub use recovery::{
    EmailCancelPage, EmailConfirmPage, ForgotPasswordPage, InvitationPage, ResetPasswordPage,
};
pub use step_up::StepUpPage;
