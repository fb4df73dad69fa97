//! Typed models shared by the browser and the server.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The three kinds of partner account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountKind {
    Vendor,
    Distributor,
    Reseller,
}

impl AccountKind {
    pub const ALL: [AccountKind; 3] = [Self::Vendor, Self::Distributor, Self::Reseller];

    /// The value stored in the database and accepted by the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Vendor => "vendor",
            Self::Distributor => "distributor",
            Self::Reseller => "reseller",
        }
    }

    /// The label shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Self::Vendor => "Vendor",
            Self::Distributor => "Distributor",
            Self::Reseller => "Reseller",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(value.trim()))
    }
}

impl fmt::Display for AccountKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One account a person belongs to, with their group there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub account_id: AccountId,
    pub account_name: String,
    pub kind: AccountKind,
    pub group_name: String,
    pub is_admin: bool,
    /// What the account's MFA policy asks of this person.
    pub mfa: MfaRequirement,
}

/// What an account's MFA policy asks of one member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MfaRequirement {
    /// The policy does not cover this member.
    NotRequired,
    /// Covered, and the person uses MFA.
    Met,
    /// Covered, no MFA yet, within the grace period: the deadline in the person's formats.
    Due { deadline: String },
    /// Covered, no MFA, the grace period over: the account's pages are closed to them.
    Blocked,
    /// This session came through the account's own directory (single sign-on), whose
    /// settings take precedence over the portal's MFA policy.
    Directory,
}

impl MfaRequirement {
    /// Short text for the profile's Accounts section.
    pub fn summary(&self) -> String {
        match self {
            Self::NotRequired => "Not required".into(),
            Self::Met => "Required · you use it".into(),
            Self::Due { deadline } => format!("Required from {deadline} · not set up"),
            Self::Blocked => "Required · not set up".into(),
            Self::Directory => "Handled by your organisation's single sign-on".into(),
        }
    }

    /// Must the person still set up MFA for this account?
    pub fn needs_setup(&self) -> bool {
        matches!(self, Self::Due { .. } | Self::Blocked)
    }
}

/// The signed-in person as the portal shell needs them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub user_id: UserId,
    pub name: String,
    pub email: String,
    /// Every account the person belongs to, ordered by account name.
    pub memberships: Vec<Membership>,
    /// The account active in this session, if the person belongs to any.
    pub active_account_id: Option<AccountId>,
    /// Whether the person uses multi-factor authentication.
    pub mfa_enabled: bool,
    /// Whether the person has a passkey.
    pub has_passkey: bool,
}

impl Viewer {
    pub fn active_membership(&self) -> Option<&Membership> {
        let id = self.active_account_id?;
        self.memberships.iter().find(|m| m.account_id == id)
    }
}

/// A secret typed by a person (a password). Serialized as a plain string on the wire,
/// never shown by `Debug`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_is_redacted() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s:?}"), "Secret([redacted])");
        assert_eq!(
            serde_json::to_string(&s).ok(),
            Some("\"hunter2-very-secret\"".into())
        );
    }

    #[test]
    fn account_kinds_round_trip() {
        for k in AccountKind::ALL {
            assert_eq!(AccountKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(AccountKind::parse(" Vendor "), Some(AccountKind::Vendor));
        assert_eq!(AccountKind::parse("partner"), None);
    }
}

/// How dates are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DateFormat {
    /// 2026-11-24
    Iso,
    /// 24/11/2026
    DayMonthYear,
    /// 11/24/2026
    MonthDayYear,
    /// 24 Nov 2026
    DayMonthNameYear,
}

