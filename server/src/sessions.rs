//! Server-side sessions. The browser holds a 256-bit random token; the database holds
//! only its SHA-256, so a database leak does not yield usable sessions.

use crate::env::Random;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use sha2::{Digest, Sha256};

/// How often `last_seen_at` is written at most (a read-mostly hot path).
pub const LAST_SEEN_RESOLUTION_MS: i64 = 60_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    SignedOut,
    Expired,
    Revoked,
}

impl EndReason {
    pub const ALL: [EndReason; 3] = [Self::SignedOut, Self::Expired, Self::Revoked];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignedOut => "signed_out",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }

    /// What the person's Sessions page says of a session that ended for this reason.
    pub fn status(self) -> app::models::SessionStatus {
        use app::models::SessionStatus as S;
        match self {
            Self::SignedOut => S::SignedOut,
            Self::Revoked => S::Revoked,
            Self::Expired => S::Expired,
        }
    }
}

impl TryFrom<String> for EndReason {
    type Error = app::models::UnknownValue;
    fn try_from(stored: String) -> Result<Self, Self::Error> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == stored)
            .ok_or(app::models::UnknownValue(stored))
    }
}

/// The session timeouts: the one home of when a session ends (at its lifetime, or when
/// idle for longer than the idle timeout), in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub idle_ms: i64,
    pub lifetime_ms: i64,
}

impl Timeouts {
    pub fn of(config: &crate::config::Config) -> Self {
        let ms = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2);
        Self {
            idle_ms: ms(config.session_idle_timeout),
            lifetime_ms: ms(config.session_lifetime),
        }
    }

    /// When a session last seen at `last_seen` and expiring at `expires_at` ends.
    pub fn ends_at(self, last_seen: i64, expires_at: i64) -> i64 {
        expires_at.min(last_seen.saturating_add(self.idle_ms))
    }

    /// Sessions last seen before this are idle at `now`.
    pub fn idle_before(self, now: i64) -> i64 {
        now.saturating_sub(self.idle_ms)
    }

    /// When a session started at `now` reaches its lifetime.
    pub fn expiry(self, now: i64) -> i64 {
        now.saturating_add(self.lifetime_ms)
    }
}

/// A session token as sent to the browser. Never printed.
pub struct Token(String);

impl Token {
    pub fn generate(rng: &dyn Random) -> Self {
        let mut bytes = [0u8; 32];
        rng.fill(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn from_cookie(value: &str) -> Option<Self> {
        // 32 bytes in unpadded base64url are 43 characters.
        (value.len() == 43
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| Self(value.to_string()))
    }

    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token([redacted])")
    }
}

/// The factors a session passed, stored as a comma-separated list in
/// `sessions.auth_methods`. A stored value this build does not know is an error, never
/// silently fewer or more factors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Factors {
    /// The person's own portal password.
    pub password: bool,
    /// A code from their authenticator app.
    pub totp: bool,
    /// One of their recovery codes.
    pub recovery_code: bool,
    /// One of their passkeys (possession and user verification; phishing-resistant).
    pub passkey: bool,
    /// An account's directory (single sign-on); which one is `sso_account_id`.
    pub sso: bool,
}

impl Factors {
    pub const PASSWORD: Self = Self {
        password: true,
        totp: false,
        recovery_code: false,
        passkey: false,
        sso: false,
    };
    pub const SSO: Self = Self {
        password: false,
        totp: false,
        recovery_code: false,
        passkey: false,
        sso: true,
    };
    /// A sign-in with a passkey alone: possession and user verification together.
    pub const PASSKEY: Self = Self {
        password: false,
        totp: false,
        recovery_code: false,
        passkey: true,
        sso: false,
    };

    fn names(self) -> impl Iterator<Item = &'static str> {
        [
            (self.password, "password"),
            (self.totp, "totp"),
            (self.recovery_code, "recovery_code"),
            (self.passkey, "passkey"),
            (self.sso, "sso"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
    }

    pub fn to_db(self) -> String {
        self.names().collect::<Vec<_>>().join(",")
    }

    pub fn parse(stored: &str) -> Result<Self, sqlx::Error> {
        let mut f = Self::default();
        for name in stored.split(',').filter(|n| !n.is_empty()) {
            match name {
                "password" => f.password = true,
                "totp" => f.totp = true,
                "recovery_code" => f.recovery_code = true,
                "passkey" => f.passkey = true,
                "sso" => f.sso = true,
                other => {
                    return Err(sqlx::Error::Decode(
                        format!("unknown authentication method {other:?} on a session").into(),
                    ))
                }
            }
        }
        Ok(f)
    }

    /// A second factor: an authentication code, a recovery code or a passkey (a passkey
    /// alone is a complete sign-in: it proves possession and user verification).
    pub fn second_factor(self) -> bool {
        self.totp || self.recovery_code || self.passkey
    }

    pub fn union(self, other: Self) -> Self {
        Self {
            password: self.password || other.password,
            totp: self.totp || other.totp,
            recovery_code: self.recovery_code || other.recovery_code,
            passkey: self.passkey || other.passkey,
            sso: self.sso || other.sso,
        }
    }

    /// How the Sessions page describes them, e.g. "Password and authentication code".
    pub fn describe(self, sso_account: Option<&str>) -> String {
        let mut parts: Vec<String> = Vec::new();
        if self.sso {
            parts.push(match sso_account {
                Some(a) => format!("Single sign-on through {a}"),
                None => "Single sign-on".into(),
            });
        }
        if self.password {
            parts.push(
                if parts.is_empty() {
                    "Password"
                } else {
                    "password"
                }
                .into(),
            );
        }
        if self.totp {
            parts.push("authentication code".into());
        }
        if self.recovery_code {
            parts.push("recovery code".into());
        }
        if self.passkey {
            parts.push(
                if parts.is_empty() {
                    "Passkey"
                } else {
                    "passkey"
                }
                .into(),
            );
        }
        match parts.len() {
            0 => "Unknown".into(),
            1 => parts.remove(0),
            _ => {
                let last = parts.pop().unwrap_or_default();
                format!("{} and {last}", parts.join(", "))
            }
        }
    }
}

/// Which of a person's sessions an operation may see or end: all of them, or (for a
/// session only a directory vouches for) those that directory started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    All,
    Directory(i64),
}

impl Reach {
    /// What `session` may reach: a session that came through account A's directory,
    /// without the person's own password, reaches only A's directory sessions.
    pub fn of(session: &app::ssr::SessionRef) -> Self {
        match session.sso_account_id {
            Some(a) if !session.password_verified => Self::Directory(a),
            _ => Self::All,
        }
    }
}
