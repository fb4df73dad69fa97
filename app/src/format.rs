//! Small formatting helpers shared by the browser and the server.

/// Percent-encodes a query value: only unreserved characters stay. Every address below
/// that carries a value uses it.
pub fn query_value(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Where a person sets up MFA for an account that requires it, then continues to `next`
/// (a local path): the one home of this address, used by the pages, the request
/// middleware and the server functions.
pub fn mfa_setup_href(account_id: crate::models::AccountId, next: &str) -> String {
    format!(
        "/profile/security?mfa_required={account_id}&next={}",
        query_value(next)
    )
}

/// Where a session proves the person's own credentials ("Confirm it's you") before
/// continuing to `next` (a local path).
pub fn step_up_href(next: &str) -> String {
    format!("/step-up?next={}", query_value(next))
}

/// Where the Security section's "Rename" and "Remove" of a passkey post (plain forms).
pub const PASSKEY_FORM_PATH: &str = "/profile/security/passkeys/action";

/// "Confirm it's you" with a passkey: the account requires one of this session.
pub fn passkey_step_up_href(next: &str) -> String {
    format!("{}&why=passkey", step_up_href(next))
}

/// The Security section when an account requires a passkey of the person and they have
/// none: add one, then continue to `next`.
pub fn passkey_setup_href(account_id: crate::models::AccountId, next: &str) -> String {
    format!(
        "/profile/security?passkey_required={account_id}&next={}",
        query_value(next)
    )
}

/// "Confirm it's you" before a sensitive change made with a plain form: afterwards back
/// on `next`, where the person presses the button again.
pub fn step_up_for_change_href(next: &str) -> String {
    format!("{}&why=change", step_up_href(next))
}

/// The sign-in page, coming back to `next` (a local path) afterwards.
pub fn login_href(next: &str) -> String {
    if next == "/" {
        "/login".into()
    } else {
        format!("/login?next={}", query_value(next))
    }
}

/// The sign-in code step, going on to `next` (a local path) afterwards; with `passkey`,
/// "Use a passkey" is offered first (the person has one; a crafted address only shows a
/// button the server then refuses).
pub fn login_code_href(next: &str, passkey: bool) -> String {
    let passkey = if passkey { "&passkey=1" } else { "" };
    format!("/login/code?next={}{passkey}", query_value(next))
}

/// The person's Security section, going on to `next` (a local path) afterwards.
pub fn security_href(next: &str) -> String {
    format!("/profile/security?next={}", query_value(next))
}

/// Where the single sign-on page's "Verify" posts (a plain form).
pub fn sso_verify_action(account_id: crate::models::AccountId) -> String {
    format!("/accounts/{account_id}/settings/sso/verify")
}

/// "Forgot password?": where a reset link is asked for.
pub const FORGOT_PASSWORD_PATH: &str = "/forgot-password";
/// Where a password reset link leads (the token is the link's secret).
pub const RESET_PASSWORD_PATH: &str = "/reset-password";
/// Where the link that proves a new email address leads.
pub const EMAIL_CONFIRM_PATH: &str = "/email/confirm";
/// Where the "If this wasn't you" link of an email change leads.
pub const EMAIL_CANCEL_PATH: &str = "/email/cancel";
/// Where an invitation's link leads.
pub const INVITATION_PATH: &str = "/invitation";
/// The person's Sessions section ("Sign out of all other sessions").
pub const SESSIONS_PATH: &str = "/profile/sessions";

/// A mailed link: `path` with its single-use `token`.
pub fn link_href(path: &str, token: &str) -> String {
    format!("{path}?token={}", query_value(token))
}

/// The administrators' MFA policy page of an account.
pub fn account_mfa_href(account_id: crate::models::AccountId) -> String {
    format!("/accounts/{account_id}/settings/mfa")
}

/// The administrators' single sign-on page of an account.
pub fn account_sso_href(account_id: crate::models::AccountId) -> String {
    format!("/accounts/{account_id}/settings/sso")
}

/// The administrators' members page of an account.
pub fn account_members_href(account_id: crate::models::AccountId) -> String {
    format!("/accounts/{account_id}/settings/members")
}

/// The administrators' groups page of an account.
pub fn account_groups_href(account_id: crate::models::AccountId) -> String {
    format!("/accounts/{account_id}/settings/groups")
}

/// The administrators' audit log page of an account.
pub fn account_audit_href(account_id: crate::models::AccountId) -> String {
    format!("/accounts/{account_id}/settings/audit")
}

/// "15 seconds", "1 minute", "3 minutes", "1 hour": a wait a person can act on.
pub fn wait_duration(secs: u64) -> String {
    fn plural(n: u64, unit: &str) -> String {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    }
    if secs < 60 {
        plural(secs.max(1), "second")
    } else if secs < 3600 {
        plural(secs.div_ceil(60), "minute")
    } else {
        plural(secs.div_ceil(3600), "hour")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_naturally() {
        assert_eq!(wait_duration(0), "1 second");
        assert_eq!(wait_duration(15), "15 seconds");
        assert_eq!(wait_duration(60), "1 minute");
        assert_eq!(wait_duration(61), "2 minutes");
        assert_eq!(wait_duration(3600), "1 hour");
        assert_eq!(wait_duration(3601), "2 hours");
    }
}

use crate::models::{DateFormat, TimeFormat};

/// A wall-clock moment in some time zone, broken into fields (computed with chrono-tz on
/// the server and with `Intl` in the browser, then formatted by the same code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalParts {
    pub year: i32,
    /// 1–12
    pub month: u32,
    pub day: u32,
    /// 0–23
    pub hour: u32,
    pub minute: u32,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

pub fn format_date(p: &LocalParts, f: DateFormat) -> String {
    match f {
        DateFormat::Iso => format!("{:04}-{:02}-{:02}", p.year, p.month, p.day),
        DateFormat::DayMonthYear => format!("{:02}/{:02}/{:04}", p.day, p.month, p.year),
        DateFormat::MonthDayYear => format!("{:02}/{:02}/{:04}", p.month, p.day, p.year),
        DateFormat::DayMonthNameYear => {
            let m = MONTHS
                .get((p.month.saturating_sub(1)) as usize)
                .copied()
                .unwrap_or("?");
            format!("{} {m} {:04}", p.day, p.year)
        }
    }
}

pub fn format_time(p: &LocalParts, f: TimeFormat) -> String {
    match f {
        TimeFormat::H24 => format!("{:02}:{:02}", p.hour, p.minute),
        TimeFormat::H12 => {
            let (h, suffix) = match p.hour {
                0 => (12, "AM"),
                1..=11 => (p.hour, "AM"),
                12 => (12, "PM"),
                h => (h - 12, "PM"),
            };
            format!("{h}:{:02} {suffix}", p.minute)
        }
    }
}

pub fn format_datetime(p: &LocalParts, d: DateFormat, t: TimeFormat) -> String {
    format!("{} {}", format_date(p, d), format_time(p, t))
}

#[cfg(test)]
mod datetime_tests {
    use super::*;

    #[test]
    fn every_format() {
        let p = LocalParts {
            year: 2026,
            month: 11,
            day: 24,
            hour: 14,
            minute: 5,
        };
        assert_eq!(format_date(&p, DateFormat::Iso), "2026-11-24");
        assert_eq!(format_date(&p, DateFormat::DayMonthYear), "24/11/2026");
        assert_eq!(format_date(&p, DateFormat::MonthDayYear), "11/24/2026");
        assert_eq!(format_date(&p, DateFormat::DayMonthNameYear), "24 Nov 2026");
        assert_eq!(format_time(&p, TimeFormat::H24), "14:05");
        assert_eq!(format_time(&p, TimeFormat::H12), "2:05 PM");
        let midnight = LocalParts { hour: 0, ..p };
        assert_eq!(format_time(&midnight, TimeFormat::H12), "12:05 AM");
        let noon = LocalParts { hour: 12, ..p };
        assert_eq!(format_time(&noon, TimeFormat::H12), "12:05 PM");
    }
}