impl DateFormat {
    pub const ALL: [DateFormat; 4] = [
        Self::Iso,
        Self::DayMonthYear,
        Self::MonthDayYear,
        Self::DayMonthNameYear,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Iso => "iso",
            Self::DayMonthYear => "dmy",
            Self::MonthDayYear => "mdy",
            Self::DayMonthNameYear => "d_mon_y",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == value)
    }

    /// The option label: the example date in this format.
    pub fn example(self) -> &'static str {
        match self {
            Self::Iso => "2026-11-24",
            Self::DayMonthYear => "24/11/2026",
            Self::MonthDayYear => "11/24/2026",
            Self::DayMonthNameYear => "24 Nov 2026",
        }
    }
}

/// How times of day are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TimeFormat {
    H24,
    H12,
}

impl TimeFormat {
    pub const ALL: [TimeFormat; 2] = [Self::H24, Self::H12];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::H24 => "24h",
            Self::H12 => "12h",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == value)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::H24 => "24-hour (14:05)",
            Self::H12 => "12-hour (2:05 PM)",
        }
    }
}

/// A person's display preferences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preferences {
    /// IANA time zone name, e.g. "Europe/Paris".
    pub time_zone: String,
    pub date_format: DateFormat,
    pub time_format: TimeFormat,
    pub news_opt_in: bool,
}

/// Everything the General section shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneralSettings {
    pub name: String,
    pub email: String,
    pub preferences: Preferences,
    /// False until the person first saves: then the browser's zone is suggested.
    pub preferences_saved: bool,
    /// The current moment in the person's settings, formatted on the server.
    pub now_formatted: String,
    /// A change of address waiting for the link sent to the new address.
    pub pending_email: Option<PendingEmail>,
}

/// An email change waiting for its confirmation link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingEmail {
    pub new_email: String,
    /// When the link stops working, in the person's settings.
    pub expires: String,
    /// It stopped working: "Resend" sends a fresh one.
    pub expired: bool,
}

/// What the page of a password reset link shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetLinkInfo {
    /// The address the link was sent to.
    pub email: String,
    /// The person has MFA on: a current code is needed too.
    pub code_required: bool,
    /// The person has an authenticator app; without one (MFA through passkeys), only a
    /// recovery code will do here.
    pub app: bool,
}

/// What the page of an email change link shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailLinkInfo {
    pub old_email: String,
    pub new_email: String,
}

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionStatus {
    Active,
    SignedOut,
    Expired,
    Revoked,
}

impl SessionStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::SignedOut => "Signed out",
            Self::Expired => "Expired",
            Self::Revoked => "Revoked",
        }
    }
}

/// One session as the Sessions section lists it; times already formatted in the
/// person's time zone and formats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: SessionId,
    pub device: String,
    pub ip: Option<String>,
    pub signed_in: String,
    pub last_active: String,
    pub status: SessionStatus,
    pub ended: Option<String>,
    pub current: bool,
    /// How the session was authenticated, e.g. "Password and authentication code" or
    /// "Single sign-on through Globex".
    pub how: String,
}

/// A page of sessions, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionsPage {
    pub sessions: Vec<SessionInfo>,
    pub page: u32,
    pub page_count: u32,
    pub total: i64,
    pub active_others: i64,
    /// This session came through a directory without the person's own password: only
    /// that directory's sessions are listed (and can be ended) until a step-up.
    pub only_directory: bool,
    pub retention_days: u32,
}

/// One entry of "Recent security activity".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityEventInfo {
    pub what: String,
    pub at: String,
    pub ip: Option<String>,
    pub device: Option<String>,
}

/// The Security section's view of multi-factor authentication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaStatus {
    /// A second factor is set up: an authenticator app, a passkey, or both.
    pub enabled: bool,
    /// The authenticator app (TOTP) is set up.
    pub totp: bool,
    /// The person's passkeys, oldest first.
    pub passkeys: Vec<PasskeyInfo>,
    /// This portal can offer passkeys (it is served at a domain name).
    pub passkeys_available: bool,
    /// When it was turned on, in the person's formats.
    pub enabled_since: Option<String>,
    pub recovery_codes_left: i64,
    /// Seconds left of the password re-entry that sensitive actions reuse (0 if none).
    pub elevated_secs: i64,
    /// This session passed one of the person's passkeys: only then can it add or remove
    /// passkeys, when the person has any.
    pub passkey_session: bool,
    /// Accounts whose policy requires MFA of this person.
    pub required_by: Vec<String>,
}

