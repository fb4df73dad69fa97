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
    pub account_id: i64,
    pub account_name: String,
    pub kind: AccountKind,
    pub group_name: String,
    pub is_admin: bool,
}

/// The signed-in person as the portal shell needs them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub user_id: i64,
    pub name: String,
    pub email: String,
    /// Every account the person belongs to, ordered by account name.
    pub memberships: Vec<Membership>,
    /// The account active in this session, if the person belongs to any.
    pub active_account_id: Option<i64>,
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
