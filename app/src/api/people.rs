//! An account's people, for its administrators: the members list, changing groups,
//! removing members, the groups, and the audit log.

use crate::{
    error::AppError,
    models::{AccountId, AuditPage, GroupInfo, MembersPage, UserId},
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
pub use server_side::*;

#[cfg(feature = "ssr")]
mod server_side {
    use crate::{
        models::{AccountId, AuditPage, GroupInfo, MemberSort, MembersPage, UserId},
        ssr::{Outcome, UserCtx},
    };

    /// An audit log filter as typed (dates `YYYY-MM-DD` in the viewer's zone).
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct AuditFilter {
        pub action: String,
        pub person: String,
        pub from: String,
        pub until: String,
    }

    /// The people of one account (implemented in the server's `people_admin`). Every
    /// method first checks that the person administers `account`.
    #[async_trait::async_trait]
    pub trait PeopleAdministration: Send + Sync + 'static {
        async fn account_members(
            &self,
            user: &UserCtx,
            account: AccountId,
            page: i64,
            search: &str,
            sort: MemberSort,
        ) -> Outcome<MembersPage>;
        /// Moves members to one of the account's groups; how many moved.
        async fn change_member_group(
            &self,
            user: &UserCtx,
            account: AccountId,
            people: Vec<UserId>,
            group_id: i64,
        ) -> Outcome<usize>;
        /// Removes members from the account; how many.
        async fn remove_members(
            &self,
            user: &UserCtx,
            account: AccountId,
            people: Vec<UserId>,
            confirm_self: bool,
        ) -> Outcome<usize>;
        async fn account_groups(
            &self,
            user: &UserCtx,
            account: AccountId,
        ) -> Outcome<(String, Vec<GroupInfo>)>;
        async fn create_group(
            &self,
            user: &UserCtx,
            account: AccountId,
            name: &str,
            is_admin: bool,
        ) -> Outcome<()>;
        async fn rename_group(
            &self,
            user: &UserCtx,
            account: AccountId,
            group_id: i64,
            name: &str,
        ) -> Outcome<()>;
        async fn delete_group(
            &self,
            user: &UserCtx,
            account: AccountId,
            group_id: i64,
        ) -> Outcome<()>;
        async fn set_group_admin(
            &self,
            user: &UserCtx,
            account: AccountId,
            group_id: i64,
            is_admin: bool,
        ) -> Outcome<()>;
        /// "Send invitations": how many were mailed, and how many people were added at
        /// once (their account's directory vouches for them).
        async fn invite_people(
            &self,
            user: &UserCtx,
            account: AccountId,
            emails: &str,
            group_id: i64,
        ) -> Outcome<(usize, usize)>;
        async fn resend_invitation(
            &self,
            user: &UserCtx,
            account: AccountId,
            id: i64,
        ) -> Outcome<()>;
        async fn revoke_invitation(
            &self,
            user: &UserCtx,
            account: AccountId,
            id: i64,
        ) -> Outcome<()>;
        /// "Reset MFA" for a person the account manages (after a fresh step-up).
        async fn helpdesk_reset_mfa(
            &self,
            user: &UserCtx,
            account: AccountId,
            person: UserId,
        ) -> Outcome<()>;
        /// "Sign out everywhere" for a person the account manages; how many sessions ended.
        async fn helpdesk_sign_out(
            &self,
            user: &UserCtx,
            account: AccountId,
            person: UserId,
        ) -> Outcome<u64>;
        async fn account_audit(
            &self,
            user: &UserCtx,
            account: AccountId,
            filter: AuditFilter,
            page: i64,
        ) -> Outcome<AuditPage>;
        /// Every row the filter matches, as CSV.
        async fn account_audit_csv(
            &self,
            user: &UserCtx,
            account: AccountId,
            filter: AuditFilter,
        ) -> Outcome<String>;
    }
}

#[cfg(feature = "ssr")]
type Feature = std::sync::Arc<dyn PeopleAdministration>;

/// The most members one change may select (a page lists 50).
pub const MAX_SELECTED: usize = 100;

/// A selection of members is at most [`MAX_SELECTED`] people.
pub fn check_selection(people: &[UserId]) -> Result<(), AppError> {
    if people.len() > MAX_SELECTED {
        return Err(AppError::Invalid(format!(
            "Select at most {MAX_SELECTED} members at once."
        )));
    }
    Ok(())
}