/// One of the person's passkeys, as the Security section lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyInfo {
    pub id: i64,
    /// The name the person gave it.
    pub name: String,
    /// When it was added and last used, in the person's formats.
    pub added: String,
    pub last_used: Option<String>,
    /// What the authenticator says of itself: whether the passkey can be synced to the
    /// person's other devices (backup eligible) or stays on one.
    pub kind: String,
}

/// What a passkey ceremony is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PasskeyPurpose {
    /// "Add a passkey".
    Register,
    /// The second step of sign-in, after the password.
    SecondFactor,
    /// "Sign in with a passkey": the passkey alone.
    SignIn,
    /// "Confirm it's you" with the password and a passkey.
    StepUp,
}

/// A passkey ceremony's first half, for the browser: the ceremony's id (sent back with
/// the answer) and the options for `navigator.credentials`, as WebAuthn's JSON.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyChallenge {
    pub ceremony: String,
    pub options: String,
}

impl fmt::Debug for PasskeyChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasskeyChallenge([redacted])")
    }
}

/// What the person needs to add the portal to an authenticator app. Shown once, during
/// enrolment only.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaEnrolment {
    /// The `otpauth://` URI as an SVG QR code, rendered on the server.
    pub qr_svg: String,
    /// The secret in Base32, grouped by four for reading.
    pub secret_grouped: String,
    /// What the app will show, e.g. "Connect Auth: ada@example.com".
    pub account_label: String,
    pub expires_in_secs: i64,
}

impl fmt::Debug for MfaEnrolment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MfaEnrolment")
            .field("account_label", &self.account_label)
            .field("secret_grouped", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// Recovery codes, shown once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodes(pub Vec<String>);

impl fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecoveryCodes([{} redacted])", self.0.len())
    }
}

/// An account's multi-factor authentication policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MfaPolicy {
    Optional,
    Admins,
    All,
}

impl MfaPolicy {
    pub const ALL: [MfaPolicy; 3] = [Self::Optional, Self::Admins, Self::All];

    /// The value stored in the database and accepted by the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Optional => "optional",
            Self::Admins => "admins",
            Self::All => "all",
        }
    }

    /// A policy typed or chosen by a person (surrounding space ignored).
    pub fn parse(value: &str) -> Option<Self> {
        Self::try_from(value.trim().to_string()).ok()
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Optional => "Optional",
            Self::Admins => "Required for administrators",
            Self::All => "Required for all users",
        }
    }

    /// What the policy means, in one sentence.
    pub fn meaning(self) -> &'static str {
        match self {
            Self::Optional => "People decide for themselves whether to use multi-factor authentication.",
            Self::Admins => "Members of this account's administrator groups must use multi-factor authentication.",
            Self::All => "Every member of this account must use multi-factor authentication.",
        }
    }

    /// Does the policy cover a member (an administrator or not)?
    pub fn covers(self, is_admin: bool) -> bool {
        match self {
            Self::Optional => false,
            Self::Admins => is_admin,
            Self::All => true,
        }
    }
}

/// A stored value this build does not know: decoding it is an error, never a default.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown stored value {0:?}")]
pub struct UnknownValue(pub String);

impl TryFrom<String> for MfaPolicy {
    type Error = UnknownValue;
    fn try_from(stored: String) -> Result<Self, Self::Error> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == stored)
            .ok_or(UnknownValue(stored))
    }
}

impl TryFrom<i64> for GraceDays {
    type Error = UnknownValue;
    fn try_from(stored: i64) -> Result<Self, Self::Error> {
        Self::new(stored).ok_or_else(|| UnknownValue(stored.to_string()))
    }
}

