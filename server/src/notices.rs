//! Security notices: what a person is told by mail when their sign-in changes. Each is
//! rendered for the person (their name, times in their zone and formats, the device and
//! address the change came from) and written to the outbox on the use case's transaction,
//! so it is sent exactly when the change commits. They cannot be turned off.

use crate::{
    db::{directory::Person, outbox},
    display::{describe_device, TimeDisplay},
    mail,
    sessions::Token,
    state::AppState,
};
use app::format::{
    EMAIL_CANCEL_PATH, EMAIL_CONFIRM_PATH, FORGOT_PASSWORD_PATH, RESET_PASSWORD_PATH, SESSIONS_PATH,
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

/// Which mails carry a single-use link, and so are stored sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Storage {
    Plain,
    Sealed,
}

/// Which mail, to whom, stored how.
struct Draft<'a> {
    to: &'a str,
    template: &'static str,
    subject: &'a str,
    storage: Storage,
}

impl AppState {
    /// Renders mail `template` for `person` (their name, and times in their zone and
    /// formats, with `fields`) and writes it to the outbox on `tx`, addressed to `to`.
    async fn write_mail(
        &self,
        tx: &mut AnyConnection,
        person: &Person,
        draft: Draft<'_>,
        fields: minijinja::Value,
    ) -> Outcome<()> {
        let Draft {
            to,
            template,
            subject,
            storage,
        } = draft;
        let now = self.now();
        let origin = &self.config.public_origin;
        let context = minijinja::context! {
            name => &person.name,
            email => &person.email,
            when => TimeDisplay::new(&person.preferences).format(now),
            reset_link => format!("{origin}{FORGOT_PASSWORD_PATH}"),
            sessions_link => format!("{origin}{SESSIONS_PATH}"),
            ..fields
        };
        let mail = mail::render(template, to, subject, context)
            .map_err(|e| Fail::internal(format!("the {template} mail did not render: {e}")))?;
        match storage {
            Storage::Plain => outbox::enqueue(tx, &mail, now).await?,
            Storage::Sealed => {
                outbox::enqueue_sealed(tx, &self.secret_key, self.rng.as_ref(), &mail, now).await?
            }
        };
        Ok(())
    }

    /// A mailed link to `path` with its token, on the portal's public address.
    fn link(&self, path: &str, token: &Token) -> String {
        format!(
            "{}{}",
            self.config.public_origin,
            app::format::link_href(path, token.expose())
        )
    }

    /// The person's password was changed (in the Security section).
    pub(crate) async fn password_changed_notice(
        &self,
        tx: &mut AnyConnection,
        person: &Person,
        req: &RequestInfo,
    ) -> Outcome<()> {
        let fields = minijinja::context! { from => origin(req) };
        self.write_mail(
            tx,
            person,
            Draft {
                to: &person.email,
                template: "password_changed",
                subject: "Your password was changed",
                storage: Storage::Plain,
            },
            fields,
        )
        .await
    }

    /// Announces `notice` to the person, on the use case's transaction. `req` is where
    /// the change came from (`None`: an operator).
    pub(crate) async fn send_notice(
        &self,
        tx: &mut AnyConnection,
        person: &Person,
        req: Option<&RequestInfo>,
        notice: Notice,
    ) -> Outcome<()> {
        let fields = minijinja::context! {
            what => notice.what(),
            extra => notice.extra(),
            advice => notice.advice(),
            from => req.map(origin).unwrap_or_else(|| "the operator's command line".into()),
        };
        self.write_mail(
            tx,
            person,
            Draft {
                to: &person.email,
                template: "notice",
                subject: notice.subject(),
                storage: Storage::Plain,
            },
            fields,
        )
        .await
    }

    /// [`Self::send_notice`] for a person known by id (loaded on the same transaction).
    pub(crate) async fn announce(
        &self,
        tx: &mut AnyConnection,
        user_id: i64,
        req: Option<&RequestInfo>,
        notice: Notice,
    ) -> Outcome<()> {
        let person = crate::db::directory::person(tx, user_id)
            .await?
            .ok_or(app::AppError::Unauthenticated)?;
        self.send_notice(tx, &person, req, notice).await
    }

