//! Operator commands. Each validates its input, writes in one transaction or not at all,
//! and reports a specific error with a non-zero exit status.

use crate::{
    config::{AccountCommand, GroupCommand, MemberCommand, UserCommand},
    db::directory::{self, DirectoryError},
    state::AppState,
};
use app::{models::AccountKind, Secret};
use std::io::BufRead;

/// The demo's password for every person (printed by `portal demo`).
pub const DEMO_PASSWORD: &str = "connect-demo-2026";

/// Reads one line (the password) from standard input, without its line ending.
pub fn read_password_line(input: &mut dyn BufRead) -> Result<Secret, String> {
    let mut line = String::new();
    input
        .read_line(&mut line)
        .map_err(|e| format!("could not read the password from standard input: {e}"))?;
    let pw = line.trim_end_matches(['\n', '\r']).to_string();
    if pw.is_empty() {
        return Err("no password on standard input (pipe it in, e.g. `printf '%s' \"$PW\" | portal user add …`)".into());
    }
    Ok(Secret::new(pw))
}

pub async fn user(
    state: &AppState,
    cmd: UserCommand,
    input: &mut dyn BufRead,
) -> Result<String, String> {
    match cmd {
        UserCommand::Add {
            email,
            name,
            sso_only,
            ..
        } => {
            let password = if sso_only {
                Secret::new(crate::env::random_hex(state.rng.as_ref(), 32))
            } else {
                read_password_line(input)?
            };
            let person = crate::people::prepare(
                &state.passwords,
                &email,
                &name,
                &password,
                state.config.min_password_length,
            )
            .await
            .map_err(message)?;
            // The person and, for the directory's people, that they have no portal
            // password (a reset link is never sent to them): one transaction.
            let db_err = |e: sqlx::Error| message(e.into());
            let mut tx = state.db.begin().await.map_err(db_err)?;
            let id = crate::people::insert(&mut tx, &person, state.now())
                .await
                .map_err(message)?;
            if sso_only {
                directory::set_sso_only(&mut tx, id).await.map_err(db_err)?;
            }
            tx.commit().await.map_err(db_err)?;
            Ok(format!("Added {} (user id {id})", email.trim()))
        }
        UserCommand::ResetMfa { email } => {
            let user_id = directory::login_record(&mut *conn(state).await?, &email)
                .await
                .map_err(|e| message(e.into()))?
                .ok_or_else(|| format!("no person has the email {}", email.trim()))?
                .user_id;
            // MFA off, sessions ended, the event: one transaction.
            let db_err = |e: sqlx::Error| message(e.into());
            let mut tx = state.db.begin().await.map_err(db_err)?;
            // A waiting email change goes too: whoever needed the reset may not have asked.
            crate::db::email_changes::cancel(&mut tx, user_id)
                .await
                .map_err(db_err)?;
            let was_on = crate::db::mfa::disable(&mut tx, user_id)
                .await
                .map_err(db_err)?;
            if !was_on {
                return Ok(format!(
                    "{} does not use multi-factor authentication; nothing changed.",
                    email.trim()
                ));
            }
            let now = state.now();
            let ended = crate::db::sessions::end_all_except(
                &mut tx,
                user_id,
                -1,
                crate::sessions::EndReason::Revoked,
                now,
            )
            .await
            .map_err(|e| message(e.into()))?;
            crate::db::events::record(
                &mut tx,
                Some(user_id),
                crate::db::events::EventKind::MfaReset,
                now,
                None,
                None,
                Some("operator CLI"),
            )
            .await
            .map_err(|e| message(e.into()))?;
            state
                .announce(&mut tx, user_id, None, crate::notices::Notice::MfaReset)
                .await
                .map_err(|e| e.into_app_error("cli").to_string())?;
            tx.commit().await.map_err(db_err)?;
            Ok(format!(
                "Turned off multi-factor authentication for {} and ended {ended} session(s). \
                 They sign in with their password and can set it up again.",
                email.trim()
            ))
        }
    }
}