/// Longest grace period an administrator can give, in days.
pub const MAX_GRACE_DAYS: i64 = 30;

/// A day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// A grace period within bounds (0 to [`MAX_GRACE_DAYS`] whole days). The only ways to
/// make one check the bounds, so code that receives one need not check again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct GraceDays(i64);

impl GraceDays {
    pub const NONE: GraceDays = GraceDays(0);

    /// `None` outside 0 to [`MAX_GRACE_DAYS`].
    pub fn new(days: i64) -> Option<Self> {
        (0..=MAX_GRACE_DAYS).contains(&days).then_some(Self(days))
    }

    /// A grace period typed by a person: whole days, empty meaning none.
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(Self::NONE);
        }
        value
            .parse::<i64>()
            .ok()
            .and_then(Self::new)
            .ok_or_else(|| {
                format!(
                    "The grace period must be a whole number of days from 0 to {MAX_GRACE_DAYS}."
                )
            })
    }

    /// The grace period typed for `policy`: ignored (none) for a policy that covers
    /// nobody, else as [`GraceDays::parse`]. The browser and the server both use it.
    pub fn parse_for(policy: MfaPolicy, value: &str) -> Result<Self, String> {
        if policy == MfaPolicy::Optional {
            Ok(Self::NONE)
        } else {
            Self::parse(value)
        }
    }

    pub fn days(self) -> i64 {
        self.0
    }

    /// The grace period that goes with `policy`: none for a policy that covers nobody.
    pub fn for_policy(self, policy: MfaPolicy) -> Self {
        if policy == MfaPolicy::Optional {
            Self::NONE
        } else {
            self
        }
    }
}

impl<'de> Deserialize<'de> for GraceDays {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let days = i64::deserialize(d)?;
        Self::new(days).ok_or_else(|| serde::de::Error::custom("grace period out of range"))
    }
}

/// An account's MFA policy terms: the one home of deadlines (coverage is
/// [`MfaPolicy::covers`]), used by the pages, the request middleware, the CLI and the data
/// layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyTerms {
    pub policy: MfaPolicy,
    pub grace: GraceDays,
    /// When the policy was last changed (ms since the epoch), if ever.
    pub changed_at: Option<i64>,
    /// The people it covers need passkeys (phishing-resistant), not only a code.
    pub require_passkeys: bool,
}

impl PolicyTerms {
    /// Whether a person's factors meet what the policy asks of the people it covers:
    /// a passkey when it requires passkeys, any second factor otherwise.
    pub fn met_by(&self, uses_mfa: bool, has_passkey: bool) -> bool {
        if self.require_passkeys {
            has_passkey
        } else {
            uses_mfa
        }
    }

    /// When a covered member must have MFA: the later of the policy change and joining,
    /// plus the grace period.
    pub fn deadline(&self, joined_at: i64) -> i64 {
        self.changed_at.unwrap_or(0).max(joined_at) + self.grace.days() * DAY_MS
    }

    /// The member's deadline when the policy covers them.
    pub fn deadline_for(&self, is_admin: bool, joined_at: i64) -> Option<i64> {
        self.policy
            .covers(is_admin)
            .then(|| self.deadline(joined_at))
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }
    };
}

id_type!(
    /// A person.
    UserId
);
id_type!(
    /// A partner account (Vendor, Distributor or Reseller).
    AccountId
);
id_type!(
    /// One sign-in session of a person.
    SessionId
);

/// One recorded change of an account's MFA policy; the time in the viewer's formats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyChangeInfo {
    pub by: String,
    pub at: String,
    /// "Optional → Required for all users, grace period 14 days" (the audit log's words).
    pub summary: String,
}

