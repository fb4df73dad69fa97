//! An account's administrators managing its people: the members list, changing a
//! member's group, removing members from the account, the account's groups, and the
//! audit log of every administrative change. Everything goes through the
//! [`AccountAdmin`] handle (a validated administrator of this one account), every change
//! is one transaction with its audit row, and the guards ("the last administrator")
//! hold under concurrent administrators: the account is locked first.

use crate::{
    account_admin::AccountAdmin,
    db::{
        audit::{self, Action, Actor, Entry},
        directory::{self, DirectoryError},
        members::{self, Sort},
    },
    display::describe_device,
    notices::Notice,
};
use app::{
    api::{AuditFilter, PeopleAdministration},
    models::{
        page_count, AccountId, AuditPage, AuditRow, GroupInfo, MemberRow, MemberSort, MembersPage,
        UserId, ADMIN_ROWS_PER_PAGE,
    },
    ssr::{Outcome, UserCtx},
    validation::validate_name,
    AppError,
};
use sqlx::AnyConnection;

/// "Name (email)": how a person appears in the log and in messages.
pub fn person_label(name: &str, email: &str) -> String {
    format!("{name} ({email})")
}

impl Action {
    /// What an administrator reads in the audit log.
    pub fn label(self) -> &'static str {
        match self {
            Self::PolicyChanged => "MFA policy changed",
            Self::SsoChanged => "Single sign-on settings changed",
            Self::DomainProven => "Domain proven",
            Self::InvitationSent => "Invitation sent",
            Self::InvitationAccepted => "Invitation accepted",
            Self::InvitationRevoked => "Invitation revoked",
            Self::MemberAdded => "Member added",
            Self::MemberRemoved => "Member removed",
            Self::MemberMoved => "Member moved to another group",
            Self::GroupCreated => "Group created",
            Self::GroupRenamed => "Group renamed",
            Self::GroupDeleted => "Group deleted",
            Self::GroupAdminChanged => "Group administrator flag changed",
            Self::MfaReset => "MFA reset",
            Self::SignedOut => "Signed out everywhere",
        }
    }
}

/// Changes to one account's people and groups by someone allowed to make them: an
/// administrator (through [`AccountAdmin::people`]) or the operator's CLI. Each change is
/// one transaction with its audit row; the account is locked first, so the guards hold
/// when several people act at once.
pub struct AccountPeople<'a> {
    state: &'a crate::state::AppState,
    account_id: i64,
    actor: Actor,
    /// Where an administrator acted from (`None`: the CLI).
    req: Option<&'a app::ssr::RequestInfo>,
    /// `None` when the actor's "Confirm it's you" is recent (or the actor is the
    /// operator); otherwise the answer for a change that needs one. The changes check it
    /// on their transaction, after the account is locked, against what they find there.
    step_up: Option<AppError>,
}

impl<'a> AccountPeople<'a> {
    /// The operator's handle, for the CLI: trusted at the command line (no step-up),
    /// recorded as "operator (CLI)". Built only by `cli`; a browser request gets its
    /// handle from [`AccountAdmin::people`].
    pub fn operator(state: &'a crate::state::AppState, account_id: i64) -> Self {
        Self {
            state,
            account_id,
            actor: Actor::Operator,
            req: None,
            step_up: None,
        }
    }
}