pub async fn account(
    state: &AppState,
    cmd: AccountCommand,
    input: &mut dyn BufRead,
) -> Result<String, String> {
    match cmd {
        AccountCommand::SetSso {
            account,
            disable: true,
            ..
        } => {
            let db_err = |e: sqlx::Error| message(e.into());
            let mut tx = state.db.begin().await.map_err(db_err)?;
            let changed = crate::db::sso::disable(
                &mut tx,
                account,
                &crate::db::audit::Actor::Operator,
                state.now(),
            )
            .await
            .map_err(|e| message(e.into()))?;
            tx.commit().await.map_err(db_err)?;
            Ok(if changed {
                format!("Account {account}: single sign-on is off.")
            } else {
                format!("Account {account} has no single sign-on settings.")
            })
        }
        AccountCommand::SetSso {
            account,
            issuer,
            client_id,
            client_secret_stdin,
            domains,
            disable: false,
        } => {
            let secret = if client_secret_stdin {
                read_password_line(input)?
            } else {
                Secret::default()
            };
            let form = app::api::SsoForm {
                enabled: true,
                issuer: issuer.unwrap_or_default(),
                client_id: client_id.unwrap_or_default(),
                client_secret: secret,
                domains: domains.unwrap_or_default(),
            };
            let valid =
                crate::account_admin::validate_sso(&form, state.config.sso_allow_private_issuers)?;
            let db_err = |e: sqlx::Error| message(e.into());
            let mut tx = state.db.begin().await.map_err(db_err)?;
            crate::db::sso::save(
                &mut tx,
                &state.secret_key,
                state.rng.as_ref(),
                account,
                crate::db::sso::SsoUpdate {
                    enabled: true,
                    issuer: &valid.issuer,
                    client_id: &valid.client_id,
                    client_secret: valid.client_secret.as_deref(),
                    domains: &valid.domains,
                    // Operators are trusted: their domains count as proven.
                    trusted_domains: true,
                },
                &crate::db::audit::Actor::Operator,
                state.now(),
            )
            .await
            .map_err(|e| match e {
                crate::db::sso::SsoError::Db(e) => message(e.into()),
                crate::db::sso::SsoError::SecretMissing => {
                    "a client secret is needed the first time: pass --client-secret-stdin".into()
                }
                crate::db::sso::SsoError::SecretRebind => {
                    "a new issuer or client ID needs the client secret again: pass --client-secret-stdin".into()
                }
                other => other.to_string(),
            })?;
            tx.commit().await.map_err(db_err)?;
            Ok(format!(
                "Account {account}: single sign-on is on through {} for {}.\nRegister this redirect URI with the provider: {}",
                valid.issuer,
                valid.domains.join(", "),
                state.sso_redirect_uri()
            ))
        }
        AccountCommand::Add { name, kind } => {
            let kind = AccountKind::parse(&kind).ok_or_else(|| {
                format!("unknown account kind \"{kind}\": use vendor, distributor or reseller")
            })?;
            let id = directory::create_account(&mut *conn(state).await?, &name, kind, state.now())
                .await
                .map_err(message)?;
            Ok(format!(
                "Added {} account \"{}\"\n{id}",
                kind.label(),
                name.trim()
            ))
        }
        AccountCommand::SetMfaPolicy {
            account,
            policy,
            grace_days,
            require_passkeys,
        } => {
            let p = app::models::MfaPolicy::parse(&policy).ok_or_else(|| {
                format!("unknown MFA policy \"{policy}\": use optional, admins or all")
            })?;
            let grace = app::models::GraceDays::new(grace_days).ok_or_else(|| {
                format!(
                    "the grace period must be between 0 and {} days",
                    app::models::MAX_GRACE_DAYS
                )
            })?;
            let db_err = |e: sqlx::Error| message(e.into());
            let policy_err = |e: crate::db::policy::PolicyError| match e {
                crate::db::policy::PolicyError::Db(e) => message(e.into()),
                other => other.to_string(),
            };
            let mut tx = state.db.begin().await.map_err(db_err)?;
            crate::db::policy::set(
                &mut tx,
                account,
                p,
                grace,
                &crate::db::audit::Actor::Operator,
                state.now(),
            )
            .await
            .map_err(policy_err)?;
            let passkeys = require_passkeys && p != app::models::MfaPolicy::Optional;
            let was = crate::db::policy::load(&mut tx, account)
                .await
                .map_err(db_err)?
                .is_some_and(|a| a.require_passkeys != 0);
            if was != passkeys {
                crate::db::policy::set_require_passkeys(
                    &mut tx,
                    account,
                    passkeys,
                    &crate::db::audit::Actor::Operator,
                    state.now(),
                )
                .await
                .map_err(policy_err)?;
            }
            tx.commit().await.map_err(db_err)?;
            Ok(format!(
                "Account {account}: multi-factor authentication is now \"{}\"{}.",
                p.label(),
                if passkeys {
                    ", with passkeys required"
                } else {
                    ""
                }
            ))
        }
    }
}