/// One member in an account's MFA compliance view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberCompliance {
    pub user_id: UserId,
    pub name: String,
    pub email: String,
    pub group: String,
    pub is_admin: bool,
    pub uses_mfa: bool,
    /// The second factors the member has set up, e.g. "Passkey and authenticator app".
    pub method: String,
    /// Whether the policy covers the member.
    pub covered: bool,
    /// For a covered member without MFA: from when they are blocked (viewer's formats).
    pub blocked_from: Option<String>,
    /// The deadline has passed: they are blocked now.
    pub blocked_now: bool,
}

/// The administrators' page for an account's MFA policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountMfaSettings {
    pub account_id: AccountId,
    pub account_name: String,
    pub policy: MfaPolicy,
    pub grace_days: GraceDays,
    /// The policy requires passkeys of the people it covers.
    pub require_passkeys: bool,
    /// Newest first; the first is the current policy's change.
    pub history: Vec<PolicyChangeInfo>,
    /// One page of members, by name ([`MEMBERS_PER_PAGE`] at most).
    pub members: Vec<MemberCompliance>,
    /// All members of the account, and how many of them use MFA.
    pub member_count: i64,
    pub members_with_mfa: i64,
    /// The list shows only members without MFA.
    pub without_mfa: bool,
    /// This page (from 1) and how many pages the list has.
    pub page: i64,
    pub page_count: i64,
    /// Whether the administrator viewing the page uses MFA (for the lockout guard).
    pub viewer_uses_mfa: bool,
    /// Whether the administrator viewing the page has a passkey (the same guard).
    pub viewer_has_passkey: bool,
    /// What the policy asks of the administrator viewing the page (for the banner).
    pub viewer_requirement: MfaRequirement,
    /// Single sign-on is on: the directory's settings take precedence for its people.
    pub sso_enabled: bool,
}

impl AccountMfaSettings {
    /// How many members the list holds with its filter.
    pub fn listed(&self) -> i64 {
        members_listed(self.member_count, self.members_with_mfa, self.without_mfa)
    }
}

/// How many of `total` members a compliance list shows: those without MFA, or all.
pub fn members_listed(total: i64, with_mfa: i64, without_mfa: bool) -> i64 {
    if without_mfa {
        total - with_mfa
    } else {
        total
    }
}

/// The compliance list's page size.
pub const MEMBERS_PER_PAGE: i64 = 50;

/// How many pages `count` items fill at `per_page` each (at least one page).
pub fn page_count(count: i64, per_page: i64) -> i64 {
    ((count + per_page - 1) / per_page.max(1)).max(1)
}

/// An account's single sign-on settings as its administrators see them. The client
/// secret never leaves the server: only whether one is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSsoSettings {
    pub account_id: AccountId,
    pub account_name: String,
    pub configured: bool,
    pub enabled: bool,
    pub issuer: String,
    pub client_id: String,
    pub has_client_secret: bool,
    pub domains: Vec<SsoDomainInfo>,
    /// Where the provider must send people back (to register with the provider).
    pub redirect_uri: String,
    /// Newest first: (who, when, what).
    pub history: Vec<SsoChangeInfo>,
}

/// An email domain of an account's single sign-on, and how to prove it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoDomainInfo {
    pub domain: String,
    /// Proven: sign-ins with this domain go to the account's directory. Until then it
    /// routes nothing ("Pending verification").
    pub verified: bool,
    /// The TXT record that proves it: its name (`_connect-portal.<domain>`) and value.
    pub record_name: String,
    pub record_value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoChangeInfo {
    pub by: String,
    pub at: String,
    pub summary: String,
}

/// What "Test connection" found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoTestReport {
    pub ok: bool,
    /// One line per check, in order; the last explains a failure exactly.
    pub lines: Vec<String>,
}

/// Why a single sign-on came back without signing in: a code in the sign-in page's
/// address (`/login?sso_error=…`), explained there. Nothing from the provider is echoed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SsoFailure {
    State,
    Denied,
    Provider,
    Token,
    NotMember,
    Disabled,
}