    /// The link that proves a new address, sent to it.
    pub(crate) async fn email_confirm_mail(
        &self,
        tx: &mut AnyConnection,
        person: &Person,
        new_email: &str,
        token: &Token,
        req: &RequestInfo,
    ) -> Outcome<()> {
        let fields = minijinja::context! {
            new_email => new_email,
            link => self.link(EMAIL_CONFIRM_PATH, token),
            from => origin(req),
            hours => EMAIL_LINK_HOURS,
        };
        self.write_mail(
            tx,
            person,
            Draft {
                to: new_email,
                template: "email_confirm",
                subject: "Confirm your new email address",
                storage: Storage::Sealed,
            },
            fields,
        )
        .await
    }

    /// "If this wasn't you", sent to the old address when a change is requested: its link
    /// cancels the change and starts a password reset.
    pub(crate) async fn email_change_requested_mail(
        &self,
        tx: &mut AnyConnection,
        person: &Person,
        new_email: &str,
        cancel: &Token,
        req: &RequestInfo,
    ) -> Outcome<()> {
        let fields = minijinja::context! {
            new_email => new_email,
            link => self.link(EMAIL_CANCEL_PATH, cancel),
            from => origin(req),
            hours => EMAIL_LINK_HOURS,
        };
        self.write_mail(
            tx,
            person,
            Draft {
                to: &person.email,
                template: "email_change_requested",
                subject: "A change of your email address was requested",
                storage: Storage::Sealed,
            },
            fields,
        )
        .await
    }

    /// A password reset link.
    pub(crate) async fn password_reset_mail(
        &self,
        tx: &mut AnyConnection,
        person: &Person,
        token: &Token,
        req: &RequestInfo,
    ) -> Outcome<()> {
        let fields = minijinja::context! {
            link => self.link(RESET_PASSWORD_PATH, token),
            from => origin(req),
            minutes => RESET_LINK_MINUTES,
        };
        self.write_mail(
            tx,
            person,
            Draft {
                to: &person.email,
                template: "password_reset",
                subject: "Reset your password",
                storage: Storage::Sealed,
            },
            fields,
        )
        .await
    }

    /// A reset was asked for a person who signs in only through their organisation's
    /// directory: they are told to use it (no link).
    pub(crate) async fn reset_through_directory_mail(
        &self,
        tx: &mut AnyConnection,
        person: &Person,
        req: &RequestInfo,
    ) -> Outcome<()> {
        let fields = minijinja::context! {
            login_link => format!("{}/login", self.config.public_origin),
            from => origin(req),
        };
        self.write_mail(
            tx,
            person,
            Draft {
                to: &person.email,
                template: "reset_directory",
                subject: "Your password is managed by your organisation",
                storage: Storage::Plain,
            },
            fields,
        )
        .await
    }

    /// An account's MFA policy asks the person to turn MFA on (or add a passkey) by
    /// their deadline (formatted in their settings), or a reminder of it.
    pub(crate) async fn mfa_policy_mail(
        &self,
        tx: &mut AnyConnection,
        person: &Person,
        due: &crate::db::policy::Uncompliant,
        reminder: bool,
    ) -> Outcome<()> {
        let (account_name, deadline, passkeys) = (&due.account_name, due.deadline, due.passkeys);
        let account = app::models::AccountId(due.account_id);
        let setup = if passkeys {
            app::format::passkey_setup_href(account, "/")
        } else {
            app::format::mfa_setup_href(account, "/")
        };
        let fields = minijinja::context! {
            account => account_name,
            deadline => TimeDisplay::new(&person.preferences).format(deadline),
            reminder => reminder,
            passkeys => passkeys,
            past => deadline <= self.now(),
            setup_link => format!("{}{}", self.config.public_origin, setup),
        };
        let subject = match (reminder, passkeys) {
            (true, false) => {
                format!("Reminder: set up multi-factor authentication for {account_name}")
            }
            (false, false) => format!("{account_name} requires multi-factor authentication"),
            (true, true) => format!("Reminder: add a passkey for {account_name}"),
            (false, true) => format!("{account_name} requires passkeys"),
        };
        self.write_mail(
            tx,
            person,
            Draft {
                to: &person.email,
                template: "mfa_policy",
                subject: &subject,
                storage: Storage::Plain,
            },
            fields,
        )
        .await
    }
}