impl AccountAdmin<'_> {
    /// The handle for changing this account's people, acting as this administrator.
    pub async fn people(&self) -> Outcome<AccountPeople<'_>> {
        let step_up = match self.require_step_up().await {
            Ok(()) => None,
            Err(app::ssr::Fail::Refused(e @ AppError::StepUpRequired { .. })) => Some(e),
            Err(e) => return Err(e),
        };
        Ok(AccountPeople {
            state: self.state,
            account_id: self.account_id,
            actor: self.actor().await?,
            req: Some(&self.user.req),
            step_up,
        })
    }

    /// The administrator as the audit log records them.
    pub async fn actor(&self) -> Outcome<Actor> {
        let (name, email) =
            directory::user_identity(&mut *self.state.db.acquire().await?, self.user_id)
                .await?
                .ok_or(AppError::Unauthenticated)?;
        Ok(Actor::Person {
            user_id: self.user_id,
            label: person_label(&name, &email),
            ip: self.user.req.ip.clone(),
            user_agent: self.user.req.user_agent.clone(),
        })
    }

    /// One page of the members list.
    pub async fn members_page(
        &self,
        page: i64,
        search: &str,
        sort: MemberSort,
    ) -> Outcome<MembersPage> {
        let db = &self.state.db;
        let display = self.display().await?;
        let search: String = search.trim().chars().take(200).collect();
        let db_sort = match sort {
            MemberSort::Name => Sort::Name,
            MemberSort::LastSignIn => Sort::LastSignIn,
        };
        let list = |page: i64| {
            let search = search.clone();
            async move {
                let mut conn = db.acquire().await?;
                members::list(
                    &mut conn,
                    self.account_id,
                    &search,
                    db_sort,
                    ADMIN_ROWS_PER_PAGE,
                    (page - 1) * ADMIN_ROWS_PER_PAGE,
                )
                .await
            }
        };
        let (page, (rows, total)) = within_pages(page, list).await?;
        let groups = members::groups(&mut *db.acquire().await?, self.account_id).await?;
        let proven = self.proven_domains().await?;
        let now = self.state.now();
        let invitations =
            crate::db::invitations::pending(&mut *db.acquire().await?, self.account_id)
                .await?
                .into_iter()
                .map(|i| app::models::InvitationRow {
                    id: i.id,
                    email: i.email,
                    group: i.group_name,
                    sent: display.format(i.created_at),
                    expired: i.expires_at <= now,
                })
                .collect();
        Ok(MembersPage {
            invitations,
            account_id: AccountId(self.account_id),
            account_name: self.account_name().await?,
            members: rows
                .into_iter()
                .map(|m| MemberRow {
                    managed: is_managed(&proven, &m.email),
                    user_id: UserId(m.user_id),
                    is_you: m.user_id == self.user_id,
                    name: m.name,
                    email: m.email,
                    group: m.group_name,
                    is_admin: m.is_admin,
                    uses_mfa: m.uses_mfa,
                    last_sign_in: m.last_sign_in.map(|t| display.format(t)),
                    single_sign_on: m.sso_only,
                })
                .collect(),
            total,
            page,
            page_count: page_count(total, ADMIN_ROWS_PER_PAGE),
            search,
            sort,
            groups: groups.into_iter().map(group_info).collect(),
        })
    }

    /// The account's groups.
    pub async fn groups(&self) -> Outcome<Vec<GroupInfo>> {
        let groups = members::groups(&mut *self.state.db.acquire().await?, self.account_id).await?;
        Ok(groups.into_iter().map(group_info).collect())
    }

    async fn account_name(&self) -> Outcome<String> {
        account_name(self.state, self.account_id).await
    }

    /// Moving anyone into or out of an administrator group changes who administers the
    /// account: that needs a recent "Confirm it's you" (checked on the change's
    /// transaction).
    pub async fn change_group(&self, people: &[UserId], group_id: i64) -> Outcome<usize> {
        self.people().await?.change_group(people, group_id).await
    }

    /// Removing another administrator needs a recent "Confirm it's you"; removing
    /// oneself needs `confirm_self`.
    pub async fn remove_members(&self, people: &[UserId], confirm_self: bool) -> Outcome<usize> {
        if people.iter().any(|p| p.get() == self.user_id) && !confirm_self {
            return Err(AppError::Invalid(
                "You are removing yourself: you will lose access to this account. Confirm to go ahead.".into(),
            )
            .into());
        }
        self.people().await?.remove_members(people).await
    }

    /// An administrator group needs a recent "Confirm it's you".
    pub async fn create_group(&self, name: &str, is_admin: bool) -> Outcome<()> {
        self.people().await?.create_group(name, is_admin).await
    }

    pub async fn rename_group(&self, group_id: i64, name: &str) -> Outcome<()> {
        self.people().await?.rename_group(group_id, name).await
    }

    pub async fn delete_group(&self, group_id: i64) -> Outcome<()> {
        self.people().await?.delete_group(group_id).await
    }

    /// The email domains this account proved (for single sign-on): its people.
    async fn proven_domains(&self) -> Outcome<Vec<String>> {
        Ok(
            crate::db::sso::load(&mut *self.state.db.acquire().await?, self.account_id)
                .await?
                .map(|c| {
                    c.domains
                        .into_iter()
                        .filter(|d| d.verified)
                        .map(|d| d.domain)
                        .collect()
                })
                .unwrap_or_default(),
        )
    }

    /// A member the account manages: their email domain is one the account proved. For
    /// anyone else the help-desk actions do not exist: such a person may belong to other
    /// companies' accounts, and this one must not weaken their security there.
    async fn managed_member(&self, person: UserId) -> Outcome<members::Member> {
        // One's own MFA and sessions are changed in one's own Security and Sessions
        // sections, with their checks (an account that requires MFA, say): never here.
        if person.get() == self.user_id {
            return Err(AppError::Invalid(
                "Help-desk actions are for other people: change your own multi-factor authentication and sessions in your profile.".into(),
            )
            .into());
        }
        let m = members::get(
            &mut *self.state.db.acquire().await?,
            self.account_id,
            person.get(),
        )
        .await?
        .ok_or_else(|| AppError::Invalid("That person is not a member of this account.".into()))?;
        if !is_managed(&self.proven_domains().await?, &m.email) {
            return Err(AppError::Invalid(format!(
                "{} is not managed by this account: help-desk actions are only for people whose email domain this account has proven.",
                m.email
            ))
            .into());
        }
        Ok(m)
    }

    /// Help-desk actions need the administrator's own password and code within the last
    /// few minutes: an administrator without MFA cannot use them.
    async fn require_helpdesk_step_up(&self) -> Outcome<()> {
        if !crate::db::mfa::is_enabled(&mut *self.state.db.acquire().await?, self.user_id).await? {
            return Err(AppError::Invalid(
                "Help-desk actions need your password and authentication code: turn on multi-factor authentication in your Security section first.".into(),
            )
            .into());
        }
        // A code must have been checked in this session (the step-up asks for it).
        if !self.user.session.mfa_verified {
            return self.state.ask_step_up(self.user_id, false).await;
        }
        self.require_step_up().await
    }

    /// "Reset MFA" for a managed person: MFA off (they set it up again at their next
    /// sign-in, as the account's policy asks), every session ended, a notice.
    pub async fn helpdesk_reset_mfa(&self, person: UserId) -> Outcome<()> {
        self.require_helpdesk_step_up().await?;
        let m = self.managed_member(person).await?;
        let account = self.account_name().await?;
        let people = self.people().await?;
        let now = self.state.now();
        let mut tx = self.state.db.begin().await?;
        if !crate::db::mfa::disable(&mut tx, m.user_id).await? {
            return Err(AppError::Invalid(format!(
                "{} has no multi-factor authentication to reset.",
                m.name
            ))
            .into());
        }
        crate::db::sessions::end_all(&mut tx, m.user_id, crate::sessions::EndReason::Revoked, now)
            .await?;
        crate::db::email_changes::cancel(&mut tx, m.user_id).await?;
        let detail = format!("by an administrator of {account}");
        crate::db::events::record(
            &mut tx,
            Some(m.user_id),
            crate::db::events::EventKind::MfaReset,
            now,
            self.user.req.ip.as_deref(),
            self.user.req.user_agent.as_deref(),
            Some(&detail),
        )
        .await?;
        let subject = person_label(&m.name, &m.email);
        people
            .audit(
                &mut tx,
                Action::MfaReset,
                &subject,
                Some(m.user_id),
                "sessions ended",
            )
            .await?;
        let notice = Notice::HelpdeskMfaReset { account };
        self.state
            .announce(&mut tx, m.user_id, Some(&self.user.req), notice)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// "Sign out everywhere" for a managed person: every session ended, a notice.
    pub async fn helpdesk_sign_out(&self, person: UserId) -> Outcome<u64> {
        self.require_helpdesk_step_up().await?;
        let m = self.managed_member(person).await?;
        let account = self.account_name().await?;
        let people = self.people().await?;
        let now = self.state.now();
        let mut tx = self.state.db.begin().await?;
        let ended = crate::db::sessions::end_all(
            &mut tx,
            m.user_id,
            crate::sessions::EndReason::Revoked,
            now,
        )
        .await?;
        let subject = person_label(&m.name, &m.email);
        let detail = format!("{ended} session(s) ended");
        people
            .audit(
                &mut tx,
                Action::SignedOut,
                &subject,
                Some(m.user_id),
                &detail,
            )
            .await?;
        let notice = Notice::HelpdeskSignedOut { account };
        self.state
            .announce(&mut tx, m.user_id, Some(&self.user.req), notice)
            .await?;
        tx.commit().await?;
        Ok(ended)
    }

    /// Inviting into an administrator group needs a recent "Confirm it's you".
    pub async fn invite(&self, emails: &str, group_id: i64) -> Outcome<Invited> {
        self.people().await?.invite(emails, group_id).await
    }

    /// Needs a recent "Confirm it's you".
    pub async fn set_group_admin(&self, group_id: i64, is_admin: bool) -> Outcome<()> {
        self.people()
            .await?
            .set_group_admin(group_id, is_admin)
            .await
    }

    /// One page of the audit log, filtered.
    pub async fn audit_page(&self, query: &AuditFilter, page: i64) -> Outcome<AuditPage> {
        let filter = self.audit_filter(query).await?;
        let display = self.display().await?;
        let list = |page: i64| {
            let filter = filter.clone();
            async move {
                let mut conn = self.state.db.acquire().await?;
                audit::page(
                    &mut conn,
                    self.account_id,
                    &filter,
                    ADMIN_ROWS_PER_PAGE,
                    (page - 1) * ADMIN_ROWS_PER_PAGE,
                )
                .await
            }
        };
        let (page, (rows, total)) = within_pages(page, list).await?;
        Ok(AuditPage {
            account_id: AccountId(self.account_id),
            account_name: self.account_name().await?,
            rows: rows.into_iter().map(|r| audit_row(r, &display)).collect(),
            total,
            page,
            page_count: page_count(total, ADMIN_ROWS_PER_PAGE),
            actions: Action::ALL
                .into_iter()
                .map(|a| (a.as_str().to_string(), a.label().to_string()))
                .collect(),
            retention_days: i64::try_from(self.state.config.audit_retention.as_secs() / 86_400)
                .unwrap_or(i64::MAX),
        })
    }

    /// Every row the filter matches, as CSV (newest first).
    pub async fn audit_csv(&self, query: &AuditFilter) -> Outcome<String> {
        let filter = self.audit_filter(query).await?;
        let display = self.display().await?;
        let (rows, _) = audit::page(
            &mut *self.state.db.acquire().await?,
            self.account_id,
            &filter,
            100_000,
            0,
        )
        .await?;
        let mut out = String::from("When,Who,Action,Subject,Detail,IP,Device\r\n");
        for r in rows {
            let r = audit_row(r, &display);
            let fields = [
                r.at,
                r.actor,
                r.action,
                r.subject,
                r.detail,
                r.ip.unwrap_or_default(),
                r.device.unwrap_or_default(),
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out.push_str(&line.join(","));
            out.push_str("\r\n");
        }
        Ok(out)
    }

    async fn audit_filter(&self, q: &AuditFilter) -> Outcome<audit::Filter> {
        let action = match q.action.trim() {
            "" => None,
            a => Some(
                Action::parse(a)
                    .ok_or_else(|| AppError::Invalid("Choose one of the listed actions.".into()))?,
            ),
        };
        let display = self.display().await?;
        let day = |s: &str, what: &str| -> Outcome<Option<i64>> {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            display.start_of_day(s).map(Some).ok_or_else(|| {
                AppError::Invalid(format!("The {what} date must look like 2026-12-01.")).into()
            })
        };
        let from = day(&q.from, "from")?;
        // "Until" includes that whole day.
        let until = day(&q.until, "until")?.map(|t| t + app::models::DAY_MS);
        if let (Some(f), Some(u)) = (from, until) {
            if u <= f {
                return Err(AppError::Invalid(
                    "The until date must not be before the from date.".into(),
                )
                .into());
            }
        }
        Ok(audit::Filter {
            action,
            person: Some(q.person.trim().to_string()).filter(|p| !p.is_empty()),
            from,
            until,
        })
    }
}

/// The account's name.
async fn account_name(state: &crate::state::AppState, account_id: i64) -> Outcome<String> {
    Ok(
        crate::db::policy::load(&mut *state.db.acquire().await?, account_id)
            .await?
            .ok_or(AppError::Forbidden)?
            .account_name,
    )
}

impl AccountPeople<'_> {
    /// Records a change of this account, on the use case's transaction.
    pub(crate) async fn audit(
        &self,
        tx: &mut AnyConnection,
        action: Action,
        subject: &str,
        subject_user_id: Option<i64>,
        detail: &str,
    ) -> Outcome<()> {
        let entry = Entry {
            account_id: self.account_id,
            action,
            subject,
            subject_user_id,
            detail,
        };
        audit::record(tx, &self.actor, entry, self.state.now()).await?;
        Ok(())
    }

    /// The guard of every change to who administers the account, checked on the
    /// transaction after the change (the account is locked, so it holds at once).
    async fn keep_an_administrator(&self, tx: &mut AnyConnection, name: &str) -> Outcome<()> {
        if members::admin_count(tx, self.account_id).await? == 0 {
            return Err(AppError::Invalid(format!(
                "{name} would have no administrator left. Keep at least one member in an administrator group."
            ))
            .into());
        }
        Ok(())
    }

    /// Begins a change to the account's people: the transaction, with the account
    /// locked, and the account's name.
    async fn begin_change(&self) -> Outcome<(sqlx::Transaction<'static, sqlx::Any>, String)> {
        let name = account_name(self.state, self.account_id).await?;
        let mut tx = self.state.db.begin().await?;
        if !members::lock_account(&mut tx, self.state.db.backend(), self.account_id).await? {
            return Err(AppError::Forbidden.into());
        }
        Ok((tx, name))
    }

    /// A change that alters who administers the account, or reaches an administrator:
    /// refused unless the actor confirmed it's them recently.
    fn confirmed(&self) -> Outcome<()> {
        match &self.step_up {
            None => Ok(()),
            Some(e) => Err(e.clone().into()),
        }
    }

    fn actor_id(&self) -> Option<i64> {
        match &self.actor {
            Actor::Person { user_id, .. } => Some(*user_id),
            Actor::Operator => None,
        }
    }

    /// Moves members to one of the account's groups; how many moved.
    pub async fn change_group(&self, people: &[UserId], group_id: i64) -> Outcome<usize> {
        if people.is_empty() {
            return Err(AppError::Invalid("Select at least one member.".into()).into());
        }
        let (mut tx, account) = self.begin_change().await?;
        let group = members::group(&mut tx, self.account_id, group_id)
            .await?
            .ok_or_else(|| AppError::Invalid("Choose one of this account's groups.".into()))?;
        let mut moved = 0;
        for person in people {
            let m = members::get(&mut tx, self.account_id, person.get())
                .await?
                .ok_or_else(|| {
                    AppError::Invalid(
                        "One of the selected people is not a member of this account.".into(),
                    )
                })?;
            if m.group_id == group.id {
                continue;
            }
            if m.is_admin != group.is_admin {
                self.confirmed()?;
            }
            members::move_to(&mut tx, self.account_id, m.user_id, group.id).await?;
            let detail = format!("from {} to {}", m.group_name, group.name);
            let subject = person_label(&m.name, &m.email);
            self.audit(
                &mut tx,
                Action::MemberMoved,
                &subject,
                Some(m.user_id),
                &detail,
            )
            .await?;
            moved += 1;
        }
        self.keep_an_administrator(&mut tx, &account).await?;
        tx.commit().await?;
        Ok(moved)
    }

    /// Removes members from the account (never deleting the person): their access ends
    /// at their next request, and each is told by mail.
    pub async fn remove_members(&self, people: &[UserId]) -> Outcome<usize> {
        if people.is_empty() {
            return Err(AppError::Invalid("Select at least one member.".into()).into());
        }
        let (mut tx, account) = self.begin_change().await?;
        let mut removed = 0;
        for person in people {
            let m = members::get(&mut tx, self.account_id, person.get())
                .await?
                .ok_or_else(|| {
                    AppError::Invalid(
                        "One of the selected people is not a member of this account.".into(),
                    )
                })?;
            if m.is_admin && Some(m.user_id) != self.actor_id() {
                self.confirmed()?;
            }
            members::remove(&mut tx, self.account_id, m.user_id).await?;
            let subject = person_label(&m.name, &m.email);
            self.audit(
                &mut tx,
                Action::MemberRemoved,
                &subject,
                Some(m.user_id),
                &format!("was in {}", m.group_name),
            )
            .await?;
            let notice = Notice::RemovedFromAccount {
                account: account.clone(),
            };
            self.state
                .announce(&mut tx, m.user_id, self.req, notice)
                .await?;
            removed += 1;
        }
        self.keep_an_administrator(&mut tx, &account).await?;
        tx.commit().await?;
        Ok(removed)
    }

    /// Creates a group.
    pub async fn create_group(&self, name: &str, is_admin: bool) -> Outcome<()> {
        let name = validate_name("group name", name).map_err(AppError::Invalid)?;
        if is_admin {
            self.confirmed()?;
        }
        let (mut tx, _) = self.begin_change().await?;
        match directory::create_group(&mut tx, self.account_id, &name, is_admin, self.state.now())
            .await
        {
            Ok(_) => {}
            Err(DirectoryError::DuplicateGroup { .. }) => return Err(duplicate_group(&name)),
            Err(e) => return Err(e.into()),
        }
        let detail = if is_admin { "administrators" } else { "" };
        self.audit(&mut tx, Action::GroupCreated, &name, None, detail)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn rename_group(&self, group_id: i64, name: &str) -> Outcome<()> {
        let name = validate_name("group name", name).map_err(AppError::Invalid)?;
        let (mut tx, _) = self.begin_change().await?;
        let group = self.find_group(&mut tx, group_id).await?;
        if group.name == name {
            return Ok(());
        }
        match members::rename_group(&mut tx, self.account_id, group_id, &name).await {
            Ok(_) => {}
            Err(e) if crate::db::is_unique_violation(&e) => return Err(duplicate_group(&name)),
            Err(e) => return Err(e.into()),
        }
        let detail = format!("from {}", group.name);
        self.audit(&mut tx, Action::GroupRenamed, &name, None, &detail)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes an empty group.
    pub async fn delete_group(&self, group_id: i64) -> Outcome<()> {
        let (mut tx, _) = self.begin_change().await?;
        let group = self.find_group(&mut tx, group_id).await?;
        if group.members > 0 {
            return Err(AppError::Invalid(format!(
                "{} has {} member{}: move them to another group first.",
                group.name,
                group.members,
                if group.members == 1 { "" } else { "s" }
            ))
            .into());
        }
        if !members::delete_group(&mut tx, self.account_id, group_id).await? {
            return Err(AppError::Invalid(format!(
                "{} has members now: move them to another group first.",
                group.name
            ))
            .into());
        }
        self.audit(&mut tx, Action::GroupDeleted, &group.name, None, "")
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets whether a group's members administer the account; the account keeps at
    /// least one administrator.
    pub async fn set_group_admin(&self, group_id: i64, is_admin: bool) -> Outcome<()> {
        let (mut tx, account) = self.begin_change().await?;
        let group = self.find_group(&mut tx, group_id).await?;
        if group.is_admin == is_admin {
            return Ok(());
        }
        self.confirmed()?;
        members::set_group_admin(&mut tx, self.account_id, group_id, is_admin).await?;
        self.keep_an_administrator(&mut tx, &account).await?;
        let detail = if is_admin {
            "now administers the account"
        } else {
            "no longer administers the account"
        };
        self.audit(
            &mut tx,
            Action::GroupAdminChanged,
            &group.name,
            None,
            detail,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Invites people by email to one of the account's groups: each gets a mailed link
    /// (7 days, single use). Someone whose address is in a domain the account proved for
    /// single sign-on, and who already uses the portal, is added at once instead: the
    /// account's directory vouches for them. Nothing is sent unless every address is
    /// valid and none is a member already.
    pub async fn invite(&self, emails: &str, group_id: i64) -> Outcome<Invited> {
        let emails = parse_emails(emails)?;
        let (mut tx, account) = self.begin_change().await?;
        let group = self.find_group(&mut tx, group_id).await?;
        if group.is_admin {
            self.confirmed()?;
        }
        let proven = crate::db::sso::load(&mut tx, self.account_id)
            .await?
            .filter(|c| c.enabled)
            .map(|c| {
                c.domains
                    .into_iter()
                    .filter(|d| d.verified)
                    .map(|d| d.domain)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let inviter = match &self.actor {
            Actor::Person { label, .. } => label.clone(),
            Actor::Operator => "An operator".to_string(),
        };
        let now = self.state.now();
        let mut done = Invited::default();
        for email in &emails {
            let existing = directory::user_by_email(&mut tx, email).await?;
            if let Some(user_id) = existing {
                if members::get(&mut tx, self.account_id, user_id)
                    .await?
                    .is_some()
                {
                    return Err(AppError::Invalid(format!(
                        "{email} is already a member of {account}."
                    ))
                    .into());
                }
                let domain = app::validation::email_domain(email).unwrap_or_default();
                if proven.contains(&domain) {
                    directory::insert_membership(&mut tx, user_id, self.account_id, group.id, now)
                        .await?;
                    let detail =
                        format!("to {}; the account's directory proves {domain}", group.name);
                    self.audit(&mut tx, Action::MemberAdded, email, Some(user_id), &detail)
                        .await?;
                    let notice = Notice::AddedToAccount {
                        account: account.clone(),
                        group: group.name.clone(),
                    };
                    self.state
                        .announce(&mut tx, user_id, self.req, notice)
                        .await?;
                    done.added += 1;
                    continue;
                }
            }
            let token = crate::sessions::Token::generate(self.state.rng.as_ref());
            let invited_by = match &self.actor {
                Actor::Person { user_id, .. } => Some(*user_id),
                Actor::Operator => None,
            };
            crate::db::invitations::put(
                &mut tx,
                self.account_id,
                email,
                group.id,
                &token.hash(),
                invited_by,
                now,
                now + INVITATION_MS,
            )
            .await?;
            self.state
                .invitation_mail(&mut tx, email, &account, &group.name, &inviter, &token)
                .await?;
            let detail = format!("to {}", group.name);
            self.audit(&mut tx, Action::InvitationSent, email, existing, &detail)
                .await?;
            done.invited += 1;
        }
        tx.commit().await?;
        Ok(done)
    }

    /// Sends one of the account's invitations again, with a fresh link.
    pub async fn resend_invitation(&self, id: i64) -> Outcome<()> {
        let (mut tx, account) = self.begin_change().await?;
        let inv = crate::db::invitations::get(&mut tx, self.account_id, id)
            .await?
            .ok_or_else(|| AppError::Invalid(NO_INVITATION.into()))?;
        // A new link into an administrator group is a new way to administer the account.
        if self.find_group(&mut tx, inv.group_id).await?.is_admin {
            self.confirmed()?;
        }
        let token = crate::sessions::Token::generate(self.state.rng.as_ref());
        let now = self.state.now();
        crate::db::invitations::renew(
            &mut tx,
            self.account_id,
            id,
            &token.hash(),
            now,
            now + INVITATION_MS,
        )
        .await?;
        let inviter = match &self.actor {
            Actor::Person { label, .. } => label.clone(),
            Actor::Operator => "An operator".to_string(),
        };
        self.state
            .invitation_mail(
                &mut tx,
                &inv.email,
                &account,
                &inv.group_name,
                &inviter,
                &token,
            )
            .await?;
        self.audit(
            &mut tx,
            Action::InvitationSent,
            &inv.email,
            None,
            "sent again",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Revokes one of the account's invitations: its link stops working.
    pub async fn revoke_invitation(&self, id: i64) -> Outcome<()> {
        let (mut tx, _) = self.begin_change().await?;
        let inv = crate::db::invitations::get(&mut tx, self.account_id, id)
            .await?
            .ok_or_else(|| AppError::Invalid(NO_INVITATION.into()))?;
        crate::db::invitations::revoke(&mut tx, self.account_id, id).await?;
        self.audit(&mut tx, Action::InvitationRevoked, &inv.email, None, "")
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_group(&self, tx: &mut AnyConnection, group_id: i64) -> Outcome<members::Group> {
        Ok(members::group(tx, self.account_id, group_id)
            .await?
            .ok_or_else(|| {
                AppError::Invalid("That group is not one of this account's groups.".into())
            })?)
    }
}

/// The most pages a list may ask for: far beyond any real account, and no offset
/// arithmetic can overflow.
const MAX_PAGE: i64 = 1_000_000;

/// Reads page `asked` of a list (rows and how many in all), or its last page when
/// `asked` is beyond it: an address with a page number from another day (or a made-up
/// one) shows the end of the list, never an empty page past it.
async fn within_pages<T, F, Fut>(asked: i64, list: F) -> Result<(i64, (Vec<T>, i64)), sqlx::Error>
where
    F: Fn(i64) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, i64), sqlx::Error>>,
{
    let page = asked.clamp(1, MAX_PAGE);
    let (rows, total) = list(page).await?;
    let last = page_count(total, ADMIN_ROWS_PER_PAGE);
    if page > last {
        return Ok((last, list(last).await?));
    }
    Ok((page, (rows, total)))
}

#[async_trait::async_trait]
impl PeopleAdministration for crate::state::AppState {
    async fn account_members(
        &self,
        user: &UserCtx,
        account: AccountId,
        page: i64,
        search: &str,
        sort: MemberSort,
    ) -> Outcome<MembersPage> {
        self.account_admin(user, account)
            .await?
            .members_page(page, search, sort)
            .await
    }

    async fn change_member_group(
        &self,
        user: &UserCtx,
        account: AccountId,
        people: Vec<UserId>,
        group_id: i64,
    ) -> Outcome<usize> {
        self.account_admin(user, account)
            .await?
            .change_group(&people, group_id)
            .await
    }

    async fn remove_members(
        &self,
        user: &UserCtx,
        account: AccountId,
        people: Vec<UserId>,
        confirm_self: bool,
    ) -> Outcome<usize> {
        self.account_admin(user, account)
            .await?
            .remove_members(&people, confirm_self)
            .await
    }

    async fn account_groups(
        &self,
        user: &UserCtx,
        account: AccountId,
    ) -> Outcome<(String, Vec<GroupInfo>)> {
        let admin = self.account_admin(user, account).await?;
        Ok((admin.account_name().await?, admin.groups().await?))
    }

    async fn create_group(
        &self,
        user: &UserCtx,
        account: AccountId,
        name: &str,
        is_admin: bool,
    ) -> Outcome<()> {
        self.account_admin(user, account)
            .await?
            .create_group(name, is_admin)
            .await
    }

    async fn rename_group(
        &self,
        user: &UserCtx,
        account: AccountId,
        group_id: i64,
        name: &str,
    ) -> Outcome<()> {
        self.account_admin(user, account)
            .await?
            .rename_group(group_id, name)
            .await
    }

    async fn delete_group(&self, user: &UserCtx, account: AccountId, group_id: i64) -> Outcome<()> {
        self.account_admin(user, account)
            .await?
            .delete_group(group_id)
            .await
    }

    async fn set_group_admin(
        &self,
        user: &UserCtx,
        account: AccountId,
        group_id: i64,
        is_admin: bool,
    ) -> Outcome<()> {
        self.account_admin(user, account)
            .await?
            .set_group_admin(group_id, is_admin)
            .await
    }

    async fn invite_people(
        &self,
        user: &UserCtx,
        account: AccountId,
        emails: &str,
        group_id: i64,
    ) -> Outcome<(usize, usize)> {
        let done = self
            .account_admin(user, account)
            .await?
            .invite(emails, group_id)
            .await?;
        Ok((done.invited, done.added))
    }

    async fn resend_invitation(&self, user: &UserCtx, account: AccountId, id: i64) -> Outcome<()> {
        self.account_admin(user, account)
            .await?
            .people()
            .await?
            .resend_invitation(id)
            .await
    }

    async fn revoke_invitation(&self, user: &UserCtx, account: AccountId, id: i64) -> Outcome<()> {
        self.account_admin(user, account)
            .await?
            .people()
            .await?
            .revoke_invitation(id)
            .await
    }

    async fn helpdesk_reset_mfa(
        &self,
        user: &UserCtx,
        account: AccountId,
        person: UserId,
    ) -> Outcome<()> {
        self.account_admin(user, account)
            .await?
            .helpdesk_reset_mfa(person)
            .await
    }

    async fn helpdesk_sign_out(
        &self,
        user: &UserCtx,
        account: AccountId,
        person: UserId,
    ) -> Outcome<u64> {
        self.account_admin(user, account)
            .await?
            .helpdesk_sign_out(person)
            .await
    }

    async fn account_audit(
        &self,
        user: &UserCtx,
        account: AccountId,
        filter: AuditFilter,
        page: i64,
    ) -> Outcome<AuditPage> {
        self.account_admin(user, account)
            .await?
            .audit_page(&filter, page)
            .await
    }

    async fn account_audit_csv(
        &self,
        user: &UserCtx,
        account: AccountId,
        filter: AuditFilter,
    ) -> Outcome<String> {
        self.account_admin(user, account)
            .await?
            .audit_csv(&filter)
            .await
    }
}

/// How long an invitation's link works.
pub const INVITATION_MS: i64 = crate::notices::INVITATION_DAYS * 86_400_000;

const NO_INVITATION: &str = "That invitation is not pending any more.";

/// What "Send invitations" did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Invited {
    /// Invitations mailed.
    pub invited: usize,
    /// People added at once (their directory vouches for them).
    pub added: usize,
}

/// The addresses of "Email addresses": separated by commas, semicolons, spaces or
/// lines; each valid; at most 50 at once; each once.
pub fn parse_emails(text: &str) -> Outcome<Vec<String>> {
    let mut seen = Vec::<String>::new();
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for e in text
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|e| !e.is_empty())
    {
        if app::validation::validate_email(e).is_err() {
            bad.push(e.to_string());
            continue;
        }
        let key = app::validation::normalize_email(e);
        if !seen.contains(&key) {
            seen.push(key);
            out.push(e.to_string());
        }
    }
    if !bad.is_empty() {
        return Err(
            AppError::Invalid(format!("Not valid email addresses: {}.", bad.join(", "))).into(),
        );
    }
    if out.is_empty() {
        return Err(AppError::Invalid("Enter at least one email address.".into()).into());
    }
    if out.len() > 50 {
        return Err(AppError::Invalid("Invite at most 50 people at once.".into()).into());
    }
    Ok(out)
}

/// Whether the account manages the person with `email` (its domain is a proven one).
fn is_managed(proven: &[String], email: &str) -> bool {
    app::validation::email_domain(email).is_some_and(|d| proven.contains(&d))
}

fn group_info(g: members::Group) -> GroupInfo {
    GroupInfo {
        id: g.id,
        name: g.name,
        is_admin: g.is_admin,
        members: g.members,
    }
}

fn duplicate_group(name: &str) -> app::ssr::Fail {
    AppError::Invalid(format!("This account already has a group named {name}.")).into()
}

fn audit_row(r: audit::Logged, display: &crate::display::TimeDisplay) -> AuditRow {
    AuditRow {
        at: display.format(r.at),
        actor: r.actor,
        action: Action::parse(&r.action)
            .map(Action::label)
            .unwrap_or("Administrative change")
            .to_string(),
        subject: r.subject,
        detail: r.detail,
        ip: r.ip,
        device: r.user_agent.as_deref().map(|ua| describe_device(Some(ua))),
    }
}

/// One CSV field (RFC 4180), defused for spreadsheets: a value that a spreadsheet would
/// run as a formula (`=`, `+`, `-`, `@`) is prefixed with `'`.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-1"), "'-1");
    }
}