/// Ids of people as a form sends them: "3,7,12".
pub fn parse_people(ids: &str) -> Result<Vec<UserId>, AppError> {
    let people = ids
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i64>()
                .map(UserId)
                .map_err(|_| AppError::Invalid("Select members from the list.".into()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    check_selection(&people)?;
    Ok(people)
}

/// One page of an account's members (administrators only).
#[server(endpoint = "account_members")]
pub async fn account_members(
    account_id: AccountId,
    page: Option<i64>,
    search: Option<String>,
    sort: Option<String>,
) -> Result<MembersPage, AppError> {
    crate::ssr::run_user(|f: Feature, user| async move {
        let sort = crate::models::MemberSort::parse(sort.as_deref().unwrap_or(""));
        f.account_members(
            &user,
            account_id,
            page.unwrap_or(1),
            search.as_deref().unwrap_or(""),
            sort,
        )
        .await
    })
    .await
}

/// "Change group" for one member or a selection (`people`: ids separated by commas).
#[server(endpoint = "change_member_group")]
pub async fn change_member_group(
    account_id: AccountId,
    people: String,
    group_id: String,
) -> Result<usize, AppError> {
    crate::ssr::run_user(|f: Feature, user| async move {
        let people = parse_people(&people)?;
        let group_id = group_id
            .trim()
            .parse::<i64>()
            .map_err(|_| AppError::Invalid("Choose one of this account's groups.".into()))?;
        f.change_member_group(&user, account_id, people, group_id)
            .await
    })
    .await
}

/// "Remove from account" for one member or a selection. `confirm_self` is set when an
/// administrator confirmed removing themselves.
#[server(endpoint = "remove_members")]
pub async fn remove_members(
    account_id: AccountId,
    people: String,
    confirm_self: Option<String>,
) -> Result<usize, AppError> {
    crate::ssr::run_user(|f: Feature, user| async move {
        let people = parse_people(&people)?;
        f.remove_members(&user, account_id, people, confirm_self.is_some())
            .await
    })
    .await
}

/// The account's name and groups (administrators only).
#[server(endpoint = "account_groups")]
pub async fn account_groups(account_id: AccountId) -> Result<(String, Vec<GroupInfo>), AppError> {
    crate::ssr::run_user(
        |f: Feature, user| async move { f.account_groups(&user, account_id).await },
    )
    .await
}

/// "Create group". `is_admin` is a checkbox.
#[server(endpoint = "create_group")]
pub async fn create_group(
    account_id: AccountId,
    name: String,
    is_admin: Option<String>,
) -> Result<(), AppError> {
    crate::ssr::run_user(|f: Feature, user| async move {
        f.create_group(&user, account_id, &name, is_admin.is_some())
            .await
    })
    .await
}

#[server(endpoint = "rename_group")]
pub async fn rename_group(
    account_id: AccountId,
    group_id: i64,
    name: String,
) -> Result<(), AppError> {
    crate::ssr::run_user(|f: Feature, user| async move {
        f.rename_group(&user, account_id, group_id, &name).await
    })
    .await
}

#[server(endpoint = "delete_group")]
pub async fn delete_group(account_id: AccountId, group_id: i64) -> Result<(), AppError> {
    crate::ssr::run_user(|f: Feature, user| async move {
        f.delete_group(&user, account_id, group_id).await
    })
    .await
}

/// Sets the administrator flag of a group (`is_admin`: "true" or "false").
#[server(endpoint = "set_group_admin")]
pub async fn set_group_admin(
    account_id: AccountId,
    group_id: i64,
    is_admin: bool,
) -> Result<(), AppError> {
    crate::ssr::run_user(|f: Feature, user| async move {
        f.set_group_admin(&user, account_id, group_id, is_admin)
            .await
    })
    .await
}

/// One page of the account's audit log, filtered (administrators only).
#[server(endpoint = "account_audit")]
pub async fn account_audit(
    account_id: AccountId,
    page: Option<i64>,
    action: Option<String>,
    person: Option<String>,
    from: Option<String>,
    until: Option<String>,
) -> Result<AuditPage, AppError> {
    crate::ssr::run_user(|f: Feature, user| async move {
        let filter = AuditFilter {
            action: action.unwrap_or_default(),
            person: person.unwrap_or_default(),
            from: from.unwrap_or_default(),
            until: until.unwrap_or_default(),
        };
        f.account_audit(&user, account_id, filter, page.unwrap_or(1))
            .await
    })
    .await
}

/// "Send invitations": one or more addresses (separated by commas, spaces or lines) to
/// one group. Returns (invited, added at once).
#[server(endpoint = "invite_people")]
pub async fn invite_people(
    account_id: AccountId,
    emails: String,
    group_id: String,
) -> Result<(usize, usize), AppError> {
    crate::ssr::run_user(|f: Feature, user| async move {
        let group_id = group_id
            .trim()
            .parse::<i64>()
            .map_err(|_| AppError::Invalid("Choose one of this account's groups.".into()))?;
        f.invite_people(&user, account_id, &emails, group_id).await
    })
    .await
}

/// "Resend": the invitation again, with a fresh link.
#[server(endpoint = "resend_invitation")]
pub async fn resend_invitation(account_id: AccountId, invitation_id: i64) -> Result<(), AppError> {
    crate::ssr::run_user(|f: Feature, user| async move {
        f.resend_invitation(&user, account_id, invitation_id).await
    })
    .await
}

/// "Revoke": the invitation's link stops working.
#[server(endpoint = "revoke_invitation")]
pub async fn revoke_invitation(account_id: AccountId, invitation_id: i64) -> Result<(), AppError> {
    crate::ssr::run_user(|f: Feature, user| async move {
        f.revoke_invitation(&user, account_id, invitation_id).await
    })
    .await
}

/// "Reset MFA" for a person the account manages.
#[server(endpoint = "helpdesk_reset_mfa")]
pub async fn helpdesk_reset_mfa(account_id: AccountId, person: UserId) -> Result<(), AppError> {
    crate::ssr::run_user(|f: Feature, user| async move {
        f.helpdesk_reset_mfa(&user, account_id, person).await
    })
    .await
}

/// "Sign out everywhere" for a person the account manages.
#[server(endpoint = "helpdesk_sign_out")]
pub async fn helpdesk_sign_out(account_id: AccountId, person: UserId) -> Result<u64, AppError> {
    crate::ssr::run_user(|f: Feature, user| async move {
        f.helpdesk_sign_out(&user, account_id, person).await
    })
    .await
}