pub async fn group(state: &AppState, cmd: GroupCommand) -> Result<String, String> {
    match cmd {
        GroupCommand::Add {
            account,
            name,
            admin,
        } => {
            let id = directory::create_group(
                &mut *conn(state).await?,
                account,
                &name,
                admin,
                state.now(),
            )
            .await
            .map_err(message)?;
            let role = if admin {
                "administrator group"
            } else {
                "group"
            };
            Ok(format!(
                "Added {role} \"{}\" to account {account} (group id {id})",
                name.trim()
            ))
        }
        GroupCommand::Rename {
            account,
            group,
            new_name,
        } => {
            let people = operator(state, account);
            let id = group_id(state, account, &group).await?;
            people.rename_group(id, &new_name).await.map_err(failed)?;
            Ok(format!(
                "Renamed \"{}\" to \"{}\" in account {account}",
                group.trim(),
                new_name.trim()
            ))
        }
        GroupCommand::Delete { account, group } => {
            let people = operator(state, account);
            let id = group_id(state, account, &group).await?;
            people.delete_group(id).await.map_err(failed)?;
            Ok(format!(
                "Deleted \"{}\" from account {account}",
                group.trim()
            ))
        }
        GroupCommand::SetAdmin {
            account,
            group,
            admin,
        } => {
            let people = operator(state, account);
            let id = group_id(state, account, &group).await?;
            people.set_group_admin(id, admin).await.map_err(failed)?;
            Ok(format!(
                "Members of \"{}\" {} account {account}",
                group.trim(),
                if admin {
                    "now administer"
                } else {
                    "no longer administer"
                }
            ))
        }
    }
}

/// Changes by the operator to an account's people, recorded as "operator (CLI)".
fn operator(state: &AppState, account_id: i64) -> crate::people_admin::AccountPeople<'_> {
    crate::people_admin::AccountPeople::operator(state, account_id)
}

/// A use case's refusal or failure, as the CLI reports it.
fn failed(e: app::ssr::Fail) -> String {
    e.into_app_error("cli").to_string()
}

/// The id of the account's group with this name.
async fn group_id(state: &AppState, account: i64, name: &str) -> Result<i64, String> {
    crate::db::members::group_named(&mut *conn(state).await?, account, name)
        .await
        .map_err(|e| message(e.into()))?
        .map(|g| g.id)
        .ok_or_else(|| format!("account {account} has no group named \"{}\"", name.trim()))
}

