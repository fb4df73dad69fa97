//! Security notices: what a person is told by mail when their sign-in changes. Each is
//! rendered for the person (their name, times in their zone and formats, the device and
//! address the change came from) and written to the outbox on the use case's transaction,
//! so it is sent exactly when the change commits. They cannot be turned off.

use crate::{
    db::{directory::Person, outbox},
    display::{describe_device, TimeDisplay},
    mail,
};
use app::ssr::{Fail, Outcome, RequestInfo};
use sqlx::AnyConnection;

/// "Chrome on Linux (203.0.113.9)": where a change came from.
fn origin(req: &RequestInfo) -> String {
    let device = describe_device(req.user_agent.as_deref());
    match req.ip.as_deref() {
        Some(ip) => format!("{device} ({ip})"),
        None => device,
    }
}

/// The person's password was changed (in the Security section).
pub async fn password_changed(
    tx: &mut AnyConnection,
    person: &Person,
    req: &RequestInfo,
    now: i64,
) -> Outcome<()> {
    let mail = mail::render(
        "password_changed",
        &person.email,
        "Your password was changed",
        minijinja::context! {
            name => &person.name,
            email => &person.email,
            when => TimeDisplay::new(&person.preferences).format(now),
            from => origin(req),
        },
    )
    .map_err(|e| Fail::internal(format!("the password notice did not render: {e}")))?;
    outbox::enqueue(tx, &mail, now).await?;
    Ok(())
}

/// A change to the person's sign-in or account, announced with the generic notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    MfaEnabled,
    MfaDisabled,
    RecoveryCodesRegenerated,
    /// A recovery code was spent; this many are left.
    RecoveryCodeUsed {
        left: i64,
    },
    /// An operator turned MFA off (`portal user reset-mfa`).
    MfaReset,
    /// The person deleted their own account.
    AccountDeleted,
    /// The account's email address was changed (sent to the old address).
    EmailChanged {
        new_email: String,
    },
    /// A sign-in from a browser the person had not signed in from before.
    NewDevice,
}

const CHANGE_PASSWORD: &str =
    "sign in, change your password in the Security section and set up multi-factor authentication again, or contact your administrator.";

impl Notice {
    fn subject(&self) -> &'static str {
        match self {
            Self::MfaEnabled => "Multi-factor authentication was turned on",
            Self::MfaDisabled => "Multi-factor authentication was turned off",
            Self::RecoveryCodesRegenerated => "New recovery codes were created",
            Self::RecoveryCodeUsed { .. } => "A recovery code was used",
            Self::MfaReset => "Your multi-factor authentication was reset",
            Self::AccountDeleted => "Your account was deleted",
            Self::EmailChanged { .. } => "Your email address was changed",
            Self::NewDevice => "New sign-in to your account",
        }
    }

    fn what(&self) -> &'static str {
        match self {
            Self::MfaEnabled => "Multi-factor authentication was turned on for your account",
            Self::MfaDisabled => "Multi-factor authentication was turned off for your account",
            Self::RecoveryCodesRegenerated => {
                "New recovery codes were created for your account (the old ones no longer work)"
            }
            Self::RecoveryCodeUsed { .. } => "One of your recovery codes was used to sign in or confirm it was you",
            Self::MfaReset => "An operator turned off multi-factor authentication for your account and ended your sessions",
            Self::AccountDeleted => "Your account and everything in it were deleted",
            Self::EmailChanged { .. } => "The email address of your account was changed",
            Self::NewDevice => "Someone signed in to your account from a browser not used before",
        }
    }

    fn advice(&self) -> &'static str {
        match self {
            Self::AccountDeleted => "contact your administrator at once: someone who knew your password deleted your account.",
            Self::NewDevice => "sign in, end that session in the Sessions section, change your password and set up multi-factor authentication, or contact your administrator.",
            Self::MfaEnabled => "someone who knows your password set up their own authenticator app: contact your administrator at once.",
            _ => CHANGE_PASSWORD,
        }
    }

    fn extra(&self) -> String {
        match self {
            Self::RecoveryCodeUsed { left: 0 } => {
                "You have no recovery codes left: create new ones in the Security section.".into()
            }
            Self::RecoveryCodeUsed { left: 1 } => "You have 1 recovery code left.".into(),
            Self::RecoveryCodeUsed { left } => format!("You have {left} recovery codes left."),
            Self::EmailChanged { new_email } => {
                format!(
                    "The new address is {new_email}; this old address gets no more mail from us."
                )
            }
            _ => String::new(),
        }
    }
}

/// Announces `notice` to the person, on the use case's transaction. `req` is where the
/// change came from (`None`: an operator).
pub async fn send(
    tx: &mut AnyConnection,
    person: &Person,
    req: Option<&RequestInfo>,
    notice: Notice,
    now: i64,
) -> Outcome<()> {
    let mail = mail::render(
        "notice",
        &person.email,
        notice.subject(),
        minijinja::context! {
            name => &person.name,
            email => &person.email,
            what => notice.what(),
            extra => notice.extra(),
            advice => notice.advice(),
            when => TimeDisplay::new(&person.preferences).format(now),
            from => req.map(origin).unwrap_or_else(|| "the operator's command line".into()),
        },
    )
    .map_err(|e| Fail::internal(format!("the {notice:?} notice did not render: {e}")))?;
    outbox::enqueue(tx, &mail, now).await?;
    Ok(())
}

/// [`send`] for a person known by id (loaded on the same transaction).
pub async fn announce(
    tx: &mut AnyConnection,
    user_id: i64,
    req: Option<&RequestInfo>,
    notice: Notice,
    now: i64,
) -> Outcome<()> {
    let person = crate::db::directory::person(tx, user_id)
        .await?
        .ok_or(app::AppError::Unauthenticated)?;
    send(tx, &person, req, notice, now).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_notice_renders_both_parts() {
        let person = Person {
            name: "Ada Lovelace".into(),
            email: "ada@example.com".into(),
            preferences: app::models::Preferences {
                time_zone: "Europe/Paris".into(),
                date_format: app::models::DateFormat::Iso,
                time_format: app::models::TimeFormat::H24,
                news_opt_in: false,
            },
            preferences_saved: false,
            mfa_enabled: true,
        };
        for notice in [
            Notice::MfaEnabled,
            Notice::MfaDisabled,
            Notice::RecoveryCodesRegenerated,
            Notice::RecoveryCodeUsed { left: 0 },
            Notice::RecoveryCodeUsed { left: 1 },
            Notice::RecoveryCodeUsed { left: 7 },
            Notice::MfaReset,
            Notice::AccountDeleted,
            Notice::EmailChanged {
                new_email: "new@example.com".into(),
            },
            Notice::NewDevice,
        ] {
            let mail = mail::render(
                "notice",
                &person.email,
                notice.subject(),
                minijinja::context! {
                    name => &person.name, email => &person.email, what => notice.what(),
                    extra => notice.extra(), advice => notice.advice(), when => "now", from => "",
                },
            )
            .unwrap_or_else(|e| panic!("{notice:?}: {e}"));
            assert!(mail.text.contains(notice.what()), "{notice:?}");
            assert!(mail.html.contains("Hello Ada Lovelace"), "{notice:?}");
            assert!(mail.text.contains(&notice.extra()), "{notice:?}");
        }
    }
}