impl AppState {
    /// An invitation to join an account, to an address that may belong to nobody yet.
    pub(crate) async fn invitation_mail(
        &self,
        tx: &mut AnyConnection,
        to: &str,
        account: &str,
        group: &str,
        inviter: &str,
        token: &Token,
    ) -> Outcome<()> {
        let context = minijinja::context! {
            email => to,
            account => account,
            group => group,
            inviter => inviter,
            days => INVITATION_DAYS,
            link => self.link(app::format::INVITATION_PATH, token),
        };
        let subject = format!("You are invited to join {account}");
        let mail = mail::render("invitation", to, &subject, context)
            .map_err(|e| Fail::internal(format!("the invitation mail did not render: {e}")))?;
        outbox::enqueue_sealed(tx, &self.secret_key, self.rng.as_ref(), &mail, self.now()).await?;
        Ok(())
    }
}

/// How long an invitation link works.
pub const INVITATION_DAYS: i64 = 7;

/// How long a link that proves a new email address works.
pub const EMAIL_LINK_HOURS: i64 = 24;
/// How long a password reset link works.
pub const RESET_LINK_MINUTES: i64 = 30;

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
    /// The password was reset through a mailed link (every session ended).
    PasswordReset,
    /// An administrator of an account removed the person from it.
    RemovedFromAccount {
        account: String,
    },
    /// An administrator added the person to an account at once: its proven single
    /// sign-on domain vouches for their address (no invitation to accept).
    AddedToAccount {
        account: String,
        group: String,
    },
    /// An administrator of the account that manages the person reset their MFA.
    HelpdeskMfaReset {
        account: String,
    },
    /// An administrator of the account that manages the person signed them out.
    HelpdeskSignedOut {
        account: String,
    },
    /// The person added a passkey.
    PasskeyAdded {
        name: String,
    },
    /// The person removed a passkey.
    PasskeyRemoved {
        name: String,
    },
    /// A passkey was refused because its signature counter went backwards, as a copied
    /// authenticator's would.
    PasskeyRefused {
        name: String,
    },
    /// An authenticator app was set up while MFA was on already (through passkeys).
    TotpAdded,
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
            Self::PasswordReset => "Your password was reset",
            Self::RemovedFromAccount { .. } => "You were removed from an account",
            Self::AddedToAccount { .. } => "You were added to an account",
            Self::HelpdeskMfaReset { .. } => "Your multi-factor authentication was reset",
            Self::HelpdeskSignedOut { .. } => "You were signed out everywhere",
            Self::PasskeyAdded { .. } => "A passkey was added",
            Self::PasskeyRemoved { .. } => "A passkey was removed",
            Self::PasskeyRefused { .. } => "One of your passkeys may have been copied",
            Self::TotpAdded => "An authenticator app was added",
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
            Self::PasswordReset => "The password of your account was reset with a link sent to this address, and every session was signed out",
            Self::RemovedFromAccount { .. } => "An administrator removed you from an account you belonged to",
            Self::AddedToAccount { .. } => "An administrator added you to an account of your organisation",
            Self::HelpdeskMfaReset { .. } => "An administrator of your organisation's account turned off multi-factor authentication for you and ended your sessions",
            Self::HelpdeskSignedOut { .. } => "An administrator of your organisation's account ended all your sessions",
            Self::PasskeyAdded { .. } => "A passkey was added to your account: it signs you in without your password",
            Self::PasskeyRemoved { .. } => "A passkey was removed from your account",
            Self::PasskeyRefused { .. } => "A sign-in with one of your passkeys was refused: its signature counter went backwards, as happens when an authenticator has been copied",
            Self::TotpAdded => "An authenticator app was set up for your account: its codes now sign you in as your passkeys do",
        }
    }

    fn advice(&self) -> &'static str {
        match self {
            Self::AccountDeleted => "contact your administrator at once: someone who knew your password deleted your account.",
            Self::EmailChanged { .. } => "within a day, open the link in our earlier mail “A change of your email address was requested”: it puts this address back, signs everyone out and lets you set a new password.",
            Self::NewDevice => "sign in, end that session in the Sessions section, change your password and set up multi-factor authentication, or contact your administrator.",
            Self::MfaEnabled | Self::TotpAdded => "someone who knows your password set up their own authenticator app: contact your administrator at once.",
            Self::PasswordReset => "someone can read your mail: secure your mailbox, reset your password again and contact your administrator at once.",
            Self::RemovedFromAccount { .. } => "ask that account's administrators; your user and your other accounts are unchanged.",
            Self::AddedToAccount { .. } => "ask that account's administrators to remove you; your user and your other accounts are unchanged.",
            Self::PasskeyAdded { .. } => "someone who could confirm it was you added their own passkey: sign in, remove it in the Security section, change your password, or contact your administrator at once.",
            Self::PasskeyRefused { .. } => "remove that passkey in the Security section, add a new one, and change your password.",
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
            Self::HelpdeskMfaReset { account } | Self::HelpdeskSignedOut { account } => {
                format!("The account is {account}. Sign in again; set up multi-factor authentication again if it asks.")
            }
            Self::RemovedFromAccount { account } => {
                format!("The account is {account}. You can no longer work in it; your sign-in and your other accounts are as they were.")
            }
            Self::AddedToAccount { account, group } => {
                format!("The account is {account}, the group {group}; it proved your email domain for single sign-on. Choose it from your accounts when you sign in.")
            }
            Self::PasskeyAdded { name }
            | Self::PasskeyRemoved { name }
            | Self::PasskeyRefused { name } => format!("The passkey is “{name}”."),
            Self::EmailChanged { new_email } => {
                format!(
                    "The new address is {new_email}; this old address gets no more mail from us."
                )
            }
            _ => String::new(),
        }
    }
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
            sso_only: false,
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
            Notice::PasswordReset,
            Notice::RemovedFromAccount {
                account: "Acme".into(),
            },
            Notice::AddedToAccount {
                account: "Acme".into(),
                group: "Users".into(),
            },
            Notice::HelpdeskMfaReset {
                account: "Acme".into(),
            },
            Notice::HelpdeskSignedOut {
                account: "Acme".into(),
            },
            Notice::PasskeyAdded {
                name: "Laptop".into(),
            },
            Notice::PasskeyRemoved {
                name: "Laptop".into(),
            },
            Notice::PasskeyRefused {
                name: "Laptop".into(),
            },
            Notice::TotpAdded,
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

    #[test]
    fn every_mail_template_renders_both_parts_with_its_link() {
        for (name, link) in [
            ("email_confirm", "http://portal.test/email/confirm?token=T"),
            (
                "email_change_requested",
                "http://portal.test/email/cancel?token=T",
            ),
            (
                "password_reset",
                "http://portal.test/reset-password?token=T",
            ),
            ("reset_directory", "http://portal.test/login"),
            ("mfa_policy", "http://portal.test/profile/security"),
            ("password_changed", "http://portal.test/forgot-password"),
        ] {
            let mail = mail::render(
                name,
                "ada@example.com",
                "Subject",
                minijinja::context! {
                    name => "Ada", email => "ada@example.com", new_email => "new@example.com",
                    when => "now", from => "Firefox", hours => 24, minutes => 30,
                    link => link, login_link => link, setup_link => link,
                    reset_link => link, sessions_link => "http://portal.test/profile/sessions",
                    account => "Acme", deadline => "tomorrow", reminder => true,
                },
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(mail.text.contains(link), "{name}: {}", mail.text);
            // The HTML part escapes what it shows (`/` as `&#x2f;`, read back by browsers).
            let html = mail.html.replace("&#x2f;", "/");
            assert!(html.contains(&format!("href=\"{link}\"")), "{name}: {html}");
            assert!(
                mail.text.contains("Hello Ada,") && mail.html.contains("Hello Ada,"),
                "{name}"
            );
        }
    }
}