/// The id of the account's member with this email.
async fn member_id(state: &AppState, account: i64, email: &str) -> Result<i64, String> {
    let user = directory::user_by_email(&mut *conn(state).await?, email)
        .await
        .map_err(|e| message(e.into()))?
        .ok_or_else(|| format!("no person has the email {}", email.trim()))?;
    crate::db::members::get(&mut *conn(state).await?, account, user)
        .await
        .map_err(|e| message(e.into()))?
        .map(|m| m.user_id)
        .ok_or_else(|| format!("{} is not a member of account {account}", email.trim()))
}

pub async fn member(state: &AppState, cmd: MemberCommand) -> Result<String, String> {
    match cmd {
        MemberCommand::Add {
            account,
            email,
            group,
        } => {
            let db_err = |e: sqlx::Error| message(e.into());
            let mut tx = state.db.begin().await.map_err(db_err)?;
            directory::add_member(&mut tx, account, &email, &group, state.now())
                .await
                .map_err(message)?;
            let entry = crate::db::audit::Entry {
                account_id: account,
                action: crate::db::audit::Action::MemberAdded,
                subject: email.trim(),
                subject_user_id: directory::user_by_email(&mut tx, &email)
                    .await
                    .map_err(db_err)?,
                detail: &format!("to {}", group.trim()),
            };
            crate::db::audit::record(
                &mut tx,
                &crate::db::audit::Actor::Operator,
                entry,
                state.now(),
            )
            .await
            .map_err(db_err)?;
            tx.commit().await.map_err(db_err)?;
            Ok(format!(
                "Added {} to \"{}\" in account {account}",
                email.trim(),
                group.trim()
            ))
        }
        MemberCommand::Remove { account, email } => {
            let user = member_id(state, account, &email).await?;
            operator(state, account)
                .remove_members(&[app::models::UserId(user)])
                .await
                .map_err(failed)?;
            Ok(format!("Removed {} from account {account}", email.trim()))
        }
        MemberCommand::Move {
            account,
            email,
            group,
        } => {
            let user = member_id(state, account, &email).await?;
            let id = group_id(state, account, &group).await?;
            operator(state, account)
                .change_group(&[app::models::UserId(user)], id)
                .await
                .map_err(failed)?;
            Ok(format!(
                "Moved {} to \"{}\" in account {account}",
                email.trim(),
                group.trim()
            ))
        }
    }
}

/// `portal invite`: the same invitations as "Send invitations", sent by the operator.
pub async fn invite(
    state: &AppState,
    account: i64,
    emails: &[String],
    group: &str,
) -> Result<String, String> {
    let id = group_id(state, account, group).await?;
    let done = operator(state, account)
        .invite(&emails.join(","), id)
        .await
        .map_err(failed)?;
    let mut out = format!(
        "Invited {} to \"{}\" in account {account}",
        plural(done.invited, "person", "people"),
        group.trim()
    );
    if done.added > 0 {
        out.push_str(&format!(
            "; added {} at once (the account's single sign-on domain proves them)",
            plural(done.added, "person", "people")
        ));
    }
    Ok(out)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A pooled connection for one command's step.
async fn conn(state: &AppState) -> Result<sqlx::pool::PoolConnection<sqlx::Any>, String> {
    state.db.acquire().await.map_err(|e| message(e.into()))
}

fn message(e: DirectoryError) -> String {
    match e {
        DirectoryError::Db(e) => {
            tracing::error!(error = %e, "database error");
            "the database refused the change; see the log for details".into()
        }
        other => other.to_string(),
    }
}

struct DemoPerson {
    name: &'static str,
    email: &'static str,
    /// (account index, group)
    memberships: &'static [(usize, &'static str)],
}

const DEMO_ACCOUNTS: [(&str, AccountKind); 3] = [
    ("Acme Networks", AccountKind::Vendor),
    ("Northwind Distribution", AccountKind::Distributor),
    ("Globex Resellers", AccountKind::Reseller),
];