impl SsoFailure {
    pub const ALL: [SsoFailure; 6] = [
        Self::State,
        Self::Denied,
        Self::Provider,
        Self::Token,
        Self::NotMember,
        Self::Disabled,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::State => "state",
            Self::Denied => "denied",
            Self::Provider => "provider",
            Self::Token => "token",
            Self::NotMember => "not_member",
            Self::Disabled => "disabled",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.code() == code)
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::State => "That single sign-on attempt expired or was not started in this browser. Please try again.",
            Self::Denied => "Sign-in was cancelled or refused at your organisation's sign-in page.",
            Self::Provider => "Your organisation's sign-in service could not complete the sign-in. Try again later, or sign in with your password.",
            Self::Token => "The answer from your organisation's sign-in service could not be verified, so you were not signed in.",
            Self::NotMember => "Your organisation's directory knows you, but you are not a member of its account in Connect Portal. Ask an administrator of that account to add you.",
            Self::Disabled => "Single sign-on is no longer enabled for that account. Sign in with your email and password.",
        }
    }
}

/// How the members list is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MemberSort {
    Name,
    LastSignIn,
}

impl MemberSort {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::LastSignIn => "last_sign_in",
        }
    }

    /// Anything unknown sorts by name.
    pub fn parse(s: &str) -> Self {
        if s == "last_sign_in" {
            Self::LastSignIn
        } else {
            Self::Name
        }
    }
}

/// One member in the administrators' members list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRow {
    pub user_id: UserId,
    pub name: String,
    pub email: String,
    pub group: String,
    pub is_admin: bool,
    pub uses_mfa: bool,
    /// In the viewer's time zone and formats; `None`: never.
    pub last_sign_in: Option<String>,
    /// Signs in only through the organisation's directory.
    pub single_sign_on: bool,
    /// The viewer themselves.
    pub is_you: bool,
    /// Managed by this account (their email domain is one it proved): the help-desk
    /// actions apply.
    pub managed: bool,
}

/// One of an account's groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupInfo {
    pub id: i64,
    pub name: String,
    pub is_admin: bool,
    pub members: i64,
}

/// The administrators' members page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembersPage {
    pub account_id: AccountId,
    pub account_name: String,
    pub members: Vec<MemberRow>,
    /// Members matching the search.
    pub total: i64,
    pub page: i64,
    pub page_count: i64,
    pub search: String,
    pub sort: MemberSort,
    pub groups: Vec<GroupInfo>,
    /// Invitations not accepted yet, newest first.
    pub invitations: Vec<InvitationRow>,
}

/// A pending invitation, as the members page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationRow {
    pub id: i64,
    pub email: String,
    pub group: String,
    /// When it was (last) sent, in the viewer's settings.
    pub sent: String,
    pub expired: bool,
}

/// What the page of an invitation link shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationInfo {
    pub account_name: String,
    pub group_name: String,
    pub email: String,
    /// Someone already uses the portal with this address: they sign in and accept.
    pub existing: bool,
    /// This browser is signed in as that person.
    pub signed_in_as_invitee: bool,
    /// This browser is signed in as someone else (their email).
    pub signed_in_as: Option<String>,
}

/// One row of an account's audit log, as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub at: String,
    pub actor: String,
    /// What happened, in words ("Member removed").
    pub action: String,
    pub subject: String,
    pub detail: String,
    pub ip: Option<String>,
    pub device: Option<String>,
}

/// The administrators' audit log page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub account_id: AccountId,
    pub account_name: String,
    pub rows: Vec<AuditRow>,
    pub total: i64,
    pub page: i64,
    pub page_count: i64,
    /// The actions one can filter by: (value, label).
    pub actions: Vec<(String, String)>,
    /// How long rows are kept, in days.
    pub retention_days: i64,
}

/// Rows of the members list and the audit log per page.
pub const ADMIN_ROWS_PER_PAGE: i64 = 50;