const DEMO_PEOPLE: [DemoPerson; 4] = [
    DemoPerson {
        name: "Ada Lovelace",
        email: "ada@example.com",
        memberships: &[(0, "Administrators"), (1, "Users"), (2, "Users")],
    },
    DemoPerson {
        name: "Grace Hopper",
        email: "grace@example.com",
        memberships: &[(1, "Administrators"), (0, "Users")],
    },
    DemoPerson {
        name: "Alan Turing",
        email: "alan@example.com",
        memberships: &[(2, "Administrators")],
    },
    DemoPerson {
        name: "Katherine Johnson",
        email: "katherine@example.com",
        memberships: &[(0, "Users"), (2, "Users")],
    },
];

/// Creates the demo once; afterwards only prints the credentials.
pub async fn demo(state: &AppState) -> Result<String, String> {
    let exists = directory::login_record(&mut *conn(state).await?, DEMO_PEOPLE[0].email)
        .await
        .map_err(|e| message(e.into()))?
        .is_some();
    if !exists {
        let now = state.now();
        let password = Secret::new(DEMO_PASSWORD);
        // Every password hashed first; then everything in one transaction, so a failure
        // leaves no half demo behind (and a second run creates it whole).
        let mut people = Vec::new();
        for person in &DEMO_PEOPLE {
            let prepared = crate::people::prepare(
                &state.passwords,
                person.email,
                person.name,
                &password,
                state.config.min_password_length,
            )
            .await
            .map_err(message)?;
            people.push((person, prepared));
        }
        let db_err = |e: sqlx::Error| message(e.into());
        let mut tx = state.db.begin().await.map_err(db_err)?;
        let mut account_ids = Vec::new();
        for (name, kind) in DEMO_ACCOUNTS {
            let id = directory::create_account(&mut tx, name, kind, now)
                .await
                .map_err(message)?;
            directory::create_group(&mut tx, id, "Administrators", true, now)
                .await
                .map_err(message)?;
            directory::create_group(&mut tx, id, "Users", false, now)
                .await
                .map_err(message)?;
            account_ids.push(id);
        }
        for (person, prepared) in &people {
            crate::people::insert(&mut tx, prepared, now)
                .await
                .map_err(message)?;
            for (account, group) in person.memberships {
                directory::add_member(&mut tx, account_ids[*account], person.email, group, now)
                    .await
                    .map_err(message)?;
            }
        }
        tx.commit().await.map_err(db_err)?;
    }
    let mut out = String::from(if exists {
        "The demo data is already present.\n"
    } else {
        "Created the demo: three accounts (Acme Networks, Northwind Distribution, Globex Resellers) and four people.\n"
    });
    out.push_str("\nDemo sign-in credentials (every person has the same password):\n");
    for p in &DEMO_PEOPLE {
        out.push_str(&format!("  {:<24} {}\n", p.email, p.name));
    }
    out.push_str(&format!("  password: {DEMO_PASSWORD}\n"));
    Ok(out)
}

/// `portal mail status` and `portal mail retry`.
pub async fn mail(state: &AppState, cmd: crate::config::MailCommand) -> Result<String, String> {
    let db_err = |e: sqlx::Error| message(e.into());
    let mut conn = conn(state).await?;
    match cmd {
        crate::config::MailCommand::Status => {
            let s = crate::db::outbox::status(&mut conn).await.map_err(db_err)?;
            let mut out = format!(
                "{} waiting, {} sent, {} given up on.\n",
                s.waiting,
                s.sent,
                s.failed.len()
            );
            for f in s.failed {
                out.push_str(&format!(
                    "  #{} to {} \"{}\": {} attempt(s), last error: {}\n",
                    f.id,
                    f.to_address,
                    f.subject,
                    f.attempts,
                    f.last_error.as_deref().unwrap_or("none recorded")
                ));
            }
            Ok(out.trim_end().to_string())
        }
        crate::config::MailCommand::Retry => {
            let n = crate::db::outbox::retry_failed(&mut conn, state.now())
                .await
                .map_err(db_err)?;
            Ok(format!("{n} mail(s) will be tried again."))
        }
    }
}
